"""cfn-lint as the test suite runs it: the settings and reasons of .cfnlintrc.yaml,
one rule set per process, and results kept beside the templates a parallel run
recorded (tests/conftest.py), so that a process done with its tests lints what the
others synthesized while they finish theirs."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import yaml
from cfnlint.config import ConfigMixIn
from cfnlint.decode.decode import decode_str
from cfnlint.runner import Runner

CONFIG = yaml.safe_load((Path(__file__).resolve().parent.parent / ".cfnlintrc.yaml").read_text())
#: Where each process of a parallel run (``make test``: pytest-xdist) writes the
#: templates it synthesized, one file each, and the lint results of them.
TEMPLATES_DIR_VARIABLE = "CONSTRUCTS_LIB_TEST_TEMPLATES"


@functools.cache
def _runner() -> Runner:
    """One runner per process: loading cfn-lint's rules takes most of a second."""
    return Runner(ConfigMixIn(regions=CONFIG["regions"], ignore_checks=CONFIG["ignore_checks"]))


def problems(template: dict[str, Any]) -> list[str]:
    """cfn-lint's findings on ``template``."""
    decoded, errors = decode_str(json.dumps(template))
    if errors:
        return [str(error) for error in errors]
    return [str(match) for match in _runner().validate_template(decoded)]


def template_key(template: dict[str, Any]) -> str:
    return json.dumps(template, sort_keys=True)


def templates_dir() -> Path | None:
    directory = os.environ.get(TEMPLATES_DIR_VARIABLE)
    return Path(directory) if directory else None


def record(path: str, template: dict[str, Any]) -> None:
    """Write a template for the lint of a parallel run (when there is one)."""
    folder = templates_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(template_key(template).encode()).hexdigest()[:32]
    written = folder / f"{name}.json.partial"
    written.write_text(json.dumps({"path": path, "template": template}))
    written.rename(folder / f"{name}.json")  # whole files only, for readers elsewhere


def recorded() -> dict[str, tuple[str, dict[str, Any]]]:
    """The templates the processes of a parallel run wrote, by key."""
    folder = templates_dir()
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    if folder is not None:
        for file in sorted(folder.glob("*.json")):
            entry = json.loads(file.read_text())
            found.setdefault(template_key(entry["template"]), (entry["path"], entry["template"]))
    return found


def lint_unclaimed(worker: str, workers: int) -> None:
    """Lint the recorded templates no process has claimed yet, keeping the results
    (``<name>.lint``): a process that ran out of tests while others still run theirs
    uses its core for their gate. The last one to finish leaves the rest to the
    gate's own run, which lints on every core."""
    folder = templates_dir()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{worker}.finished").touch()
    if len(list(folder.glob("*.finished"))) >= workers:
        return
    for file in sorted(folder.glob("*.json"), key=lambda f: -f.stat().st_size):
        claim = file.with_suffix(".claim")
        try:
            claim.touch(exist_ok=False)
        except FileExistsError:
            continue
        found = problems(json.loads(file.read_text())["template"])
        result = file.with_suffix(".lint.partial")
        result.write_text(json.dumps(found))
        result.rename(file.with_suffix(".lint"))


def linted(template: dict[str, Any]) -> list[str]:
    """The findings on ``template``: kept from a process of this run, or linted now."""
    folder = templates_dir()
    if folder is not None:
        name = hashlib.sha256(template_key(template).encode()).hexdigest()[:32]
        kept = folder / f"{name}.lint"
        if kept.exists():
            result: list[str] = json.loads(kept.read_text())
            return result
    return problems(template)
