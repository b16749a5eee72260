"""Subnet selection shared by the jobs and the provider's functions, and a job's
network: its security groups, its ``VpcConfig`` and the grants SageMaker needs to
attach network interfaces (shared by every kind of job)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum
from typing import Any

from aws_cdk import Annotations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from .._shared.stacks import stack_of
from ._nag import acknowledge, add_statement, rules, skip_checkov

_SELECTION_FIELDS = (
    "availability_zones",
    "one_per_az",
    "subnet_filters",
    "subnet_group_name",
    "subnets",
    "subnet_type",
)


def selected_subnet_ids(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> list[str]:
    """The ids of the subnets ``selection`` picks in ``vpc`` (the VPC's default
    selection, private subnets, when None). A selection arrives as a Python struct
    whose unset fields are None: only the set ones go to ``select_subnets``."""
    chosen = {f: getattr(selection, f) for f in _SELECTION_FIELDS} if selection is not None else {}
    selected = vpc.select_subnets(**{k: v for k, v in chosen.items() if v is not None})
    return list(selected.subnet_ids)


def describe_selection(selection: ec2.SubnetSelection | None) -> str:
    """``SubnetSelection(subnet_type=PRIVATE_WITH_EGRESS)``: the fields set."""
    if selection is None:
        return "the VPC's default selection (private subnets)"
    fields = []
    for name in _SELECTION_FIELDS:
        value = getattr(selection, name)
        if value is not None:
            fields.append(f"{name}={value.name if isinstance(value, Enum) else repr(value)}")
    return f"SubnetSelection({', '.join(fields)})"


# ---------------------------------------------------------------------------
# A job's network: security groups, VpcConfig, and what SageMaker needs in the VPC
# ---------------------------------------------------------------------------

NO_S3_ROUTE_WARNING_ID = "constructs-lib:no-s3-route"
PUBLIC_SUBNETS_WARNING_ID = "constructs-lib:public-subnets"


def job_security_groups(
    scope: Construct,
    *,
    vpc: ec2.IVpc | None,
    vpc_subnets: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup] | None,
    instances: int,
    noun: str,
) -> list[ec2.ISecurityGroup]:
    """The security groups of a job: the given ones, or one created for it which,
    for several instances, lets them reach each other."""
    if vpc is None:
        if vpc_subnets is not None or security_groups is not None:
            raise ValueError(
                f"[{scope.node.path}] vpc: None is invalid: vpc_subnets and "
                "security_groups need a vpc"
            )
        return []
    if security_groups is not None:
        return list(security_groups)
    group = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=vpc,
        description=f"{noun} {scope.node.path}",
        allow_all_outbound=True,
    )
    if instances > 1:
        # Distributed training: SageMaker needs the instances to reach each other.
        # Ingress from the group itself; all outbound is allowed already (an egress
        # rule would be ignored, with a warning).
        group.add_ingress_rule(
            group, ec2.Port.all_traffic(), f"Between the instances of the {noun.lower()}"
        )
        acknowledge(
            group,
            rules("EC2RestrictedCommonPorts", packs=("NIST.800.53.R5", "HIPAA.Security")),
            "The only ingress is from this security group itself: the job's own "
            "instances, which distributed training connects on dynamic ports.",
        )
    return [group]


def job_vpc_config(
    scope: Construct,
    *,
    vpc: ec2.IVpc,
    vpc_subnets: ec2.SubnetSelection | None,
    security_groups: Sequence[ec2.ISecurityGroup],
) -> tuple[dict[str, Any], list[str]]:
    """The job's ``VpcConfig`` and its subnet ids; warns when the subnets cannot
    reach S3."""
    try:
        subnet_ids = selected_subnet_ids(vpc, vpc_subnets)
    except RuntimeError as error:  # aws-cdk-lib's answer, without path or prop
        # Its first line, without the error's code name ("ThereSubnetGroups: ...").
        reason = re.sub(r"^[A-Za-z]+: ", "", str(error).split("\n", 1)[0])
        raise ValueError(
            f"[{scope.node.path}] vpc_subnets: {describe_selection(vpc_subnets)} is invalid: "
            f"{vpc.node.path} cannot provide it: {reason}"
        ) from None
    if not subnet_ids:
        raise ValueError(
            f"[{scope.node.path}] vpc_subnets: {vpc_subnets!r} is invalid: it "
            f"selects no subnet of {vpc.node.path}"
        )
    _warn_without_s3_route(scope, vpc, subnet_ids)
    _warn_of_public_subnets(scope, vpc, subnet_ids)
    config = {
        "SecurityGroupIds": [g.security_group_id for g in security_groups],
        "Subnets": subnet_ids,
    }
    return config, subnet_ids


def _warn_without_s3_route(scope: Construct, vpc: ec2.IVpc, subnet_ids: list[str]) -> None:
    with_egress = {subnet.subnet_id for subnet in vpc.private_subnets}
    if all(subnet_id in with_egress for subnet_id in subnet_ids):
        return
    if _has_s3_gateway_endpoint(scope, vpc):
        return
    Annotations.of(scope).add_warning_v2(
        NO_S3_ROUTE_WARNING_ID,
        "The selected subnets have no NAT route, and no S3 gateway endpoint of "
        f"{vpc.node.path} is in this app: the job could not download its data and "
        "would hang. Add one (vpc.add_gateway_endpoint('S3', service="
        "ec2.GatewayVpcEndpointAwsService.S3)), select subnets with egress, or "
        "acknowledge this warning if the VPC has an endpoint outside this app.",
    )


def _warn_of_public_subnets(scope: Construct, vpc: ec2.IVpc, subnet_ids: list[str]) -> None:
    public = {subnet.subnet_id for subnet in vpc.public_subnets}
    chosen = [subnet_id for subnet_id in subnet_ids if subnet_id in public]
    if not chosen:
        return
    Annotations.of(scope).add_warning_v2(
        PUBLIC_SUBNETS_WARNING_ID,
        f"The job runs in public subnets of {vpc.node.path}: SageMaker gives training "
        "instances no public IP, so the job has no internet there (a requirements.txt, "
        "downloads from anywhere but S3 through an endpoint fail, and the job hangs or "
        "fails after it started). Select private subnets with a NAT route "
        "(vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)), "
        "or isolated ones with the endpoints the job needs.",
    )


def _has_s3_gateway_endpoint(scope: Construct, vpc: ec2.IVpc) -> bool:
    """Whether the app defines an S3 gateway endpoint for ``vpc``."""
    vpc_id = vpc.vpc_id
    for construct in scope.node.root.node.find_all():
        if (
            isinstance(construct, ec2.CfnVPCEndpoint)
            and construct.vpc_id == vpc_id
            and str(construct.service_name).endswith(".s3")
            and construct.vpc_endpoint_type in (None, "Gateway")
        ):
            return True
    return False


def grant_network_interfaces(
    scope: Construct,
    principal: iam.IPrincipal,
    *,
    vpc: ec2.IVpc,
    subnet_ids: Sequence[str],
    security_groups: Sequence[ec2.ISecurityGroup],
    owned_role: iam.Role | None,
) -> None:
    """What SageMaker needs to attach the job's network interfaces in the VPC.

    :param owned_role: the job's own role (then checkov's finding about the one
        unscoped action is skipped on it), or None for a role the user gave.
    """
    stack = stack_of(scope)

    def arn(resource: str, name: str) -> str:
        return stack.format_arn(service="ec2", resource=resource, resource_name=name)

    # The Describe* actions support no resource scoping: IAM requires "*".
    add_statement(
        principal,
        actions=[
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeVpcs",
            "ec2:DescribeDhcpOptions",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
        ],
        resources=["*"],
        reason="The ec2:Describe* calls SageMaker makes for a VPC job support no resource "
        "scoping: IAM requires '*'. They only read.",
    )
    add_statement(
        principal,
        actions=["ec2:CreateNetworkInterface"],
        resources=[
            arn("network-interface", "*"),
            *(arn("subnet", subnet) for subnet in subnet_ids),
            *(arn("security-group", group.security_group_id) for group in security_groups),
        ],
        reason="A new network interface has no id yet: network-interface/* is allowed "
        "only together with the job's own subnets and security groups.",
    )
    add_statement(
        principal,
        actions=["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"],
        resources=[arn("network-interface", "*")],
        conditions={"ArnEquals": {"ec2:Vpc": vpc.vpc_arn}},
        reason="SageMaker's network interfaces get ids at run time; the ec2:Vpc condition "
        "limits these actions to interfaces in the job's VPC.",
    )
    # DeleteNetworkInterfacePermission names a permission id, not a resource the
    # policy can scope: IAM requires "*".
    reason = (
        "ec2:DeleteNetworkInterfacePermission names a permission id, not a resource a "
        "policy can scope: IAM requires '*'."
    )
    add_statement(
        principal,
        actions=["ec2:DeleteNetworkInterfacePermission"],
        resources=["*"],
        reason=reason,
    )
    if owned_role is not None:
        skip_checkov(owned_role.node.default_child, ["CKV_AWS_109"], reason)  # type: ignore[arg-type]
