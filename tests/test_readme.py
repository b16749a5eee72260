"""Every Python code block of the README runs, in order, in one namespace (as a
reader would run them: a later block may continue an earlier one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 2


def test_readme_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path))
    namespace: dict[str, object] = {"__name__": "readme"}
    for index, block in enumerate(BLOCKS):
        exec(compile(block, f"README.md block {index}", "exec"), namespace)
