"""Acknowledgments of the compliance findings that the library's constructs cause on
purpose, each with the reason a reviewer needs, on the narrowest construct, where
each tool reads them: cdk-nag's packs (AwsSolutions, NIST 800-53 rev 5, HIPAA
Security) and the cfn-guard plugin's Control Tower rules through CDK's
``Validations``, checkov through the resource's ``Metadata.checkov.skip`` list.
Users then have nothing to acknowledge about our constructs; we never acknowledge
anything on theirs.

cdk-nag matches an acknowledgment by its exact rule id; a wildcard finding of IAM5
carries the flattened resource or action (``AwsSolutions-IAM5[Resource::<Bucket.Arn>/p/*]``),
which :func:`wildcard_findings` computes as cdk-nag does, from the statements we add.
"""

from __future__ import annotations

import contextlib
import json
import re
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import jsii
from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct, IValidation

from .._shared.stacks import stack_of
from ._compact import allow
from ._principal import acknowledgment_scope

PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security")
#: The policy-validation plugin of AWS's Control Tower proactive-control rules.
GUARD_PLUGIN = "cdk-validator-cfnguard"


def rules(*suffixes: str, packs: Sequence[str] = PACKS) -> list[str]:
    """Rule ids of ``suffixes`` in each pack (``NIST.800.53.R5-LambdaDLQ``...)."""
    return [f"{pack}-{suffix}" for pack in packs for suffix in suffixes]


