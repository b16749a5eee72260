"""A training job's AWS Batch settings (``TrainingJob(queue=..., scheduling_priority=...,
share=...)``), checked at synth: what the queue can run and what its scheduling
policy asks of a job; and the rule whose Batch events end a queued job's wait."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from constructs import Construct

from .training_queue import MAX_SCHEDULING_PRIORITY, FairShare, ITrainingQueue

#: The EventBridge detail-type of a service job's state changes, and its ends.
SERVICE_JOB_STATE_CHANGE = "Batch Service Job State Change"
ENDED_SERVICE_JOB_STATUSES = ("SUCCEEDED", "FAILED")


def queue_settings(
    scope: Construct,
    *,
    queue: ITrainingQueue | None,
    scheduling_priority: int | None,
    share: str | None,
    instances: int,
    max_quota_wait: Duration | None,
) -> dict[str, Any] | None:
    """The resource's queue property (``handler.properties.QUEUE``), None for a job
    SageMaker starts directly; a ValueError naming the prop for what Batch or the
    library would refuse."""
    path = scope.node.path
    if queue is None:
        for prop, value in (("scheduling_priority", scheduling_priority), ("share", share)):
            if value is not None:
                raise ValueError(
                    f"[{path}] {prop}: {value!r} is invalid without a queue: it is a setting "
                    "of AWS Batch's queue (set queue=TrainingQueue(...))"
                )
        return None
    problems: list[str] = []
    if scheduling_priority is not None and not (
        isinstance(scheduling_priority, int) and 0 <= scheduling_priority <= MAX_SCHEDULING_PRIORITY
    ):
        problems.append(
            f"scheduling_priority: {scheduling_priority!r} is invalid: AWS Batch takes a "
            f"whole number from 0 to {MAX_SCHEDULING_PRIORITY}"
        )
    capacity = queue.max_instances
    if capacity is not None and instances > capacity:
        problems.append(
            f"queue: the job needs {instances} instances, more than queue "
            f"{queue.node.path} runs at once (max_instances={capacity}): it would wait in "
            "the queue forever"
        )
    fair = queue.fair_share
    if share is not None and fair is False:
        problems.append(
            f"share: {share!r} is invalid: queue {queue.node.path} has no fair-share "
            "policy (AWS Batch refuses a share identifier there)"
        )
    if share is None and (fair is True or isinstance(fair, FairShare)):
        problems.append(
            f"share: (missing) is invalid: queue {queue.node.path} has a fair-share policy, "
            "and AWS Batch requires each job to name its share"
        )
    if share is not None and (not share or len(share) > 255 or "*" in share):
        problems.append(
            f"share: {share!r} is invalid: a share identifier has 1 to 255 characters, no '*'"
        )
    if max_quota_wait is not None:
        problems.append(
            "max_quota_wait: a queued job does not wait for a SageMaker quota slot: AWS "
            "Batch starts it when its queue has capacity"
        )
    if problems:
        raise ValueError(f"[{path}] " + "; ".join(problems))
    settings: dict[str, Any] = {"JobQueue": queue.job_queue_arn}
    if scheduling_priority is not None:
        settings["SchedulingPriority"] = scheduling_priority
    if share is not None:
        settings["ShareIdentifier"] = share
    return settings


def service_job_rule(scope: Construct, construct_id: str, service_job_arn: str) -> events.Rule:
    """A rule for the end of the service job ``service_job_arn`` ("Batch Service Job
    State Change" events, SUCCEEDED or FAILED): it signals a queued job's wait."""
    return events.Rule(
        scope,
        construct_id,
        description=f"End of the AWS Batch service job of training job {scope.node.path}",
        event_pattern=events.EventPattern(
            source=["aws.batch"],
            detail_type=[SERVICE_JOB_STATE_CHANGE],
            detail={"jobArn": [service_job_arn], "status": list(ENDED_SERVICE_JOB_STATUSES)},
        ),
    )
