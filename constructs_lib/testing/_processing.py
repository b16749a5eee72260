"""Rehearse a processing job locally: its own code on local inputs, in the
``/opt/ml/processing/...`` layout the container has, with its arguments and
environment, before anything is paid for.

The run does what the job's ``runproc.sh`` does in the container (the SDK's
``FrameworkProcessor``): unpack the code, install its ``requirements.txt`` (into a
virtual environment of the run's own, never yours), and run the entry point with the
job's arguments. The inputs are copied to their local paths, the outputs' folders
made; the script's file calls under ``/opt/ml/processing`` reach the run's tree (see
``_remap``). With a ``report``, the run reads it as the handler will, and fails when
it is missing or a metric's path finds nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._shared.stacks import stack_of
from ..handler.gate import misses
from ..handler.json_path import metric_values
from ._local import (
    LocalRunError,
    _overlay,
    _tail,
    literal_environment,
    run_captured,
    timed_out,
)

if TYPE_CHECKING:
    from aws_cdk import Duration

    from ..processing import ProcessingJob

_PREFIX = "/opt/ml/processing"
_REMAP_ROOT = "CONSTRUCTS_LIB_PROCESSING_ROOT"


@dataclass
class LocalProcessingRun:
    """What a local run of a processing job gave."""

    #: The script's exit code (0: it succeeded).
    exit_code: int
    #: What the install and the script printed (stdout and stderr).
    output: str
    #: Each S3 output's local folder, with what the script wrote there.
    outputs: dict[str, Path] = field(default_factory=dict)
    #: The report's metrics (``report=``), read as the handler reads them.
    metrics: dict[str, float] = field(default_factory=dict)
    #: The bounds of the job's ``quality_gate`` the metrics miss (the deploy would fail
    #: on each), as phrases naming metric, value and bound.
    missed: list[str] = field(default_factory=list)
    #: The run's ``/opt/ml/processing`` tree.
    base_dir: Path = Path()


def _local(tree: Path, path: str) -> Path:
    """Where the container path ``path`` (under /opt/ml/processing) is in ``tree``."""
    if not (path == _PREFIX or path.startswith(f"{_PREFIX}/")):
        raise ValueError(f"{path!r} is outside {_PREFIX}")
    return tree / path[len(_PREFIX) :].strip("/")


def _copy(source: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target / source.name)


def _remap_module(python: Path) -> None:
    """The path mapping, loaded by the run's interpreter at start-up."""
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folder = Path(site)
    shutil.copy(Path(__file__).with_name("_remap.py"), folder / "_constructs_lib_remap.py")
    (folder / "_constructs_lib_remap.pth").write_text("import _constructs_lib_remap\n")


