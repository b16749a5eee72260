"""A deploy's worst case in instance-hours, read from a synthesized template: each job
resource's instances times the longest they can run (``preflight --cost``).

A job runs at most its own limit: a training job its ``MaxRuntimeInSeconds``, a spot
training job its ``MaxWaitTimeInSeconds`` (its waiting for capacity included: the
worst case), a tuning job each of its ``MaxNumberOfTrainingJobs`` to its limit, a
processing job its ``MaxRuntimeInSeconds``. It also runs no longer than the deploy
waits for it: when CloudFormation gives up (the resource's ``ServiceTimeout``, or its
wait condition's ``Timeout``), the rollback deletes the resource, which stops a running
job. A batch transform has no limit of its own, so the deploy's wait bounds it; a job
nothing waits for (``Completion.none()``) and without a limit is unbounded, and said
so.

Standard library only: the ``cli`` reads templates, it imports no AWS CDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..handler.kinds import PROCESSING, TRAINING, TUNING, JobKind
from ._needs import (
    instances_of,
    job_ends,
    job_requests,
    single_cluster,
    training_usage,
    whole_number,
)

_HOUR = 3600.0


@dataclass(frozen=True)
class JobHours:
    """The worst case of one job resource on one instance type: ``instance_hours``
    (None: nothing bounds the job), ``instances`` at once, and what bounds it."""

    logical_id: str
    instance_type: str
    usage: str
    instances: int
    instance_hours: float | None
    bound: str


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes // 60} h"
    if minutes > 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes} min"


def deploy_wait(resources: Mapping[str, Any], logical_id: str) -> int | None:
    """How long the deploy waits for the job (None: nothing waits): the resource's
    ``WaitTimeoutSeconds`` (else ``ServiceTimeout``) when it waits itself, else its
    wait conditions' ``Timeout``."""
    properties = resources[logical_id].get("Properties") or {}
    ends = job_ends(resources, logical_id)
    if ends == {logical_id}:
        # The provider gives up at WaitTimeoutSeconds, CloudFormation at ServiceTimeout.
        own = whole_number(properties.get("WaitTimeoutSeconds"))
        return own if own is not None else whole_number(properties.get("ServiceTimeout"))
    timeouts = [
        seconds
        for end in ends
        if (seconds := whole_number((resources[end].get("Properties") or {}).get("Timeout")))
        is not None
    ]
    return max(timeouts) if timeouts else None


def _bounded(limit: int | None, limit_name: str, wait: int | None) -> tuple[int | None, str]:
    """The seconds a job runs at most, and what bounds them: its own limit, or the
    deploy's wait where that ends sooner."""
    if limit is not None and (wait is None or limit <= wait):
        return limit, f"{limit_name} {_duration(limit)}"
    if wait is not None:
        return wait, f"the deploy's wait {_duration(wait)}"
    return None, "no limit of its own, and nothing waits for it (unbounded)"


def _training_limit(definition: Mapping[str, Any]) -> tuple[int | None, str]:
    """A training job's own limit: its max wait on spot capacity, else its max
    runtime."""
    stopping = definition.get("StoppingCondition") or {}
    if training_usage(definition) == "spot training job":
        max_wait = whole_number(stopping.get("MaxWaitTimeInSeconds"))
        if max_wait is not None:
            return max_wait, "max wait"
    return whole_number(stopping.get("MaxRuntimeInSeconds")), "max runtime"


def _instances(count: int) -> str:
    return f"{count} instance" if count == 1 else f"{count} instances"


def _hours(instances: int, seconds: int | None, runs: int = 1) -> float | None:
    return None if seconds is None else instances * runs * seconds / _HOUR


def _tuning(logical_id: str, request: Mapping[str, Any], wait: int | None) -> list[JobHours]:
    """A tuning job's training jobs: each of ``MaxNumberOfTrainingJobs`` up to its own
    limit, unless its parallel jobs running the whole time the tuning job may (its
    ``MaxRuntimeInSeconds``, or the deploy's wait) make fewer."""
    limits = (request.get("HyperParameterTuningJobConfig") or {}).get("ResourceLimits") or {}
    runs = whole_number(limits.get("MaxNumberOfTrainingJobs")) or 1
    parallel = whole_number(limits.get("MaxParallelTrainingJobs")) or 1
    whole, whole_bound = _bounded(
        whole_number(limits.get("MaxRuntimeInSeconds")), "the tuning job's max runtime", wait
    )
    found: list[JobHours] = []
    for definition in (
        request.get("TrainingJobDefinition"),
        *(request.get("TrainingJobDefinitions") or []),
    ):
        if not isinstance(definition, Mapping):
            continue
        limit, name = _training_limit(definition)
        usage = training_usage(definition)
        for instance_type, count in instances_of(definition, 1):
            each = _hours(count, limit, runs)
            at_once = _hours(count * parallel, whole)
            instances = _instances(count)
            if at_once is not None and (each is None or at_once < each):
                hours = at_once
                bound = f"{parallel} parallel jobs x {instances} for {whole_bound}"
            elif each is not None:
                hours = each
                bound = f"{runs} jobs x {instances} for {name} {_duration(limit or 0)}"
            else:
                hours, bound = None, whole_bound
            found.append(JobHours(logical_id, instance_type, usage, count * parallel, hours, bound))
    return found


def job_hours(
    logical_id: str, kind: JobKind, request: Mapping[str, Any], wait: int | None
) -> list[JobHours]:
    """The worst case of a job of ``kind`` with the Create ``request``, which the deploy
    waits for up to ``wait`` seconds (None: nothing waits)."""
    if kind is TRAINING:
        seconds, bound = _bounded(*_training_limit(request), wait)
        usage = training_usage(request)
        return [
            JobHours(logical_id, t, usage, n, _hours(n, seconds), f"{_instances(n)} for {bound}")
            for t, n in instances_of(request, 1)
        ]
    if kind is TUNING:
        return _tuning(logical_id, request, wait)
    cluster = single_cluster(kind, request)
    if cluster is None:
        return []
    instance_type, usage, number = cluster
    if kind is PROCESSING:
        stopping = request.get("StoppingCondition") or {}
        limit = whole_number(stopping.get("MaxRuntimeInSeconds"))
        seconds, bound = _bounded(limit, "max runtime", wait)
    else:  # A batch transform has no limit of its own: the deploy's wait bounds it.
        seconds, bound = _bounded(None, "", wait)
    return [
        JobHours(
            logical_id,
            instance_type,
            usage,
            number,
            _hours(number, seconds),
            f"{_instances(number)} for {bound}",
        )
    ]


def worst_case(template: Mapping[str, Any]) -> list[JobHours]:
    """Each job resource's worst case in the stack of ``template``, in template order."""
    resources: Mapping[str, Any] = template.get("Resources") or {}
    return [
        found
        for logical_id, kind, request in job_requests(resources)
        for found in job_hours(logical_id, kind, request, deploy_wait(resources, logical_id))
    ]
