"""Grants to pull a training image from ECR: the repository's pull actions, and
ecr:GetAuthorizationToken, which IAM allows on '*' only (acknowledged as such)."""

from __future__ import annotations

from aws_cdk import aws_iam as iam

from ._compact import allow
from ._nag import acknowledge_statement, add_statement

_TOKEN_REASON = (
    "ecr:GetAuthorizationToken supports no resource scoping: IAM requires '*'. The "
    "pull itself is scoped to the image's repository."
)


def acknowledge_token(grantee: iam.IGrantable) -> None:
    """aws-cdk-lib's grant_pull adds ecr:GetAuthorizationToken on '*'."""
    acknowledge_statement(
        grantee.grant_principal, ["ecr:GetAuthorizationToken"], ["*"], _TOKEN_REASON
    )


def grant_repository_pull(principal: iam.IPrincipal, repository_arn: str) -> None:
    """Pull the images of one ECR repository (without the authorization token)."""
    allow(principal, list(ECR_PULL_ACTIONS), [repository_arn])


ECR_PULL_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr:BatchGetImage",
)


def grant_ecr_pull(grantee: iam.IGrantable, repository_arn: str) -> None:
    grant_repository_pull(grantee.grant_principal, repository_arn)
    add_statement(
        grantee.grant_principal,
        actions=["ecr:GetAuthorizationToken"],
        resources=["*"],
        reason=_TOKEN_REASON,
    )
