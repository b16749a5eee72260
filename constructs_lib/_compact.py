"""Statements of one principal, compacted as jobs add them: one statement per set of
actions and conditions, its resources a list; ``s3:ListBucket`` one statement per
bucket, its ``s3:prefix`` condition a list. The permissions stay exactly those of the
separate statements (IAM ORs the resources of a statement, and the values of one
condition key), in fewer characters: jobs sharing a role stay within IAM's limits
for longer, and each further job crosses to CDK's JavaScript side less often.

Lists stay concrete (no Lazy), so aws-cdk-lib sizes them when it splits a large
policy. A statement frozen by an earlier synthesis is not extended: the next grant
starts a new one.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import aws_iam as iam

#: Resources per compacted statement (an ARN renders to about 40 to 120 characters),
#: and prefixes per s3:ListBucket statement: each statement stays well under the
#: 6,144 characters of a managed policy, into which aws-cdk-lib moves whole
#: statements when a role's inline policy outgrows 10,240.
MAX_RESOURCES = 12
MAX_PREFIXES = 100

_Statements = dict[str, tuple[iam.PolicyStatement, set[str]]]
_Buckets = dict[str, tuple[iam.PolicyStatement, list[str]]]
# Per principal (kept alive here, so its id stays its own): (principal, {statement
# key: (statement, its resources)}, {bucket: (statement, its prefixes)}).
_REGISTRY: dict[int, tuple[iam.IPrincipal, _Statements, _Buckets]] = {}


def _entry(principal: iam.IPrincipal) -> tuple[_Statements, _Buckets]:
    found = _REGISTRY.get(id(principal))
    if found is None:
        found = _REGISTRY[id(principal)] = (principal, {}, {})
    return found[1], found[2]


def allow(
    principal: iam.IPrincipal,
    actions: list[str],
    resources: list[str],
    conditions: dict[str, Any] | None = None,
) -> None:
    """Allow ``actions`` on ``resources`` (under ``conditions``)."""
    statements, _ = _entry(principal)
    key = json.dumps([actions, conditions], sort_keys=True, default=str)
    found = statements.get(key)
    if found is not None:
        statement, known = found
        new = [resource for resource in dict.fromkeys(resources) if resource not in known]
        if not new:
            return
        full = len(known) + len(new) > MAX_RESOURCES
        try:
            if full:
                raise RuntimeError("full")
            statement.add_resources(*new)
            known.update(new)
            return
        except RuntimeError:
            pass  # full, or frozen by an earlier synthesis: start another statement
    statement = iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)
    principal.add_to_principal_policy(statement)
    statements[key] = (statement, set(resources))


def allow_list_bucket(principal: iam.IPrincipal, bucket_arn: str, prefix: str | None) -> None:
    """Allow ``s3:ListBucket`` on the bucket, of keys under ``prefix`` (all without)."""
    if not prefix:
        allow(principal, ["s3:ListBucket"], [bucket_arn])
        return
    _, buckets = _entry(principal)
    pattern = f"{prefix}*"
    found = buckets.get(bucket_arn)
    if found is not None:
        statement, prefixes = found
        if pattern in prefixes:
            return
        try:
            if len(prefixes) >= MAX_PREFIXES:
                raise RuntimeError("full")
            statement.add_condition("StringLike", {"s3:prefix": [*prefixes, pattern]})
            prefixes.append(pattern)
            return
        except RuntimeError:
            pass
    statement = iam.PolicyStatement(
        actions=["s3:ListBucket"],
        resources=[bucket_arn],
        conditions={"StringLike": {"s3:prefix": [pattern]}},
    )
    principal.add_to_principal_policy(statement)
    buckets[bucket_arn] = (statement, [pattern])
