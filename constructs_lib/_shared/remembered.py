"""Values the CDK's JavaScript side holds that never change for an object, asked once:
each ask crosses to Node, and a stack of many jobs asks the same buckets, roles,
durations and functions for every job. What a value is does not depend on who asks
first, so remembering changes no template."""

from __future__ import annotations

import weakref
from typing import Any

from aws_cdk import Duration, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

#: How a string that holds a token starts it (``Token.as_string``, ``Lazy.string``,
#: references): a string without it is resolved, with no crossing to find out.
_STRING_TOKEN = "${Token["

_SECONDS: weakref.WeakKeyDictionary[Duration, Any] = weakref.WeakKeyDictionary()
_DURATIONS: dict[float, Duration] = {}
_BUCKETS: weakref.WeakKeyDictionary[s3.IBucket, dict[str, Any]] = weakref.WeakKeyDictionary()
_ROLE_ARNS: weakref.WeakKeyDictionary[iam.IRole, str] = weakref.WeakKeyDictionary()
_POLICY_ARNS: weakref.WeakKeyDictionary[iam.IManagedPolicy, str] = weakref.WeakKeyDictionary()


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


def _bucket(bucket: s3.IBucket) -> dict[str, Any]:
    found = _BUCKETS.get(bucket)
    if found is None:
        found = _BUCKETS[bucket] = {}
    return found


def bucket_name(bucket: s3.IBucket) -> str:
    """``bucket.bucket_name``."""
    values = _bucket(bucket)
    if "name" not in values:
        values["name"] = bucket.bucket_name
    name: str = values["name"]
    return name


def bucket_arn(bucket: s3.IBucket) -> str:
    """``bucket.bucket_arn``."""
    values = _bucket(bucket)
    if "arn" not in values:
        values["arn"] = bucket.bucket_arn
    arn: str = values["arn"]
    return arn


def objects_arn(bucket: s3.IBucket, key_pattern: str) -> str:
    """``bucket.arn_for_objects(key_pattern)``: aws-cdk-lib's ``BucketBase`` joins the
    bucket's ARN and the pattern with a slash."""
    return f"{bucket_arn(bucket)}/{key_pattern}"


def bucket_key(bucket: s3.IBucket) -> kms.IKey | None:
    """``bucket.encryption_key``."""
    values = _bucket(bucket)
    if "key" not in values:
        values["key"] = bucket.encryption_key
    key: kms.IKey | None = values["key"]
    return key


def role_arn(role: iam.IRole) -> str:
    """``role.role_arn``."""
    found = _ROLE_ARNS.get(role)
    if found is None:
        found = _ROLE_ARNS[role] = role.role_arn
    return found


def managed_policy_arn(policy: iam.IManagedPolicy) -> str:
    """``policy.managed_policy_arn``."""
    found = _POLICY_ARNS.get(policy)
    if found is None:
        found = _POLICY_ARNS[policy] = policy.managed_policy_arn
    return found
