"""The API reference builds without warnings, and documents every public member."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import constructs_lib

ROOT = Path(__file__).resolve().parent.parent


def test_api_reference_builds_without_warnings(tmp_path: Path) -> None:
    # Same command as `make docs` (jsii starts Node when the package is imported).
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pdoc",
            "constructs_lib",
            "constructs_lib.testing",
            "-o",
            str(tmp_path),
        ],
        cwd=ROOT,
        env={**os.environ, "PDOC_ALLOW_EXEC": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warn" in line.lower()]
    assert warnings == []
    page = (tmp_path / "constructs_lib.html").read_text()
    for name in ("TrainingJob", "Completion", "TrainingImage", "TrainingInput"):
        assert f'id="{name}"' in page, name
    assert (tmp_path / "constructs_lib" / "testing.html").exists()


def _undocumented() -> list[str]:
    missing = []
    for name in constructs_lib.__all__:
        obj = getattr(constructs_lib, name)
        if not inspect.getdoc(obj):
            missing.append(name)
        if not inspect.isclass(obj):
            continue
        for attribute, value in vars(obj).items():
            if attribute.startswith("_"):
                continue
            member = value.__func__ if isinstance(value, staticmethod | classmethod) else value
            if (callable(member) or isinstance(member, property)) and not inspect.getdoc(member):
                missing.append(f"{name}.{attribute}")
    return missing


def test_every_public_class_method_and_property_is_documented() -> None:
    assert _undocumented() == []


@pytest.mark.parametrize(
    "construct",
    [
        constructs_lib.TrainingJob,
        constructs_lib.HyperparameterTuningJob,
        constructs_lib.TrainingDefinition,
    ],
)
def test_every_prop_of_the_construct_is_documented_with_its_default(construct: type) -> None:
    doc = inspect.getdoc(construct.__init__) or ""  # type: ignore[misc]
    parameters = [
        p
        for p in inspect.signature(construct.__init__).parameters  # type: ignore[misc]
        if p not in ("self", "scope", "construct_id")
    ]
    for parameter in parameters:
        assert f":param {parameter}:" in doc, parameter
    entries = doc.split(":param ")[1:]
    without_default = [
        e.split(":")[0]
        for e in entries
        if "default" not in e.lower() and "required" not in e.lower()
    ]
    assert without_default == []
