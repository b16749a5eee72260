"""Rehearse a script-mode job locally: its own code, as SageMaker would run it, before
anything is paid for.

:func:`run_locally` takes what the stack synthesizes for a job (the same code archive,
entry point and encoded hyperparameters, its channels and environment), writes the
``/opt/ml`` tree SageMaker writes into the container, and runs SageMaker's training
toolkit on it (the code inside the framework containers; PyPI ``sagemaker-training``,
the ``local`` extra) in a subprocess of the current Python, without Docker. What the
script prints is read with the job's own metric definitions, as SageMaker reads the
log. The framework itself (scikit-learn, PyTorch...) is yours to have installed.

The toolkit installs a ``requirements.txt`` of the code with pip: the run gets a
virtual environment of its own on top of the current one, so that your environment is
never changed; for a job without network access pip may not download, as on SageMaker.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._shared.stacks import stack_of
from ._local import (
    LocalRunError,
    _overlay,
    _tail,
    failure_output,
    literal_environment,
    run_captured,
    timed_out,
)
from ._tree import write_tree

if TYPE_CHECKING:
    from aws_cdk import Duration

    from ..processing import ProcessingJob
    from ..training._training_job import TrainingJob
    from ..tuning._tuning_job import HyperparameterTuningJob

#: What SageMaker would run: the training toolkit's entry point in the containers.
_TRAIN = "from sagemaker_training import trainer; trainer.train()"
#: The toolkit's hyperparameters that point at the code.
_SUBMIT_DIRECTORY = "sagemaker_submit_directory"
_PROGRAM = "sagemaker_program"
_REGION = "sagemaker_region"


@dataclass
class LocalRun:
    """What a local run of a job gave."""

    #: The toolkit's exit code (0: the script succeeded).
    exit_code: int
    #: What the toolkit and the script printed (stdout and stderr, as the log has them).
    output: str
    #: What the script wrote to ``SM_MODEL_DIR`` (on SageMaker: ``model.tar.gz``).
    model_dir: Path
    #: Each metric definition's last value in the output, read as SageMaker reads the
    #: log (the regex's first group, as a number).
    metrics: dict[str, float] = field(default_factory=dict)
    #: The run's ``/opt/ml`` tree (``SAGEMAKER_BASE_DIR``).
    base_dir: Path = Path()

    @property
    def output_data_dir(self) -> Path:
        """What the script wrote to ``SM_OUTPUT_DATA_DIR`` (``output.tar.gz``)."""
        return self.base_dir / "output" / "data"


def read_metrics(output: str, definitions: list[Mapping[str, Any]]) -> dict[str, float]:
    """Each metric's last value in ``output``: the first group of its regex on a line,
    where it reads as a finite number (what SageMaker reads from a job's log)."""
    found: dict[str, float] = {}
    for definition in definitions:
        pattern = re.compile(str(definition["Regex"]))
        for line in output.splitlines():
            match = pattern.search(line)
            if match is None or not match.groups():
                continue
            try:
                value = float(match.group(1))
            except (TypeError, ValueError):
                continue
            if math.isfinite(value):
                found[str(definition["Name"])] = value
    return found


class _Rehearsal:
    """One job's run, from its construct: the request, the code, the checks."""

    def __init__(self, job: Any) -> None:

        from ..training._training_job import TrainingJob  # noqa: PLC0415
        from ..tuning._tuning_job import HyperparameterTuningJob  # noqa: PLC0415

        self.path = job.node.path
        #: What the handler fills in from the job's name (sagemaker_job_name ...).
        self.by_job_name: dict[str, dict[str, str]] = dict(job._by_job_name)
        self.local_name = "local-" + re.sub(r"[^A-Za-z0-9]+", "-", job.node.id).strip("-")
        if isinstance(job, TrainingJob):
            self.tuning = False
            code, image = job.props.code, job._image
            request = stack_of(job).resolve(job.request)
            self.definition: dict[str, Any] = request
            self.ranges: dict[str, Any] = {}
        elif isinstance(job, HyperparameterTuningJob):
            self.tuning = True
            code, image = job.training.props.code, job._image
            request = stack_of(job).resolve(job.request)
            self.definition = request["TrainingJobDefinition"]
            config = request["HyperParameterTuningJobConfig"]
            self.ranges = {
                str(item["Name"]): (kind, item)
                for kind, items in (config.get("ParameterRanges") or {}).items()
                for item in items
            }
        else:
            raise TypeError(
                f"run_locally takes a TrainingJob, a HyperparameterTuningJob or a "
                f"ProcessingJob, got "
                f"{type(job).__name__}"
            )
        framework = image.framework if image is not None else None
        uri = (self.definition.get("AlgorithmSpecification") or {}).get("TrainingImage")
        if code is None or framework is None:
            raise ValueError(
                f"[{self.path}] only script-mode jobs run locally (code= on a "
                f"TrainingImage.from_framework image, whose training toolkit runs the "
                f"code); this job runs {uri or 'an algorithm'} as it is, which has no "
                "script to rehearse"
            )
        self.archive = code.archive
        if self.archive is None:
            raise ValueError(
                f"[{self.path}] run_locally needs the code's files: this job's code is an "
                "archive in S3 (TrainingCode.from_bucket); rehearse with "
                "TrainingCode.from_directory of the same files"
            )
        self.network_isolation = self.definition.get("EnableNetworkIsolation") is True

    def hyperparameters(self, given: Mapping[str, Any] | None) -> dict[str, str]:
        """The job's encoded hyperparameters, with ``given`` values (a tuning job: one
        per tuned range, as SageMaker passes the values it chose)."""
        from ..definition._script_mode import encode  # noqa: PLC0415

        key = "StaticHyperParameters" if self.tuning else "HyperParameters"
        values: dict[str, Any] = dict(self.definition.get(key) or {})
        given = dict(given or {})
        if self.tuning:
            missing = sorted(set(self.ranges) - set(given))
            if missing:
                raise ValueError(
                    f"[{self.path}] hyperparameters: give a value for each tuned range "
                    f"({', '.join(sorted(self.ranges))}), as SageMaker chooses one per "
                    f"training job; missing: {', '.join(missing)}"
                )
            for name, value in given.items():
                if name in self.ranges:
                    values[name] = self._tuned(name, value)
                    continue
                values[name] = encode(value)
        else:
            values.update({name: encode(value) for name, value in given.items()})
        # Where the code is, and the region, are the local run's own (see run_locally).
        values.pop(_SUBMIT_DIRECTORY, None)
        if not isinstance(values.get(_REGION, ""), str):
            values[_REGION] = json.dumps(os.environ.get("AWS_REGION", "us-east-1"))
        for name, value in values.items():
            if not isinstance(value, str):
                raise ValueError(
                    f"[{self.path}] hyperparameters: {name}'s value is known only at deploy "
                    f"({json.dumps(value)}): give the value to rehearse with in "
                    "hyperparameters="
                )
        return values

    def _tuned(self, name: str, value: Any) -> str:
        from ..definition._script_mode import encode, encode_categorical  # noqa: PLC0415

        kind, spec = self.ranges[name]
        if kind == "CategoricalParameterRanges":
            allowed = [str(v) for v in spec["Values"]]
            for candidate in (encode_categorical(value), encode(value), str(value)):
                if candidate in allowed:
                    return candidate
            raise ValueError(
                f"[{self.path}] hyperparameters: {name}={value!r} is not one of the range's "
                f"values ({', '.join(allowed)})"
            )
        number = float(value)
        low, high = float(spec["MinValue"]), float(spec["MaxValue"])
        if not low <= number <= high:
            raise ValueError(
                f"[{self.path}] hyperparameters: {name}={value!r} is outside the range "
                f"[{spec['MinValue']}, {spec['MaxValue']}] the tuning job searches"
            )
        if kind == "IntegerParameterRanges":
            if number != int(number):
                raise ValueError(
                    f"[{self.path}] hyperparameters: {name}={value!r} must be a whole number "
                    "(an integer range)"
                )
            return str(int(number))
        return repr(number)

    def channels(self, given: Mapping[str, str | os.PathLike[str]]) -> dict[str, Path]:
        """The job's channels' data, each channel's local directory or file."""
        from ..definition._script_mode import CODE_CHANNEL  # noqa: PLC0415

        names = [
            str(c["ChannelName"])
            for c in self.definition.get("InputDataConfig") or []
            if not (self.network_isolation and c["ChannelName"] == CODE_CHANNEL)
        ]
        paths = {name: Path(path) for name, path in given.items()}
        unknown = sorted(set(paths) - set(names))
        missing = sorted(set(names) - set(paths))
        if unknown or missing:
            raise ValueError(
                f"[{self.path}] channels: give a local directory (or file) for each of the "
                f"job's channels ({', '.join(names) or 'none'}); "
                + "; ".join(
                    part
                    for part in (
                        f"missing: {', '.join(missing)}" if missing else "",
                        f"not channels of the job: {', '.join(unknown)}" if unknown else "",
                    )
                    if part
                )
            )
        for name, path in paths.items():
            if not path.exists():
                raise ValueError(f"[{self.path}] channels: {name}'s {path} does not exist")
        return paths

    def environment(self) -> dict[str, str]:
        return literal_environment(self.path, self.definition)

    def metric_definitions(self) -> list[Mapping[str, Any]]:
        specification = self.definition.get("AlgorithmSpecification") or {}
        return list(specification.get("MetricDefinitions") or [])

    def max_runtime(self) -> float | None:
        stopping = self.definition.get("StoppingCondition") or {}
        value = stopping.get("MaxRuntimeInSeconds")
        return float(value) if isinstance(value, int | float) else None


def run_locally(
    job: TrainingJob | HyperparameterTuningJob | ProcessingJob,
    *,
    channels: Mapping[str, str | os.PathLike[str]] | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    timeout: Duration | None = None,
    workdir: str | os.PathLike[str] | None = None,
    inputs: Mapping[str, str | os.PathLike[str]] | None = None,
) -> Any:
    """Run ``job``'s own code on local data, as SageMaker would run it (see the module),
    and return what it gave: a ``LocalRun``, or for a processing job a
    ``LocalProcessingRun`` (its outputs' local folders, its report's metrics).

    :param job: a script-mode ``TrainingJob`` or ``HyperparameterTuningJob`` (``code=``
        on a ``TrainingImage.from_framework`` image), or a ``ProcessingJob`` with
        ``code=``.
    :param channels: a training job's: a local directory (or file) for each of its
        channels, e.g. ``{"train": "data/train.csv"}``; a job without network access
        gets its code channel by itself.
    :param inputs: a processing job's: a local directory (or file) for each of its
        inputs (not its code's; an input from a local file may be left out: its file
        is used), copied to the input's local path; its script's files under
        ``/opt/ml/processing`` are the run's own tree's.
    :param hyperparameters: values to run with instead of the job's (encoded as the
        job encodes them); for a tuning job, one value for each tuned range (and
        optionally static ones); default: the job's own.
    :param timeout: how long the run may take; default: the job's ``max_runtime``.
    :param workdir: where to write the run's ``/opt/ml`` tree (its ``model``, ``output``);
        default: a new temporary directory (kept, so the model can be read).
    :raises LocalRunError: the script failed, or a metric definition matched nothing.
    :raises ValueError: the job cannot run locally, or an argument does not fit it.
    """
    if type(job).__name__ == "ProcessingJob":
        from ._processing import run_processing_locally  # noqa: PLC0415

        if channels is not None or hyperparameters is not None:
            raise ValueError(
                f"[{job.node.path}] run_locally: a processing job takes inputs=, not "
                "channels= or hyperparameters="
            )
        return run_processing_locally(
            job,  # type: ignore[arg-type]
            inputs=inputs or {},
            timeout=timeout,
            workdir=workdir,
        )
    if inputs is not None:
        raise ValueError(
            f"[{job.node.path}] run_locally: inputs= is a processing job's; a training "
            "job takes channels="
        )
    return _run_training(
        job,  # type: ignore[arg-type]
        channels=channels or {},
        hyperparameters=hyperparameters,
        timeout=timeout,
        workdir=workdir,
    )


def _run_training(
    job: TrainingJob | HyperparameterTuningJob,
    *,
    channels: Mapping[str, str | os.PathLike[str]],
    hyperparameters: Mapping[str, Any] | None,
    timeout: Duration | None,
    workdir: str | os.PathLike[str] | None,
) -> LocalRun:
    """:func:`run_locally` of a training or tuning job."""
    if importlib.util.find_spec("sagemaker_training") is None:
        raise ImportError(
            "run_locally runs SageMaker's training toolkit, which the library does not "
            "install by itself (its [local] extra): pip install 'sagemaker-training>=5.1,<6'"
        )
    from ..definition._script_mode import CODE_CHANNEL, MODEL_DIR  # noqa: PLC0415

    rehearsal = _Rehearsal(job)
    values = rehearsal.hyperparameters(hyperparameters)
    data = rehearsal.channels(channels)
    environment = rehearsal.environment()
    base = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="rehearsal-"))
    base.mkdir(parents=True, exist_ok=True)
    tree = base / "opt" / "ml"
    if tree.exists():
        shutil.rmtree(tree)
    assert rehearsal.archive is not None
    submit = rehearsal.archive
    if rehearsal.network_isolation:
        # The code arrives as the "code" channel; the toolkit reads it from there.
        data = {**data, CODE_CHANNEL: rehearsal.archive}
        submit = tree / "input" / "data" / CODE_CHANNEL / rehearsal.archive.name
    values[_SUBMIT_DIRECTORY] = json.dumps(str(submit))
    # What the handler fills in from the job's name: a local name, and TensorFlow's
    # model_dir in the tree's shared/model, as the SDK's local mode has it.
    for key, parts in rehearsal.by_job_name.items():
        if key in values:
            continue
        if key == MODEL_DIR:
            (tree / "shared" / "model").mkdir(parents=True, exist_ok=True)
            values[key] = json.dumps(str(tree / "shared" / "model"))
        else:
            values[key] = json.dumps(parts["Prefix"] + rehearsal.local_name + parts["Suffix"])
    write_tree(tree, definition=rehearsal.definition, hyperparameters=values, channels=data)
    python = _overlay(base)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SM_", "SAGEMAKER_", "PYTHONHOME", "VIRTUAL_ENV"))
    }
    env.update(environment)
    env["SAGEMAKER_BASE_DIR"] = str(tree)
    if rehearsal.network_isolation:
        env["PIP_NO_INDEX"] = "1"  # no network on SageMaker either
    limit = timeout.to_seconds() if timeout is not None else rehearsal.max_runtime()
    model_dir = tree / "model"
    try:
        completed = run_captured([str(python), "-c", _TRAIN], env=env, cwd=base, limit=limit)
    except subprocess.TimeoutExpired as expired:
        output = expired.output if isinstance(expired.output, str) else ""
        run = LocalRun(-1, output, model_dir, {}, tree)
        raise LocalRunError(timed_out(rehearsal.path, expired.timeout, output), run) from None
    definitions = rehearsal.metric_definitions()
    run = LocalRun(
        completed.returncode,
        completed.stdout,
        model_dir,
        read_metrics(completed.stdout, definitions),
        tree,
    )
    if run.exit_code != 0:
        raise LocalRunError(
            f"[{rehearsal.path}] the job's code failed locally (exit code {run.exit_code}); "
            f"on SageMaker the job would end Failed. {failure_output(run.output)}",
            run,
        )
    # (A tuning job's objective is one of them: synth checks that.)
    unmatched = [d for d in definitions if str(d["Name"]) not in run.metrics]
    if unmatched:
        named = "; ".join(f"{d['Name']} (regex {d['Regex']!r})" for d in unmatched)
        raise LocalRunError(
            f"[{rehearsal.path}] no line of the output matched the metric definition of "
            f"{named}: on SageMaker the job would end without a value for it, and whatever "
            "reads it (job.metric(...), a tuning objective) would fail the deploy after a "
            f"paid run. Fix the regex or what the script prints. Its last lines:\n"
            f"{_tail(run.output)}",
            run,
        )
    return run
