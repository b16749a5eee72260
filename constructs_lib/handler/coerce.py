"""Turn CloudFormation's stringified resource properties back into API types.

CloudFormation passes every scalar of a custom resource's properties as a string
(``"1"``, ``"true"``). The SageMaker API wants integers, floats and booleans. The
types come from the botocore service model of the client, so a request field added
to the API later needs no change here.
"""

from __future__ import annotations

from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

_INTEGER_TYPES = frozenset({"integer", "long"})
_FLOAT_TYPES = frozenset({"float", "double"})


class CoercionError(ValueError):
    """A property value cannot be read as the type the API model requires."""


def coerce(value: Any, shape: Shape, path: str = "") -> Any:
    """Return ``value`` converted to the types ``shape`` describes.

    Members the model does not know are passed through untouched, so that the
    API's own validation reports them with its usual message.
    """
    type_name = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            raise CoercionError(f"{path or 'request'}: expected an object, got {value!r}")
        members = shape.members
        return {
            key: coerce(item, members[key], _join(path, key)) if key in members else item
            for key, item in value.items()
        }
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            raise CoercionError(f"{path}: expected a list, got {value!r}")
        return [coerce(item, shape.member, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            raise CoercionError(f"{path}: expected a map, got {value!r}")
        return {key: coerce(item, shape.value, _join(path, key)) for key, item in value.items()}
    if type_name in _INTEGER_TYPES:
        return _to_int(value, path)
    if type_name in _FLOAT_TYPES:
        return _to_float(value, path)
    if type_name == "boolean":
        return _to_bool(value, path)
    if type_name == "string" and not isinstance(value, str):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _to_int(value: Any, path: str) -> Any:
    if isinstance(value, bool):
        raise CoercionError(f"{path}: expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise CoercionError(f"{path}: expected an integer, got {value!r}")


def _to_float(value: Any, path: str) -> Any:
    if isinstance(value, bool):
        raise CoercionError(f"{path}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise CoercionError(f"{path}: expected a number, got {value!r}")


def _to_bool(value: Any, path: str) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise CoercionError(f"{path}: expected true or false, got {value!r}")
