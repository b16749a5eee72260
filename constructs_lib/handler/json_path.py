"""The JSON paths of an evaluation report's metrics, as SageMaker Pipelines' ``JsonGet``
takes them: a dotted chain of keys, each followed by any number of ``[index]``
(``regression_metrics.mse.value``, ``metrics[0].value``; a leading ``$.`` is allowed).

Imports only the standard library: the construct library checks the paths at synth,
and its rehearsal (``testing.run_locally``) reads a local report, with the handler's
rule.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

_SEGMENT = re.compile(r"^(?P<key>[^.\[\]]+)(?P<indexes>(\[\d+\])*)$")
_INDEX = re.compile(r"\[(\d+)\]")


class PathNotFoundError(LookupError):
    """A JSON path that finds nothing in a document; says where it stopped."""


def parse(path: str) -> list[str | int]:
    """The steps of ``path``: keys and indexes; ValueError when it is not such a path."""
    text = path[2:] if path.startswith("$.") else path
    steps: list[str | int] = []
    for segment in text.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            raise ValueError(
                f"{path!r} is not a JSON path of dotted keys, each with optional [index]es "
                "(e.g. 'regression_metrics.mse.value' or 'metrics[0].value')"
            )
        steps.append(match["key"])
        steps += [int(index) for index in _INDEX.findall(match["indexes"])]
    return steps


def json_get(document: Any, path: str) -> Any:
    """The value of ``document`` at ``path``; PathNotFoundError says where it stopped."""
    try:
        steps = parse(path)
    except ValueError as error:
        raise PathNotFoundError(str(error)) from None
    found = document
    walked = "$"
    for step in steps:
        if isinstance(step, str):
            if not isinstance(found, Mapping) or step not in found:
                keys = ", ".join(sorted(map(str, found))) if isinstance(found, Mapping) else ""
                where = f"its keys: {keys}" if keys else f"it is {_kind(found)}"
                raise PathNotFoundError(f"{walked} has no key {step!r} ({where})")
            walked = f"{walked}.{step}"
        elif not isinstance(found, list) or step >= len(found):
            size = f"{len(found)} items" if isinstance(found, list) else _kind(found)
            raise PathNotFoundError(f"{walked} has no item [{step}] ({size})")
        else:
            walked = f"{walked}[{step}]"
        found = found[step]
    return found


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    return "null" if value is None else f"a {type(value).__name__}"


def metric_values(document: Any, metrics: Mapping[str, Any]) -> tuple[dict[str, float], list[str]]:
    """Each metric of ``metrics`` (``{name: JSON path}``) read from ``document``, and a
    phrase for each one that is absent or not a number."""
    values: dict[str, float] = {}
    absent: list[str] = []
    for name, path in sorted(metrics.items()):
        try:
            value = json_get(document, str(path))
        except PathNotFoundError as error:
            absent.append(f"{name} ({path}) is not in the report: {error}")
            continue
        number = _number(value)
        if number is None:
            absent.append(f"{name} ({path}) is {json.dumps(value)[:80]}, not a number")
            continue
        values[name] = number
    return values, absent


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return None if math.isnan(number) else number
    return None