class _Processing:
    """One processing job's run, from its construct."""

    def __init__(self, job: ProcessingJob) -> None:
        self.job = job
        self.path = job.node.path
        self.request: dict[str, Any] = stack_of(job).resolve(job.request)
        code = job.props.code
        if code is None:
            raise ValueError(
                f"[{self.path}] only a job with code= runs locally: this one runs its "
                "image's own entrypoint, which has no script to rehearse"
            )
        if code.archive is None:
            raise ValueError(
                f"[{self.path}] run_locally needs the code's files: this job's code is an "
                "archive in S3 (TrainingCode.from_bucket); rehearse with "
                "TrainingCode.from_directory of the same files"
            )
        self.archive = code.archive
        self.entry_point = code.entry_point
        command = list(job._code.command) if job._code is not None else ["python"]
        if not command or Path(command[0]).name not in ("python", "python3"):
            raise ValueError(
                f"[{self.path}] command {command!r}: a local run runs Python scripts only"
            )
        self.command_options = command[1:]

    def inputs(self, given: Mapping[str, str | os.PathLike[str]]) -> dict[str, tuple[Path, str]]:
        """Each input's local data and its path in the container."""
        from ..processing._code import CODE_INPUT, ENTRYPOINT_INPUT  # noqa: PLC0415

        wanted: dict[str, str] = {}
        for item in self.request.get("ProcessingInputs") or []:
            name = str(item["InputName"])
            if name in (CODE_INPUT, ENTRYPOINT_INPUT):
                continue
            source = item.get("S3Input") or item.get("DatasetDefinition") or {}
            wanted[name] = str(source.get("LocalPath", f"{_PREFIX}/input/{name}"))
        # An input shipped as an asset is that file, unless given.
        shipped = {
            item.input_name: Path(item.local_source)
            for item in self.job.props.inputs
            if item.local_source is not None and item.input_name not in given
        }
        paths = {**shipped, **{name: Path(path) for name, path in given.items()}}
        unknown = sorted(set(paths) - set(wanted))
        missing = sorted(set(wanted) - set(paths))
        if unknown or missing:
            parts = [
                f"missing: {', '.join(missing)}" if missing else "",
                f"not inputs of the job: {', '.join(unknown)}" if unknown else "",
            ]
            raise ValueError(
                f"[{self.path}] inputs: give a local directory (or file) for each of the "
                f"job's inputs ({', '.join(wanted) or 'none'}); "
                + "; ".join(part for part in parts if part)
            )
        for name, path in paths.items():
            if not path.exists():
                raise ValueError(f"[{self.path}] inputs: {name}'s {path} does not exist")
        return {name: (paths[name], wanted[name]) for name in wanted}

    def outputs(self) -> dict[str, str]:
        """Each S3 output's path in the container."""
        return {
            str(o["OutputName"]): str(o["S3Output"]["LocalPath"])
            for o in (self.request.get("ProcessingOutputConfig") or {}).get("Outputs") or []
            if "S3Output" in o
        }

    def arguments(self) -> list[str]:
        arguments = (self.request.get("AppSpecification") or {}).get("ContainerArguments") or []
        for value in arguments:
            if not isinstance(value, str):
                raise ValueError(
                    f"[{self.path}] arguments: {json.dumps(value)} is known only at deploy; "
                    "a local run needs literal values"
                )
        return [str(value) for value in arguments]

    def environment(self) -> dict[str, str]:
        return literal_environment(self.path, self.request)

    def max_runtime(self) -> float | None:
        value = (self.request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
        return float(value) if isinstance(value, int | float) else None


def run_processing_locally(
    job: ProcessingJob,
    *,
    inputs: Mapping[str, str | os.PathLike[str]],
    timeout: Duration | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> LocalProcessingRun:
    """Run processing job ``job``'s code on local ``inputs`` (see the module)."""
    rehearsal = _Processing(job)
    data = rehearsal.inputs(inputs)
    arguments = rehearsal.arguments()
    environment = rehearsal.environment()
    base = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="rehearsal-"))
    base.mkdir(parents=True, exist_ok=True)
    tree = base / "opt" / "ml" / "processing"
    if tree.exists():
        shutil.rmtree(tree)
    code = tree / "input" / "code"
    code.mkdir(parents=True)
    with tarfile.open(rehearsal.archive) as archive:
        archive.extractall(code, filter="data")
    for source, path in data.values():
        _copy(source, _local(tree, path))
    outputs = {name: _local(tree, path) for name, path in rehearsal.outputs().items()}
    for folder in outputs.values():
        folder.mkdir(parents=True, exist_ok=True)
    python = _overlay(base)
    _remap_module(python)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONHOME", "VIRTUAL_ENV"))}
    env.update(environment)
    env[_REMAP_ROOT] = str(tree)
    limit = timeout.to_seconds() if timeout is not None else rehearsal.max_runtime()
    output = ""
    requirements = code / "requirements.txt"
    try:
        if requirements.exists():
            installed = run_captured(
                [str(python), "-m", "pip", "install", "-r", str(requirements)],
                env=env,
                cwd=code,
                limit=limit,
            )
            output += installed.stdout
            if installed.returncode != 0:
                run = LocalProcessingRun(installed.returncode, output, outputs, base_dir=tree)
                raise LocalRunError(
                    f"[{rehearsal.path}] pip could not install the code's requirements.txt "
                    "(on SageMaker the job would end Failed). Its last lines:\n"
                    f"{_tail(output)}",
                    run,
                )
        completed = run_captured(
            [str(python), *rehearsal.command_options, rehearsal.entry_point, *arguments],
            env=env,
            cwd=code,
            limit=limit,
        )
    except subprocess.TimeoutExpired as expired:
        output += expired.output if isinstance(expired.output, str) else ""
        run = LocalProcessingRun(-1, output, outputs, base_dir=tree)
        raise LocalRunError(timed_out(rehearsal.path, expired.timeout, output), run) from None
    output += completed.stdout
    run = LocalProcessingRun(completed.returncode, output, outputs, base_dir=tree)
    if run.exit_code != 0:
        raise LocalRunError(
            f"[{rehearsal.path}] the job's code failed locally (exit code {run.exit_code}); "
            f"on SageMaker the job would end Failed. Its last lines:\n{_tail(output)}",
            run,
        )
    _read_report(job, rehearsal.path, run)
    return run


def _read_report(job: ProcessingJob, path: str, run: LocalProcessingRun) -> None:
    """The report's metrics, as the handler reads them once the job completed."""
    report = job.props.report
    if report is None:
        return
    file = run.outputs[report.output] / report.path
    what = f"[{path}] the report {report.output}/{report.path}"
    if not file.is_file():
        written = sorted(
            str(p.relative_to(run.outputs[report.output]))
            for p in run.outputs[report.output].rglob("*")
            if p.is_file()
        )
        raise LocalRunError(
            f"{what} was not written (the output's folder has "
            f"{', '.join(written[:10]) or 'nothing'}): after a paid run the deploy would "
            f"fail the same way. Write it to {_PREFIX}/... of that output's local path.",
            run,
        )
    try:
        document = json.loads(file.read_text())
    except ValueError as error:
        raise LocalRunError(f"{what} is not JSON: {error}", run) from None
    values, absent = metric_values(document, report.metrics)
    if absent:
        raise LocalRunError(
            f"{what} lacks metrics: {'; '.join(absent)}. The deploy would fail the same way "
            "after a paid run: fix the script's report or the metrics' JSON paths.",
            run,
        )
    run.metrics = values
    gate = [threshold.render() for threshold in job.quality_gate]
    run.missed = misses(gate, values)
