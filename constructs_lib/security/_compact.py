"""Statements of one principal, compacted as jobs add them: one statement per set of
actions and conditions, its resources a list; ``s3:ListBucket`` one statement per
bucket, its ``s3:prefix`` condition a list. The permissions stay exactly those of the
separate statements (IAM ORs the resources of a statement, and the values of one
condition key), in fewer characters: jobs sharing a role stay within IAM's limits
for longer, and each further job crosses to CDK's JavaScript side less often.

On a role of the app that several jobs share, the statements go into managed
policies of the library attached to the role, each filled to a budget of its real
length (the statements resolved), since aws-cdk-lib's own overflow splitting sizes
statements at about twice their length and fills its policies to half. Elsewhere
(a job's own role, an imported role) they go where the principal puts them, in
statements of a bounded number of resources.

Lists stay concrete (no Lazy). A statement frozen by an earlier synthesis is not
extended: the next grant starts a new one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import aws_iam as iam

from .._shared.stacks import stack_of
from ._principal import InlinePolicyPrincipal, Statement

#: Resources per compacted statement where aws-cdk-lib sizes the policy (an ARN
#: renders to about 40 to 120 characters), and prefixes per s3:ListBucket statement.
MAX_RESOURCES = 12
MAX_PREFIXES = 100
#: Characters the library fills each of its managed policies on a shared role with
#: (IAM allows 6,144; the rest is margin for the document's wrapper and for
#: references rendered longer than estimated, e.g. imports from another stack).
POLICY_BUDGET = 5_600
_RESOURCE_SEPARATOR = 1  # the comma between two resources


@dataclass
class _Policy:
    """A managed policy of the library on a shared role, and its real length so far."""

    policy: iam.ManagedPolicy
    used: int = 0


@dataclass
class _Statement:
    #: aws-cdk-lib's statement, or (a job's own role) one held in Python.
    statement: iam.PolicyStatement | Statement
    resources: set[str]
    policy: _Policy | None = None
    prefixes: list[str] = field(default_factory=list)


@dataclass
class _Principal:
    principal: iam.IPrincipal  # kept alive here, so its id stays its own
    statements: dict[str, _Statement] = field(default_factory=dict)
    #: The library's managed policies, for a role of the app that jobs share.
    policies: list[_Policy] | None = None


_REGISTRY: dict[int, _Principal] = {}


def _entry(principal: iam.IPrincipal) -> _Principal:
    found = _REGISTRY.get(id(principal))
    if found is None:
        found = _REGISTRY[id(principal)] = _Principal(principal)
    return found


def share(role: iam.IRole) -> None:
    """Pack the grants of the jobs that run as ``role`` (a role the user gives, which
    jobs may share) into managed policies of the library, when it is a role of the
    app that can take them."""
    principal = role.grant_principal
    if isinstance(principal, iam.Role) and not isinstance(principal, InlinePolicyPrincipal):
        entry = _entry(principal)
        if entry.policies is None:
            entry.policies = []


def _length(principal: iam.IPrincipal, value: Any) -> int:
    """The real length of ``value`` as it will render (minified)."""
    stack = stack_of(principal)  # type: ignore[arg-type]
    return len(json.dumps(stack.resolve(value), separators=(",", ":")))


def _new(
    principal: iam.IPrincipal,
    actions: list[str],
    resources: list[str],
    conditions: dict[str, Any] | None,
) -> iam.PolicyStatement | Statement:
    """A new statement: held in Python for a job's own role's inline policy (no
    crossing to the CDK's JavaScript side), else aws-cdk-lib's."""
    if isinstance(principal, InlinePolicyPrincipal):
        return Statement(actions, resources, conditions)
    return iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions)


def _place(entry: _Principal, statement: iam.PolicyStatement | Statement) -> _Policy | None:
    """Attach a new statement: to a library managed policy with room (shared roles),
    else where the principal puts it."""
    if isinstance(statement, Statement):
        assert isinstance(entry.principal, InlinePolicyPrincipal)
        entry.principal.document.add(statement)
        return None
    if entry.policies is None:
        entry.principal.add_to_principal_policy(statement)
        return None
    size = _length(entry.principal, statement.to_statement_json()) + _RESOURCE_SEPARATOR
    target = next((p for p in entry.policies if p.used + size <= POLICY_BUDGET), None)
    if target is None:
        role: iam.Role = entry.principal  # type: ignore[assignment]
        target = _Policy(
            iam.ManagedPolicy(
                role,
                f"TrainingJobGrants{len(entry.policies) + 1}",
                description=f"Grants of the SageMaker training jobs that run as {role.node.path}",
            )
        )
        role.add_managed_policy(target.policy)
        entry.policies.append(target)
    target.policy.add_statements(statement)
    target.used += size
    return target


def _room(entry: _Statement, principal: iam.IPrincipal, added: list[Any], count: int) -> bool:
    """Whether ``added`` fits the statement (and its policy); books the room if so."""
    if entry.policy is None:
        return len(entry.resources) + count <= MAX_RESOURCES
    size = _length(principal, added) - 2 + _RESOURCE_SEPARATOR * count  # without [ ]
    if entry.policy.used + size > POLICY_BUDGET:
        return False
    entry.policy.used += size
    return True


def allow(
    principal: iam.IPrincipal,
    actions: list[str],
    resources: list[str],
    conditions: dict[str, Any] | None = None,
) -> None:
    """Allow ``actions`` on ``resources`` (under ``conditions``)."""
    entry = _entry(principal)
    key = json.dumps([actions, conditions], sort_keys=True, default=str)
    found = entry.statements.get(key)
    if found is not None:
        new = [resource for resource in dict.fromkeys(resources) if resource not in found.resources]
        if not new:
            return
        if _room(found, principal, new, len(new)):
            try:
                found.statement.add_resources(*new)
                found.resources.update(new)
                return
            except RuntimeError:
                pass  # frozen by an earlier synthesis: start another statement
    statement = _new(principal, actions, resources, conditions)
    entry.statements[key] = _Statement(statement, set(resources), _place(entry, statement))


def allow_list_bucket(principal: iam.IPrincipal, bucket_arn: str, prefix: str | None) -> None:
    """Allow ``s3:ListBucket`` on the bucket, of keys under ``prefix`` (all without)."""
    if not prefix:
        allow(principal, ["s3:ListBucket"], [bucket_arn])
        return
    entry = _entry(principal)
    key = f"s3:ListBucket|{bucket_arn}"
    pattern = f"{prefix}*"
    found = entry.statements.get(key)
    if found is not None:
        if pattern in found.prefixes:
            return
        fits = (
            len(found.prefixes) < MAX_PREFIXES
            if found.policy is None
            else _room(found, principal, [pattern], 1)
        )
        if fits:
            try:
                found.statement.add_condition(
                    "StringLike", {"s3:prefix": [*found.prefixes, pattern]}
                )
                found.prefixes.append(pattern)
                return
            except RuntimeError:
                pass
    statement = _new(
        principal, ["s3:ListBucket"], [bucket_arn], {"StringLike": {"s3:prefix": [pattern]}}
    )
    placed = _place(entry, statement)
    entry.statements[key] = _Statement(statement, {bucket_arn}, placed, [pattern])
