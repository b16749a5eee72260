"""Props checked against their type hints at the boundary, as aws-cdk-lib's constructs
check theirs: a value of the wrong type (an ``int`` for a ``Duration``, one security
group for a list, a dict for a typed config) is a ``TypeError`` naming the construct
path, the prop, the value and the expected type, before the library uses it (where it
would fail with an ``AttributeError`` from inside).

One mechanism for every prop: the hints of the constructor. The AWS CDK's interfaces
(``IVpc``, ``IBucket``...) are protocols Python cannot check by ``isinstance``; a value
for one must be an object of the CDK (not a string, number, list, dict or class).
"""

from __future__ import annotations

import collections.abc
import enum
import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from constructs import Construct

_SCALARS = (str, bytes, int, float, bool, list, tuple, dict, set)


@functools.cache
def _hints(function: Callable[..., Any]) -> dict[str, Any]:
    """The parameters' hints, each evaluated in the function's module; one that names
    what the module imports for type checking only is left out (not checked)."""
    hints: dict[str, Any] = {}
    function = inspect.unwrap(function)  # a keyword-checked call: its own module
    for name, annotation in inspect.get_annotations(function).items():
        if name == "return":
            continue
        try:
            hints[name] = (
                eval(annotation, function.__globals__)
                if isinstance(annotation, str)
                else annotation
            )
        except NameError:
            continue
    return hints


def _is_protocol(hint: Any) -> bool:
    return isinstance(hint, type) and bool(getattr(hint, "_is_protocol", False))


def _matches(value: Any, hint: Any) -> bool:
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, argument) for argument in arguments)
    if origin is typing.Literal:
        return value in arguments
    if origin in (collections.abc.Sequence, list, tuple, collections.abc.Iterable):
        if not isinstance(value, list | tuple):
            return False
        element = arguments[0] if arguments else Any
        return all(_matches(item, element) for item in value)
    if origin in (collections.abc.Mapping, dict):
        if not isinstance(value, Mapping):
            return False
        key, item = arguments if len(arguments) == 2 else (Any, Any)
        return all(_matches(k, key) and _matches(v, item) for k, v in value.items())
    if origin is collections.abc.Callable or hint is Callable:
        return callable(value)
    if origin is not None:
        return isinstance(value, origin)
    if _is_protocol(hint):
        # A CDK interface: any object of the CDK, not a plain value or a class.
        return not isinstance(value, _SCALARS) and not isinstance(value, type)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        if isinstance(value, float):
            return _is_token(value)  # a CDK number token (Token.as_number) is a float
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # a hint this check does not know: not refused


def _is_token(value: Any) -> bool:
    from aws_cdk import Token  # noqa: PLC0415 - asked only of a float for an int

    return bool(Token.is_unresolved(value))


def arguments(local: Mapping[str, Any]) -> dict[str, Any]:
    """A constructor's arguments from its ``locals()`` taken first thing."""
    return {k: v for k, v in local.items() if k not in ("self", "__class__")}


def describe(hint: Any) -> str:
    """A hint as a reader writes it: ``Duration | None``, ``Sequence[ISecurityGroup]``."""
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(describe(argument) for argument in arguments)
    if origin is not None:
        inner = ", ".join(describe(argument) for argument in arguments)
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{inner}]" if inner else name
    if hint is type(None) or hint is None:
        return "None"
    return getattr(hint, "__name__", str(hint))


def shown(value: Any) -> str:
    """``value`` as a message shows it: a CDK object by its type (a jsii proxy's repr
    says nothing), anything else by its repr, cut to 80 characters."""
    module = type(value).__module__ or ""
    if module.startswith(("aws_cdk", "jsii", "constructs")) and not isinstance(value, type):
        path = getattr(getattr(value, "node", None), "path", None)
        name = type(value).__name__.lstrip("_").removesuffix("Proxy")
        return f"a {name}" + (f" ({path})" if isinstance(path, str) and path else "")
    if isinstance(value, Mapping):
        text = "{" + ", ".join(f"{k!r}: {shown(v)}" for k, v in value.items()) + "}"
    elif isinstance(value, list | tuple):
        items = ", ".join(shown(item) for item in value)
        text = f"[{items}]" if isinstance(value, list) else f"({items})"
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _inside(value: Any, hint: Any) -> str:
    """Where in a collection ``value`` stops matching ``hint``: its key, value or
    item, named; nothing for a value that is not a collection of the hint."""
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        candidates = [a for a in arguments if a is not type(None)]
        return _inside(value, candidates[0]) if len(candidates) == 1 else ""
    if origin in (collections.abc.Mapping, dict) and isinstance(value, Mapping):
        key_hint, item_hint = arguments if len(arguments) == 2 else (Any, Any)
        for key, item in value.items():
            if not _matches(key, key_hint):
                return f": its key {shown(key)} is not {describe(key_hint)}"
            if not _matches(item, item_hint):
                return f": its value for {key!r}, {shown(item)}, is not {describe(item_hint)}"
    sequences = (collections.abc.Sequence, list, tuple, collections.abc.Iterable)
    if origin in sequences and isinstance(value, list | tuple):
        item_hint = arguments[0] if arguments else Any
        for index, item in enumerate(value):
            if not _matches(item, item_hint):
                return f": its item [{index}], {shown(item)}, is not {describe(item_hint)}"
    return ""


def _advice(value: Any, hint: Any) -> str:
    """What to write instead, for the mistakes that are common: an enum's value as a
    string, an S3 URI for a bucket, an expression string for a schedule."""
    names = describe(hint)
    if isinstance(value, str):
        for candidate in typing.get_args(hint) or (hint,):
            if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
                for member in candidate:
                    if value in (member.value, member.name):
                        return f" Write {candidate.__name__}.{member.name}."
        if "IBucket" in names:
            return (
                " A bucket is an s3.IBucket: s3.Bucket.from_bucket_name(scope, 'Data', "
                "'my-bucket') for one of your own; its key prefix goes apart ('train/')."
            )
        if "ScheduleExpression" in names:
            return (
                f" Write ScheduleExpression.expression({value!r}), or .cron(hour='3', "
                "minute='0'), .rate(Duration.days(1))."
            )
    return ""


def check_props(
    where: Construct | str,
    function: Callable[..., Any],
    values: Mapping[str, Any],
    *,
    method: str | None = None,
) -> None:
    """Each of ``values`` (a call's arguments by name) against ``function``'s hints.

    :param where: what names the call in the message: a construct (its path, asked
        only when a value does not fit: a round trip to the CDK's JavaScript side) or
        a name.
    :param method: the construct's method called, named after its path.
    :raises TypeError: the first value whose type does not fit.
    """
    hints = _hints(function)
    for name, value in values.items():
        hint = hints.get(name)
        if hint is not None:
            check_value(where, name, value, hint, method=method)


def check_value(
    where: Construct | str, name: str, value: Any, hint: Any, *, method: str | None = None
) -> None:
    """``value`` of the argument ``name`` against ``hint`` (see :func:`check_props`)."""
    if _matches(value, hint):
        return
    got = f"the class {value.__name__}" if isinstance(value, type) else type(value).__name__
    path = f"[{where}]" if isinstance(where, str) else f"[{where.node.path}]"
    if method:
        path = f"{path} {method}:"
    advice = _advice(value, hint)
    raise TypeError(
        f"{path} {name}: {shown(value)} is invalid: expected {describe(hint)}, got "
        f"{got}{_inside(value, hint)}" + (f".{advice}" if advice else "")
    )
