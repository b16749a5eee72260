"""The README's API tables match the code's member-to-prop maps."""

from __future__ import annotations

import re
from pathlib import Path

from constructs_lib._shared.schema import load
from constructs_lib.definition._request import PROPS_FOR_MEMBER
from constructs_lib.tuning._request import api_member_paths, tuning_props_for_path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
ROWS = dict(re.findall(r"^\| `(\w+)` \| (.+?) \|", README, flags=re.M))


def test_every_api_member_has_a_row_naming_its_props() -> None:
    members = load()["shapes"][load()["root"]]["members"]
    for member in members:
        assert member in ROWS, f"README's API table lacks {member}"
        expected = PROPS_FOR_MEMBER.get(member, ("additional_request",))
        assert ROWS[member] == ", ".join(f"`{prop}`" for prop in expected), member


def test_every_tuning_api_member_has_a_row_naming_its_props() -> None:
    section = README.split("### The whole CreateHyperParameterTuningJob API", 1)[1]
    section = section.split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([\w.]+)` \| (.+?) \|", section, flags=re.M))
    paths = api_member_paths()
    assert sorted(rows) == sorted(paths)
    for path in paths:
        expected = tuning_props_for_path(path).split(", ")
        assert rows[path] == ", ".join(f"`{prop}`" for prop in expected), path
