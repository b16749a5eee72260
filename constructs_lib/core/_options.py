"""What every job kind takes beside its definition, captured once from its
constructor's arguments: who runs the job, how the deployment waits for it, what a
delete does to it, how long a full quota is waited out, and the gate on its metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam

from ._completion import Completion
from ._quality_gate import MetricThreshold


@dataclass(frozen=True, kw_only=True)
class JobOptions:
    """A job construct's ``role``, ``completion``, ``removal_policy``,
    ``max_quota_wait`` and ``quality_gate`` (see ``TrainingJob`` for each)."""

    role: iam.IRole | None = None
    completion: Completion | None = None
    removal_policy: RemovalPolicy = RemovalPolicy.RETAIN
    max_quota_wait: Duration | None = None
    quality_gate: Sequence[MetricThreshold] | None = None

    @classmethod
    def of(cls, arguments: Mapping[str, Any], **given: Any) -> JobOptions:
        """The options among a constructor's ``arguments`` (``given`` ones win: a
        kind whose role comes from elsewhere, such as a tuning job's definition)."""
        names = ("role", "completion", "removal_policy", "max_quota_wait", "quality_gate")
        return cls(**{name: arguments[name] for name in names if name in arguments}, **given)
