"""The README's table of framework containers is the shipped table's."""

from __future__ import annotations

import re
from pathlib import Path

from constructs_lib.definition._algorithms.frameworks import versions_table

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_framework_table_is_the_shipped_ones() -> None:
    [table] = re.findall(
        r"<!-- frameworks:start -->\n(.*?)\n<!-- frameworks:end -->", README.read_text(), re.S
    )
    assert table == versions_table(), (
        "README's framework table is out of date: replace it with the output of "
        "python -c 'from constructs_lib.definition._algorithms.frameworks import versions_table; "
        "print(versions_table())'"
    )
