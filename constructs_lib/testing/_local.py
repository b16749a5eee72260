"""What every local run shares: its error, the last lines a failure quotes, and the
virtual environment of the run's own (what the code's ``requirements.txt`` installs
lands there, never in yours)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sysconfig
import venv
from pathlib import Path
from typing import Any

#: Lines of the output a failure's message quotes.
_TAIL_LINES = 25


class LocalRunError(Exception):
    """A local run that failed: the script's exit code and the output's last lines, or
    a metric definition that matched nothing (a paid run would end without the value)."""

    def __init__(self, message: str, run: Any) -> None:
        super().__init__(message)
        #: The run, to inspect its output or files (a ``LocalRun``; a processing job's
        #: ``LocalProcessingRun``).
        self.run = run


#: The training toolkit's own log lines (``2026-12-07 00:05:12,442 sagemaker-training-
#: toolkit ERROR ...``), and the line after which the script's output begins.
_TOOLKIT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ sagemaker-training-toolkit ")
_INVOKING = "Invoking script with the following command:"


def script_output(output: str) -> str:
    """What the script itself printed in a toolkit run's ``output``: the lines after
    the toolkit's command line, but for the toolkit's own log lines, up to the toolkit
    reporting the failure ('' when the script never started)."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == _INVOKING]
    if not starts:
        return ""
    after = lines[starts[-1] + 1 :]
    # The blank line, the command, the blank lines after it.
    while after and not after[0].strip():
        after.pop(0)
    said: list[str] = []
    for line in after[1:]:
        if _TOOLKIT_LINE.match(line):
            if " ERROR " in line:
                break  # the toolkit reporting the failure: what follows is its
            continue
        said.append(line)
    return "\n".join(said).strip("\n")


def failure_output(output: str) -> str:
    """A failed run's output as its message quotes it: the script's own last lines
    first (its error, e.g. argparse's ``error:`` line), then the toolkit's."""
    script = script_output(output)
    if not script.strip():
        return f"Its last lines:\n{_tail(output)}"
    return f"The script said:\n{_tail(script)}\nThe training toolkit's last lines:\n{_tail(output)}"


def _tail(output: str) -> str:
    lines = output.rstrip("\n").splitlines()
    return "\n".join(f"    {line}" for line in lines[-_TAIL_LINES:])


def run_captured(
    argv: list[str], *, env: dict[str, str], cwd: Path, limit: float | None
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` to its end, or ``limit`` seconds (None: no limit; past it,
    ``subprocess.TimeoutExpired``), its standard error merged into its output as a
    job's log merges them."""
    return subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=limit,
        check=False,
    )


def timed_out(path: str, limit: float, output: str) -> str:
    """The message of a local run stopped at its time limit."""
    return (
        f"[{path}] the local run did not finish within {limit:.0f} s (on "
        f"SageMaker the job would be stopped at its max_runtime). Its last lines:\n"
        f"{_tail(output)}"
    )


def _overlay(base: Path) -> Path:
    """A virtual environment of the current interpreter that sees the current
    environment's packages (its site directories, ``.pth`` files included), so that
    what the toolkit pip-installs lands there, not in yours. Its Python."""
    import site  # noqa: PLC0415

    home = base / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(home)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(home), "platbase": str(home)}))
    parents = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE:
        parents.append(site.getusersitepackages())
    lines = [
        f"import site; site.addsitedir({path!r})"
        for path in dict.fromkeys(parents)
        if Path(path).is_dir()
    ]
    (purelib / "_constructs_lib_rehearsal.pth").write_text("\n".join(lines) + "\n")
    return home / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def literal_environment(path: str, request: dict[str, Any]) -> dict[str, str]:
    """A request's ``Environment``, every value literal (a local run has no deploy to
    resolve tokens)."""
    environment = dict(request.get("Environment") or {})
    for name, value in environment.items():
        if not isinstance(value, str):
            raise ValueError(
                f"[{path}] environment: {name}'s value is known only at deploy "
                f"({json.dumps(value)}); a local run needs literal values"
            )
    return environment
