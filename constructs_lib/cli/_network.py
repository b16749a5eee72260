"""Whether the jobs of a stack that run in private subnets without internet can reach
S3 (the preflight's network check): SageMaker downloads a job's data and code and
uploads its model through the job's own network, so a subnet whose route table has
neither a route to the internet (an internet or NAT gateway) nor an S3 gateway
endpoint fails the job at start.

Subnets the template creates are read from it (their route tables, routes and the
VPC's endpoints); subnets it names by id (an imported VPC) from EC2
(DescribeRouteTables, DescribeVpcEndpoints).

Standard library only (the EC2 client is the caller's).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

_INTERNET_TARGETS = ("GatewayId", "NatGatewayId", "TransitGatewayId", "EgressOnlyInternetGatewayId")


def _job_vpc_configs(template: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for logical_id, resource in (template.get("Resources") or {}).items():
        properties = resource.get("Properties") or {}
        for key, request in properties.items():
            if not key.endswith("JobRequest") or not isinstance(request, Mapping):
                continue
            holders = [
                request,
                request.get("TrainingJobDefinition") or {},
                request.get("NetworkConfig") or {},
            ]
            for holder in holders:
                vpc = holder.get("VpcConfig") if isinstance(holder, Mapping) else None
                if isinstance(vpc, Mapping):
                    yield logical_id, vpc


def _ref(value: Any) -> str | None:
    if isinstance(value, Mapping) and set(value) == {"Ref"}:
        return str(value["Ref"])
    return None


def _template_subnet_reaches_s3(resources: Mapping[str, Any], subnet: str) -> bool:
    tables = {
        _ref((r.get("Properties") or {}).get("RouteTableId"))
        for r in resources.values()
        if r.get("Type") == "AWS::EC2::SubnetRouteTableAssociation"
        and _ref((r.get("Properties") or {}).get("SubnetId")) == subnet
    } - {None}
    for resource in resources.values():
        properties = resource.get("Properties") or {}
        kind = resource.get("Type")
        internet = (
            kind == "AWS::EC2::Route"
            and _ref(properties.get("RouteTableId")) in tables
            and any(properties.get(target) for target in _INTERNET_TARGETS)
        )
        s3_endpoint = (
            kind == "AWS::EC2::VPCEndpoint"
            and ".s3" in str(properties.get("ServiceName"))
            and bool(tables & {_ref(t) for t in properties.get("RouteTableIds") or []})
        )
        if internet or s3_endpoint:
            return True
    return False


def _account_subnet_reaches_s3(ec2: Any, subnet: str) -> bool:
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "association.subnet-id", "Values": [subnet]}]
    )["RouteTables"]
    if not tables:  # the VPC's main route table serves the subnet
        tables = ec2.describe_route_tables(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        )["RouteTables"]
    for table in tables:
        for route in table.get("Routes", []):
            if str(route.get("GatewayId") or "").startswith("igw-") or route.get("NatGatewayId"):
                return True
    region = ec2.meta.region_name
    endpoints = ec2.describe_vpc_endpoints(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc]},
            {"Name": "service-name", "Values": [f"com.amazonaws.{region}.s3"]},
        ]
    )["VpcEndpoints"]
    ids = {table["RouteTableId"] for table in tables}
    return any(
        endpoint.get("VpcEndpointType") == "Interface"
        or ids & set(endpoint.get("RouteTableIds", []))
        for endpoint in endpoints
    )


def unreachable_s3(template: Mapping[str, Any], ec2: Any) -> list[tuple[str, str]]:
    """Each (job, subnet) whose subnet reaches neither the internet nor S3."""
    resources = template.get("Resources") or {}
    found: list[tuple[str, str]] = []
    for job, vpc in _job_vpc_configs(template):
        for subnet in vpc.get("Subnets") or []:
            reference = _ref(subnet)
            if reference is not None:
                reaches = _template_subnet_reaches_s3(resources, reference)
                name = reference
            elif isinstance(subnet, str):
                reaches = _account_subnet_reaches_s3(ec2, subnet)
                name = subnet
            else:
                continue  # a value known only at deploy
            if not reaches:
                found.append((job, name))
    return found
