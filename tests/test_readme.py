"""Every Python code block of the README runs, in order, in one namespace (as a
reader would run them: a later block may continue an earlier one)."""

from __future__ import annotations

import inspect
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
        before = set(namespace)
        exec(compile(block, f"README.md block {index}", "exec"), namespace)
        # A pytest the README shows runs too, where it needs no fixture but tmp_path.
        for name in sorted(set(namespace) - before):
            test = namespace[name]
            if name.startswith("test_") and callable(test):
                parameters = inspect.signature(test).parameters
                if set(parameters) <= {"tmp_path"}:
                    folder = tmp_path / name
                    folder.mkdir()
                    test(**({"tmp_path": folder} if parameters else {}))


def test_the_readme_runs_its_rehearsal_pytest() -> None:
    """The README's local rehearsal is a pytest that the block test above runs."""
    assert any("def test_the_training_script_learns(tmp_path)" in block for block in BLOCKS)


def test_the_contents_list_every_section_with_its_anchor() -> None:
    """The README's table of contents: each `## ` section, in order, linked by the
    anchor GitHub gives its heading."""
    text = README.read_text()
    headings = [h for h in re.findall(r"^## (.+)$", text, flags=re.M) if h != "Contents"]
    contents = text.split("## Contents\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^- \[(.+)\]\(#([\w-]+)\)$", contents, flags=re.M)
    assert [title for title, _ in listed] == headings
    for title, anchor in listed:
        expected = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        assert anchor == expected, title
