"""Subnet selection shared by the jobs and the provider's functions."""

from __future__ import annotations

from aws_cdk import aws_ec2 as ec2

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
