"""Where the provider's functions run: no VPC, or the configured VPC's subnets, and
the synth warning when those subnets can reach neither NAT nor the endpoints the
functions call."""

from __future__ import annotations

import json
from dataclasses import dataclass

import jsii
from aws_cdk import Annotations
from aws_cdk import aws_ec2 as ec2
from constructs import Construct, IValidation

from .._shared.stacks import stack_of
from ..security._network import selected_subnet_ids
from .options import ProviderOptions

#: What the provider's functions call, as interface endpoint service names (S3 may be
#: a gateway endpoint): SageMaker, EC2 (network interfaces on delete), CloudFormation
#: (the stack's status), Step Functions (the handler hands a wait on to the waiting
#: state machine) and S3
#: (CloudFormation's response URL, the wait condition's URL). CloudWatch Logs needs
#: none: Lambda delivers the functions' logs itself.
ENDPOINT_SERVICES = ("sagemaker.api", "ec2", "cloudformation", "states", "s3")
ENDPOINTS_WARNING_ID = "constructs-lib:provider-endpoints"


@dataclass(frozen=True)
class Network:
    """Where the library's functions run."""

    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: list[ec2.ISecurityGroup] | None = None


def endpoint_services(
    *, tracing: bool = False, queues: bool = False
) -> list[ec2.InterfaceVpcEndpointAwsService]:
    """The interface endpoints of :data:`ENDPOINT_SERVICES` (S3 aside: best a gateway),
    X-Ray's with ``tracing``, AWS Batch's with ``queues``."""
    services = [
        ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
        ec2.InterfaceVpcEndpointAwsService.EC2,
        ec2.InterfaceVpcEndpointAwsService.CLOUDFORMATION,
        ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
    ]
    if tracing:
        services.append(ec2.InterfaceVpcEndpointAwsService.XRAY)
    if queues:
        services.append(ec2.InterfaceVpcEndpointAwsService.BATCH)
    return services


def function_network(scope: Construct, options: ProviderOptions) -> Network:
    """Where every function of the library runs (no VPC by default)."""
    vpc = options.vpc
    if vpc is None:
        return Network()
    selection = options.vpc_subnets or ec2.SubnetSelection(
        subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
        if vpc.private_subnets
        else ec2.SubnetType.PRIVATE_ISOLATED
    )
    subnet_ids = selected_subnet_ids(vpc, selection)
    if not subnet_ids:
        raise ValueError(
            f"[{scope.node.path}] TrainingJobProvider.configure: vpc_subnets: {selection!r} "
            f"is invalid: it selects no subnet of {vpc.node.path}"
        )
    groups = options.security_groups
    if groups is None:
        group = ec2.SecurityGroup(
            scope,
            "FunctionsSecurityGroup",
            vpc=vpc,
            description="Training job provider functions: HTTPS to AWS APIs only",
            allow_all_outbound=False,
        )
        group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "HTTPS to AWS APIs")
        groups = (group,)
    scope.node.add_validation(_EndpointsReachable(scope, options, vpc, subnet_ids))
    return Network(vpc=vpc, vpc_subnets=selection, security_groups=list(groups))


@jsii.implements(IValidation)
class _EndpointsReachable:
    """Warns when the provider's subnets have neither NAT nor the endpoints its
    functions call (read at synthesis: endpoints may be added after configure)."""

    def __init__(
        self, scope: Construct, options: ProviderOptions, vpc: ec2.IVpc, subnet_ids: list[str]
    ) -> None:
        self._scope = scope
        self._options = options
        self._vpc = vpc
        self._subnet_ids = subnet_ids

    def validate(self) -> list[str]:
        with_egress = {subnet.subnet_id for subnet in self._vpc.private_subnets}
        if all(subnet_id in with_egress for subnet_id in self._subnet_ids):
            return []
        needed = list(ENDPOINT_SERVICES)
        if self._options.tracing:
            needed.append("xray")
        if getattr(self._scope, "uses_queues", False):
            needed.append("batch")
        present = _endpoint_services(self._scope, self._vpc)
        missing = [service for service in needed if service not in present]
        if missing:
            Annotations.of(self._scope).add_warning_v2(
                ENDPOINTS_WARNING_ID,
                f"The provider's functions run in subnets of {self._vpc.node.path} without "
                "a NAT route, and this app defines no VPC endpoint there for: "
                f"{', '.join(missing)}. Without them the functions cannot reach those "
                "services and every deploy of a training job hangs until CloudFormation "
                "times out. Add interface endpoints (vpc.add_interface_endpoint(...); "
                "a gateway endpoint for s3), select subnets with egress, or acknowledge "
                "this warning if the VPC has them outside this app.",
            )
        return []


def _endpoint_services(scope: Construct, vpc: ec2.IVpc) -> set[str]:
    """The services of the VPC endpoints this app defines for ``vpc`` (the last
    parts of their service names, e.g. ``sagemaker.api``)."""
    vpc_id = vpc.vpc_id
    found: set[str] = set()
    for construct in scope.node.root.node.find_all():
        if isinstance(construct, ec2.CfnVPCEndpoint) and construct.vpc_id == vpc_id:
            # A plain string, or a token that resolves to one joined with the region.
            name = json.dumps(stack_of(construct).resolve(construct.service_name))
            for service in (*ENDPOINT_SERVICES, "xray", "batch"):
                if name.endswith(f'.{service}"') or name.endswith(f'.{service}"]]}}'):
                    found.add(service)
    return found