# Acknowledgments gathered during a batch: {id(scope): (scope, {rule id: reason})}.
_pending: dict[int, tuple[IConstruct, dict[str, str]]] | None = None


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Gather the acknowledgments made inside, and record them with one call per
    construct at the end (each call crosses to the CDK's JavaScript side)."""
    global _pending  # noqa: PLW0603 - one batch at a time, within one construct's init
    if _pending is not None:
        yield
        return
    _pending = {}
    try:
        yield
    finally:
        gathered, _pending = _pending, None
        for scope, acknowledgments in gathered.values():
            _record(scope, acknowledgments)


def acknowledge(scope: IConstruct, rule_ids: Iterable[str], reason: str) -> None:
    acknowledgments = dict.fromkeys(rule_ids, reason)
    if not acknowledgments:
        return
    if _pending is None:
        _record(scope, acknowledgments)
    else:
        _pending.setdefault(id(scope), (scope, {}))[1].update(acknowledgments)


def _record(scope: IConstruct, acknowledgments: dict[str, str]) -> None:
    Validations.of(scope).acknowledge(
        *(Acknowledgment(id=i, reason=acknowledgments[i]) for i in sorted(acknowledgments))
    )


def flatten(reference: Any) -> str:
    """A resolved CloudFormation value as cdk-nag flattens it for finding ids."""
    if reference is None:
        return ""
    if isinstance(reference, str):
        return reference.replace("${", "<").replace("}", ">")
    if isinstance(reference, dict):
        if "Fn::Join" in reference:
            delimiter, items = reference["Fn::Join"]
            return str(delimiter).join(flatten(item) for item in items)
        if "Fn::Sub" in reference:
            return flatten(reference["Fn::Sub"])
        if "Fn::GetAtt" in reference:
            resource, attribute = reference["Fn::GetAtt"]
            return f"<{flatten(resource)}.{flatten(attribute)}>"
        if "Fn::ImportValue" in reference:
            return flatten(reference["Fn::ImportValue"])
        if "Ref" in reference:
            return f"<{flatten(reference['Ref'])}>"
    return json.dumps(reference, separators=(",", ":"))


#: A token in a string, as the CDK encodes it.
_TOKEN = re.compile(r"\$\{Token\[[^\]]*\]\}")
#: Each stack's tokens, flattened: a stack of many jobs names the same buckets.
_FLAT: weakref.WeakKeyDictionary[Stack, dict[str, str]] = weakref.WeakKeyDictionary()


def _flatten_string(stack: Stack, value: str) -> str:
    """``flatten(stack.resolve(value))``, each token of the string resolved once per
    stack: a string resolves to the join of its literal parts and its tokens' values,
    and flattening a join joins the flattened parts."""
    if "${Token[" not in value:
        return flatten(value)
    known = _FLAT.get(stack)
    if known is None:
        known = _FLAT[stack] = {}
    parts: list[str] = []
    end = 0
    for match in _TOKEN.finditer(value):
        token = match.group(0)
        if token not in known:
            known[token] = flatten(stack.resolve(token))
        parts += [flatten(value[end : match.start()]), known[token]]
        end = match.end()
    parts.append(flatten(value[end:]))
    return "".join(parts)


def wildcard_findings(stack: Stack, actions: Iterable[str], resources: Iterable[str]) -> list[str]:
    """The AwsSolutions-IAM5 finding ids of a statement's wildcard actions and resources."""
    found = [f"AwsSolutions-IAM5[Action::{action}]" for action in actions if "*" in action]
    for resource in resources:
        flat = (
            _flatten_string(stack, resource)
            if isinstance(resource, str)
            else flatten(stack.resolve(resource))
        )
        if "*" in flat:
            found.append(f"AwsSolutions-IAM5[Resource::{flat}]")
    return found


def add_statement(
    principal: iam.IPrincipal,
    *,
    actions: list[str],
    resources: list[str],
    reason: str,
    conditions: dict[str, Any] | None = None,
    cross_stack: bool = False,
) -> None:
    """Add a statement to ``principal``'s policy and acknowledge its wildcards with
    ``reason`` (when the principal is a construct of this app).

    :param cross_stack: the resources refer to another stack. How the template names
        such a reference (``Fn::ImportValue``, ``Fn::GetStackOutput``) depends on the
        app's ``@aws-cdk/core:defaultCrossStackReferences`` and is settled only when
        CDK resolves references: the acknowledgment is computed then.
    """
    allow(principal, actions, resources, conditions)
    scope = acknowledgment_scope(principal)
    if cross_stack and isinstance(scope, Construct):
        scope.node.add_validation(
            _AcknowledgeResolved(scope, list(actions), list(resources), reason)
        )
        return
    acknowledge_statement(principal, actions, resources, reason)


@jsii.implements(IValidation)
class _AcknowledgeResolved:
    """Acknowledges a statement's wildcards once CDK resolved the references between
    stacks (validation runs after that, before the template is written)."""

    def __init__(
        self, principal: Construct, actions: list[str], resources: list[str], reason: str
    ) -> None:
        self._principal = principal
        self._actions = actions
        self._resources = resources
        self._reason = reason

    def validate(self) -> list[str]:
        stack = stack_of(self._principal)
        acknowledge(
            self._principal, wildcard_findings(stack, self._actions, self._resources), self._reason
        )
        return []


def acknowledge_statement(
    principal: Any, actions: Sequence[str], resources: Sequence[str], reason: str
) -> None:
    """Acknowledge the wildcards of a statement a grant method added for us."""
    principal = acknowledgment_scope(principal)
    if isinstance(principal, Construct):
        has_wildcard = any("*" in a for a in actions) or any("*" in r for r in resources)
        if has_wildcard:  # the wildcards we write are in the strings themselves
            stack = stack_of(principal)
            acknowledge(principal, wildcard_findings(stack, actions, resources), reason)


#: Actions of aws-cdk-lib's KMS grants that end in a wildcard.
KMS_ENCRYPT_DECRYPT = ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"]


def acknowledge_guard(scope: IConstruct, rule_names: Iterable[str], reason: str) -> None:
    """Acknowledge Control Tower rules of the cfn-guard plugin on ``scope``."""
    acknowledge(scope, [f"{GUARD_PLUGIN}::{name}" for name in rule_names], reason)


def skip_checkov(resource: CfnResource, check_ids: Iterable[str], reason: str) -> None:
    """Add checkov checks to the resource's ``Metadata.checkov.skip`` list, with
    ``reason`` as the comment checkov reports."""
    existing = resource.get_metadata("checkov") or {}
    skips = [dict(skip) for skip in existing.get("skip", [])]
    known = {skip["id"] for skip in skips}
    skips.extend({"id": check, "comment": reason} for check in check_ids if check not in known)
    resource.add_metadata("checkov", {"skip": skips})
