"""The execution role's grants for what a job's training definition names: image,
input channels, output, checkpoints, debugger/profiler outputs, volume key and VPC.
Shared by every kind of job (a tuning job's training jobs need what one training
job needs)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..definition._code import CodeConfig
from ..definition._data import TrainingInput
from ..definition._image import ImageConfig
from ..definition._request import TrainingJobProps
from ..security._ecr_pull import grant_repository_pull
from ..security._network import grant_network_interfaces


def grant_execution_role(
    job: Construct,
    grantee: iam.IGrantable,
    props: TrainingJobProps,
    *,
    image: ImageConfig | None,
    code: CodeConfig | None = None,
    inputs: Sequence[TrainingInput],
    subnet_ids: Sequence[str],
    security_groups: Sequence[ec2.ISecurityGroup],
    owned_role: iam.Role | None,
) -> None:
    """Grant ``grantee`` (the job, whose principal is its execution role) what the
    job's definition needs."""
    principal = grantee.grant_principal
    if image is not None and image.repository_arn is not None:
        grant_repository_pull(principal, image.repository_arn)
    elif image is not None:
        image.grant_pull(grantee)
    if code is not None:
        code.grant_read(grantee)
    for channel in inputs:
        channel.grant_read(grantee)
    if props.vpc is not None:
        grant_network_interfaces(
            job,
            principal,
            vpc=props.vpc,
            subnet_ids=subnet_ids,
            security_groups=security_groups,
            owned_role=owned_role,
        )
    props.output.grant_write(grantee)
    if props.checkpoint is not None:
        props.checkpoint.grant(grantee)
    outputs = [
        props.debug_hook.output if props.debug_hook else None,
        props.profiler.output if props.profiler else None,
        props.tensor_board_output.output if props.tensor_board_output else None,
        *(rule.output for rule in (*props.debug_rules, *props.profiler_rules)),
    ]
    for location in outputs:
        if location is not None:
            location.grant_write(grantee)
    if props.volume_encryption_key is not None:
        grant_volume_key(principal, props.volume_encryption_key)


def grant_volume_key(principal: iam.IPrincipal, key: kms.IKey) -> None:
    """What SageMaker needs to attach a job's volume encrypted with ``key``: a grant on
    the key, for SageMaker only."""
    principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
    )
