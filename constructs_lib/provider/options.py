"""How a stack's provider is built (:meth:`TrainingJobProvider.configure`)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

#: The handler function's reserved concurrency unless configured: what a deploy may
#: take from the account's pool at most.
DEFAULT_MAX_CONCURRENCY = 10
#: The signalling function's (jobs in ``wait_condition`` mode): one signal per job end.
SIGNAL_CONCURRENCY = 2


@dataclass(frozen=True)
class ProviderOptions:
    """How a stack's provider is built: see :meth:`TrainingJobProvider.configure`."""

    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: tuple[ec2.ISecurityGroup, ...] | None = None
    encryption_key: kms.IKey | None = None
    log_retention: logs.RetentionDays | None = None
    tracing: bool = False
    #: The handler's reserved concurrency; None: none (the account's unreserved pool).
    max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY

    def describe(self) -> str:
        """The options as a reader of an error message wants them."""
        shown = {
            "vpc": self.vpc.node.path if self.vpc is not None else None,
            "vpc_subnets": self.vpc_subnets,
            "security_groups": (
                [g.node.path for g in self.security_groups] if self.security_groups else None
            ),
            "encryption_key": (
                self.encryption_key.node.path if self.encryption_key is not None else None
            ),
            "log_retention": self.log_retention.name if self.log_retention else None,
            "tracing": self.tracing or None,
            "max_concurrency": (
                "None"
                if self.max_concurrency is None
                else (
                    self.max_concurrency
                    if self.max_concurrency != DEFAULT_MAX_CONCURRENCY
                    else None
                )
            ),
        }
        chosen = ", ".join(f"{k}={v}" for k, v in shown.items() if v is not None)
        return f"configure({chosen})" if chosen else "the defaults (no configure)"
