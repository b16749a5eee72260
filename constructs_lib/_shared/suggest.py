"""'Did you mean ...?' for a misspelt choice (an instance type, a framework, a version,
a metric name): the closest valid one, as difflib finds it.

Imports only the standard library (the algorithm tables and the schema use it)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:-(\d+))?$")


def did_you_mean(value: object, choices: Iterable[object]) -> str:
    """`` Did you mean 'x'?`` for the choice closest to ``value``, or nothing. A
    version is closest to the versions of its major.minor (``2.5.0``: ``2.5.1``, not
    ``2.9.0`` that looks alike), then of its major."""
    if not isinstance(value, str):
        return ""
    texts = [str(c) for c in choices]
    close = _closest_version(value, texts)
    if close is None:
        found = difflib.get_close_matches(value, texts, n=1, cutoff=0.75)
        close = found[0] if found else None
    return f" Did you mean {close!r}?" if close else ""


def _numbers(text: str) -> tuple[int, ...] | None:
    match = _VERSION.match(text)
    return tuple(int(part) for part in match.groups() if part is not None) if match else None


def _closest_version(value: str, choices: list[str]) -> str | None:
    """The version of ``choices`` nearest ``value``'s major.minor (the most precise of
    the newest patch), else of its major; None for what is no version."""
    wanted = _numbers(value)
    if wanted is None or len(wanted) < 2:
        return None
    versions = [(numbers, text) for text in choices if (numbers := _numbers(text)) is not None]
    for width in (2, 1):
        same = [(n, t) for n, t in versions if n[:width] == wanted[:width] and t != value]
        if same:
            if width == 1:  # the nearest minor of the major
                same.sort(
                    key=lambda item: (
                        abs(item[0][1] - wanted[1]) if len(item[0]) > 1 else 99,
                        -len(item[0]),
                    )
                )
                return same[0][1]
            return max(same, key=lambda item: (item[0], len(item[1])))[1]
    return None
