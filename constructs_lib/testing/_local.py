"""What every local run shares: its error, the last lines a failure quotes, and the
virtual environment of the run's own (what the code's ``requirements.txt`` installs
lands there, never in yours)."""

from __future__ import annotations

import json
import os
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


def _tail(output: str) -> str:
    lines = output.rstrip("\n").splitlines()
    return "\n".join(f"    {line}" for line in lines[-_TAIL_LINES:])


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
