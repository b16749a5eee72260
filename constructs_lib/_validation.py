"""Synth-time checks with messages that name the construct, the field, the value and the rule."""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Token
from constructs import Construct

JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
MAX_JOB_NAME_LENGTH = 63


def fail(scope: Construct | None, field: str, value: Any, rule: str) -> ValueError:
    """A ``ValueError`` to raise: ``[path] field: value violates rule``."""
    where = f"[{scope.node.path}] " if scope is not None else ""
    return ValueError(f"{where}{field}: {value!r} is invalid: {rule}")


def is_token(value: Any) -> bool:
    """Whether ``value`` is (or holds) an unresolved CDK token, which checks must skip."""
    return Token.is_unresolved(value)


def check_job_name(scope: Construct | None, field: str, name: str) -> None:
    if is_token(name):
        return
    if len(name) > MAX_JOB_NAME_LENGTH:
        raise fail(scope, field, name, f"at most {MAX_JOB_NAME_LENGTH} characters")
    if not JOB_NAME_PATTERN.match(name):
        raise fail(
            scope,
            field,
            name,
            "letters, digits and hyphens, starting and ending with a letter or digit "
            f"(pattern {JOB_NAME_PATTERN.pattern})",
        )


def check_range(
    scope: Construct | None,
    field: str,
    value: int | float,
    *,
    minimum: int | float | None = None,
    maximum: int | float | None = None,
    unit: str = "",
) -> None:
    if is_token(value):
        return
    suffix = f" {unit}" if unit else ""
    if minimum is not None and value < minimum:
        raise fail(scope, field, value, f"must be at least {minimum}{suffix}")
    if maximum is not None and value > maximum:
        raise fail(scope, field, value, f"must be at most {maximum}{suffix}")
