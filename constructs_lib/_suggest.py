"""'Did you mean ...?' for a misspelt choice (an instance type, a framework, a version,
a metric name): the closest valid one, as difflib finds it.

Imports only the standard library (the algorithm tables and the schema use it)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(value: object, choices: Iterable[object]) -> str:
    """`` Did you mean 'x'?`` for the choice closest to ``value``, or nothing."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, [str(c) for c in choices], n=1, cutoff=0.75)
    return f" Did you mean {close[0]!r}?" if close else ""
