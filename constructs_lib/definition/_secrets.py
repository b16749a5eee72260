"""Values of a job's hyperparameters and environment that look like secrets: they
would be stored in plain text in the template and the job's description, so synth
warns about each."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from aws_cdk import Annotations
from constructs import Construct

from .._shared.schema.validate import is_unresolved

SECRET_WARNING_ID = "constructs-lib:possible-secret"

_SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "key",
        "apikey",
        "credential",
        "credentials",
        "passphrase",
        "auth",
    }
)
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
MIN_SECRET_LENGTH = 20
MIN_SECRET_ENTROPY = 3.5  # bits per character


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def secret_reason(key: str, value: str) -> str | None:
    """Why ``key=value`` looks like a secret, or None."""
    if is_unresolved(key) or is_unresolved(value):
        return None
    words = {word.lower() for word in _WORD.findall(key)}
    named = sorted(words & _SECRET_WORDS)
    if named:
        return f"its name contains {named[0]!r}"
    if (
        len(value) >= MIN_SECRET_LENGTH
        and not re.search(r"\s|://", value)
        and re.search(r"[A-Za-z]", value)
        and re.search(r"\d", value)
        and _entropy(value) >= MIN_SECRET_ENTROPY
    ):
        return "its value is a long random-looking string"
    return None


def warn_about_secrets(
    scope: Construct, sections: Iterable[tuple[Mapping[str, Any] | None, str]]
) -> None:
    """Warn about each value of ``sections`` (values, prop) that looks like a secret."""
    for values, prop in sections:
        if not isinstance(values, Mapping):
            continue
        for key, value in values.items():
            reason = secret_reason(str(key), str(value))
            if reason:
                Annotations.of(scope).add_warning_v2(
                    SECRET_WARNING_ID,
                    f"{prop}[{key!r}] looks like a secret ({reason}): it would be stored "
                    "in plain text in the template and the job's description. Keep "
                    "secrets in AWS Secrets Manager and read them in the container, "
                    "granting the execution role secretsmanager:GetSecretValue.",
                )
