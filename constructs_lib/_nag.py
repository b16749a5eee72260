"""Acknowledgments of the compliance-pack findings (cdk-nag's AwsSolutions, NIST 800-53
rev 5, HIPAA Security) that the library's constructs cause on purpose, each with
the reason a reviewer needs, on the narrowest construct. Users then have nothing to
acknowledge about our constructs.

cdk-nag matches an acknowledgment by its exact rule id; a wildcard finding of IAM5
carries the flattened resource or action (``AwsSolutions-IAM5[Resource::<Bucket.Arn>/p/*]``),
which :func:`wildcard_findings` computes as cdk-nag does, from the statements we add.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security")


def rules(*suffixes: str, packs: Sequence[str] = PACKS) -> list[str]:
    """Rule ids of ``suffixes`` in each pack (``NIST.800.53.R5-LambdaDLQ``...)."""
    return [f"{pack}-{suffix}" for pack in packs for suffix in suffixes]


def acknowledge(scope: IConstruct, rule_ids: Iterable[str], reason: str) -> None:
    ids = sorted(set(rule_ids))
    if ids:
        Validations.of(scope).acknowledge(*(Acknowledgment(id=i, reason=reason) for i in ids))


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


def wildcard_findings(stack: Stack, actions: Iterable[str], resources: Iterable[str]) -> list[str]:
    """The AwsSolutions-IAM5 finding ids of a statement's wildcard actions and resources."""
    found = [f"AwsSolutions-IAM5[Action::{action}]" for action in actions if "*" in action]
    for resource in resources:
        flat = flatten(stack.resolve(resource))
        if "*" in flat:
            found.append(f"AwsSolutions-IAM5[Resource::{flat}]")
    return found


def add_statement(grantee: iam.IGrantable, statement: iam.PolicyStatement, reason: str) -> None:
    """Add ``statement`` to ``grantee``'s policy and acknowledge its wildcards with
    ``reason`` (when the principal is a construct of this app)."""
    principal = grantee.grant_principal
    principal.add_to_principal_policy(statement)
    acknowledge_statement(principal, statement.actions, statement.resources, reason)


def acknowledge_statement(
    principal: Any, actions: Sequence[str], resources: Sequence[str], reason: str
) -> None:
    """Acknowledge the wildcards of a statement a grant method added for us."""
    if isinstance(principal, Construct):
        stack = Stack.of(principal)
        acknowledge(principal, wildcard_findings(stack, actions, resources), reason)


#: Actions of aws-cdk-lib's KMS grants that end in a wildcard.
KMS_ENCRYPT_DECRYPT = ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"]
