"""Values the CDK's JavaScript side holds that never change for an object, asked once:
each ask crosses to Node, and a stack of many jobs asks the same buckets, roles,
durations and functions for every job. What a value is does not depend on who asks
first, so remembering changes no template."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from aws_cdk import Duration, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

#: How a string that holds a token starts it (``Token.as_string``, ``Lazy.string``,
#: references): a string without it is resolved, with no crossing to find out.
_STRING_TOKEN = "${Token["

_SECONDS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_DURATIONS: dict[float, Duration] = {}
#: Each object's values asked so far, by what was asked.
_ASKED: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _once(owner: Any, what: str, ask: Callable[[], Any]) -> Any:
    """``ask()`` the first time ``what`` is wanted of ``owner``, then what it said."""
    values = _ASKED.get(owner)
    if values is None:
        values = _ASKED[owner] = {}
    if what not in values:
        values[what] = ask()
    return values[what]


def unresolved(value: str) -> bool:
    """``Token.is_unresolved(value)`` for a string, asked of Node only when the string
    could hold a token."""
    return _STRING_TOKEN in value and Token.is_unresolved(value)


def seconds(duration: Duration) -> Any:
    """``duration.to_seconds()`` (a number, or a token for a duration of a token)."""
    found = _SECONDS.get(duration)
    if found is None:
        found = _SECONDS[duration] = duration.to_seconds()
    return found


def duration_of_seconds(amount: int) -> Duration:
    """``Duration.seconds(amount)``, one object per amount, its seconds known."""
    found = _DURATIONS.get(amount)
    if found is None:
        found = _DURATIONS[amount] = Duration.seconds(amount)
        _SECONDS[found] = amount
    return found


def bucket_name(bucket: s3.IBucket) -> str:
    """``bucket.bucket_name``."""
    name: str = _once(bucket, "name", lambda: bucket.bucket_name)
    return name


def bucket_arn(bucket: s3.IBucket) -> str:
    """``bucket.bucket_arn``."""
    arn: str = _once(bucket, "arn", lambda: bucket.bucket_arn)
    return arn


def objects_arn(bucket: s3.IBucket, key_pattern: str) -> str:
    """``bucket.arn_for_objects(key_pattern)``: aws-cdk-lib's ``BucketBase`` joins the
    bucket's ARN and the pattern with a slash."""
    return f"{bucket_arn(bucket)}/{key_pattern}"


def bucket_key(bucket: s3.IBucket) -> kms.IKey | None:
    """``bucket.encryption_key``."""
    key: kms.IKey | None = _once(bucket, "key", lambda: bucket.encryption_key)
    return key


def role_arn(role: iam.IRole) -> str:
    """``role.role_arn``."""
    arn: str = _once(role, "arn", lambda: role.role_arn)
    return arn


def managed_policy_arn(policy: iam.IManagedPolicy) -> str:
    """``policy.managed_policy_arn``."""
    arn: str = _once(policy, "arn", lambda: policy.managed_policy_arn)
    return arn
