"""The README's API table matches the code's member-to-prop map."""

from __future__ import annotations

import re
from pathlib import Path

from constructs_lib._schema import load
from constructs_lib.request import PROPS_FOR_MEMBER

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
ROWS = dict(re.findall(r"^\| `(\w+)` \| (.+?) \|", README, flags=re.M))


def test_every_api_member_has_a_row_naming_its_props() -> None:
    members = load()["shapes"][load()["root"]]["members"]
    for member in members:
        assert member in ROWS, f"README's API table lacks {member}"
        expected = PROPS_FOR_MEMBER.get(member, ("additional_request",))
        assert ROWS[member] == ", ".join(f"`{prop}`" for prop in expected), member
