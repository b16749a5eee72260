"""A training job's AWS Batch settings (``TrainingJob(queue=..., scheduling_priority=...,
share=...)``), checked at synth: what the queue can run and what its scheduling
policy asks of a job; and the rule whose Batch events end a queued job's wait."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Duration
from aws_cdk import aws_events as events
from constructs import Construct

from ..core._timing import SECONDS
from ._queue import MAX_SCHEDULING_PRIORITY, FairShare, ITrainingQueue

#: The EventBridge detail-type of a service job's state changes, and its ends.
SERVICE_JOB_STATE_CHANGE = "Batch Service Job State Change"
ENDED_SERVICE_JOB_STATUSES = ("SUCCEEDED", "FAILED")


QUEUED_WAIT_WARNING_ID = "constructs-lib:queued-wait"


def warn_if_waiting_is_short(scope: Construct, longest_run: float | None) -> None:
    """A queued job in ``Completion.wait()`` mode: CloudFormation's hour holds the
    time queued and the run; say how much the run leaves for the queue."""
    budget = SECONDS["MAX_SERVICE_TIMEOUT"] - SECONDS["DEADLINE_HEADROOM"]
    run = SECONDS["MAX_WAITED_RUNTIME"] if longest_run is None else int(longest_run)
    room = max(0, int(budget - run))
    Annotations.of(scope).add_warning_v2(
        QUEUED_WAIT_WARNING_ID,
        f"completion: with Completion.wait() the deploy waits {budget // 60:.0f} minutes "
        f"for the queued job in all: its run may take {run // 60:.0f}, which leaves "
        f"{room // 60:.0f} minutes for the queue and the job's start. A busier queue "
        "fails the deploy: leave completion unset (a queued job then waits up to 12 "
        "hours for AWS Batch's event), or acknowledge this warning.",
    )


def refuse_queue(scope: Construct, queue: ITrainingQueue | None) -> None:
    """A tuning job's ``queue``: AWS Batch queues training jobs only."""
    if queue is not None:
        raise ValueError(
            f"[{scope.node.path}] queue: {queue.node.path} is invalid for a tuning job: "
            "AWS Batch queues SageMaker training jobs only (service job type "
            "SAGEMAKER_TRAINING), not hyperparameter tuning jobs. Queue TrainingJobs, or "
            "bound the tuning job's use of the GPUs with max_parallel_jobs."
        )


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
    if queue is None:
        for prop, value in (("scheduling_priority", scheduling_priority), ("share", share)):
            if value is not None:
                raise ValueError(
                    f"[{scope.node.path}] {prop}: {value!r} is invalid without a queue: it "
                    "is a setting of AWS Batch's queue (set queue=TrainingQueue(...))"
                )
        return None  # no call to the JavaScript side: most jobs have no queue
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
        raise ValueError(f"[{scope.node.path}] " + "; ".join(problems))
    settings: dict[str, Any] = {"JobQueue": queue.job_queue_arn}
    if scheduling_priority is not None:
        settings["SchedulingPriority"] = scheduling_priority
    if share is not None:
        settings["ShareIdentifier"] = share
    return settings


#: The service job statuses of each TrainingJobStatus of the job Batch started.
BATCH_STATUSES = {
    "InProgress": ("SCHEDULED", "STARTING", "RUNNING"),
    "Completed": ("SUCCEEDED",),
    "Failed": ("FAILED",),
    "Stopped": ("FAILED",),
    "Stopping": (),
}


def batch_statuses(statuses: list[str] | None) -> list[str] | None:
    """The service job statuses that stand for training job ``statuses`` (None: all)."""
    if statuses is None:
        return None
    return list(dict.fromkeys(s for status in statuses for s in BATCH_STATUSES.get(status, ())))


def service_job_rule(
    scope: Construct,
    construct_id: str,
    service_job_arn: str,
    *,
    statuses: list[str] | None = list(ENDED_SERVICE_JOB_STATUSES),  # noqa: B006 - never mutated
    description: str | None = None,
    rule_name: str | None = None,
    target: events.IRuleTarget | None = None,
) -> events.Rule:
    """A rule for the "Batch Service Job State Change" events of the service job
    ``service_job_arn`` in ``statuses`` (Batch's; None: all; by default its end, which
    signals a queued job's wait)."""
    detail: dict[str, Any] = {"jobArn": [service_job_arn]}
    if statuses:
        detail["status"] = statuses
    rule = events.Rule(
        scope,
        construct_id,
        description=description
        or f"State changes of the AWS Batch service job of training job {scope.node.path}",
        rule_name=rule_name,
        event_pattern=events.EventPattern(
            source=["aws.batch"], detail_type=[SERVICE_JOB_STATE_CHANGE], detail=detail
        ),
    )
    if target is not None:
        rule.add_target(target)
    return rule
