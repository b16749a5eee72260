"""A full SageMaker quota: reading ResourceLimitExceeded, and whether to wait for a
slot (within the budget) or fail naming the quota."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from . import carry
from .kinds import JobKind
from .properties import (
    QUOTA_WAIT,
)
from .requests import _instance_type
from .runtime import TrainingJobError

#: SageMaker's answer when a quota is full: "The account-level service limit 'ml.p5
#: .48xlarge for training job usage' is 4 Instances, with current utilization of 4
#: Instances and a request delta of 1 Instances. ..."
_QUOTA = re.compile(
    r"service limit '(?P<name>[^']+)' is (?P<limit>\d+)[^,]*, with current utilization of "
    r"(?P<used>\d+).*? and a request delta of (?P<delta>\d+)",
    re.I,
)


@dataclass(frozen=True)
class Quota:
    """A full SageMaker quota, as its ResourceLimitExceeded message states it."""

    name: str
    limit: int
    used: int
    delta: int

    @property
    def can_fit(self) -> bool:
        """Whether the request could start once other jobs free the quota."""
        return 0 < self.delta <= self.limit


def parse_quota(message: str) -> Quota | None:
    """The quota of a ResourceLimitExceeded message; None when it names none."""
    match = _QUOTA.search(message)
    if match is None:
        return None
    return Quota(match["name"], int(match["limit"]), int(match["used"]), int(match["delta"]))


def _quota_wait(event: Mapping[str, Any]) -> float:
    """Seconds the job may wait for a quota slot (0: it may not)."""
    return float(event["ResourceProperties"].get(QUOTA_WAIT) or 0)


def _quota_full(
    event: Mapping[str, Any],
    kind: JobKind,
    *,
    name: str,
    request: Mapping[str, Any],
    message: str,
    error: ClientError,
    may_wait: bool,
) -> bool:
    """False (wait for a slot) when the quota may free up and the job may wait; else
    the error that fails the deployment, naming the quota to raise."""
    noun = kind.noun.lower()
    quota = parse_quota(message)
    quota_name = quota.name if quota else f"{_instance_type(request)} for {kind.quota_usage} usage"
    if quota is not None and not quota.can_fit:
        raise TrainingJobError(
            f"{kind.create_operation} for {noun} {name} can never fit the SageMaker quota "
            f"'{quota.name}': it is {quota.limit} and the job needs {quota.delta}. Request an "
            "increase of that quota in Service Quotas, or use another instance type or "
            "fewer instances, then deploy again."
        ) from error
    # Only a quota that states its use can be waited for: anything else fails now.
    if quota is not None and _quota_wait(event) > 0:
        archived = carry.archived_size(event) if may_wait else 0
        if archived > carry.ARCHIVE_BUDGET:
            too_large = carry.TooLargeToCarry(archived)
            raise TrainingJobError(
                f"{kind.create_operation} for {noun} {name} met a full SageMaker quota "
                f"('{quota_name}', {quota.used} of {quota.limit} in use by other jobs), and "
                f"the job cannot wait for a slot: {too_large}. Deploy again once the quota "
                "frees, request an increase in Service Quotas, queue the jobs (AWS Batch), "
                "or make the request smaller."
            ) from error
        if may_wait:
            print(json.dumps({"waiting for quota": quota_name, "job": name, "message": message}))
            return False
        raise TrainingJobError(
            f"{kind.create_operation} for {noun} {name}, which replaces the resource's job, "
            f"met a full SageMaker quota ('{quota_name}', {quota.used} of {quota.limit} in "
            "use by other jobs): a replacement does not wait for a slot, so that a "
            "rollback always finds the job it returns to. Deploy again once the quota "
            "frees, request an increase in Service Quotas, or queue the jobs (AWS Batch)."
        ) from error
    raise TrainingJobError(
        f"{kind.create_operation} for {noun} {name} exceeded a SageMaker quota: "
        f"{message} Check the quota '{quota_name}' (and the number of concurrent "
        f"{noun}s) in Service Quotas, request an increase or use another instance type, "
        "then deploy again."
    ) from error
