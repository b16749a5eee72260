"""A training job's AWS Batch settings (``TrainingJob(queue=..., scheduling_priority=...,
share=...)``), checked at synth: what the queue can run, what its scheduling policy
asks of a job, and the completion modes a queued job supports."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from constructs import Construct

from .completion import Completion, CompletionMode
from .queue import MAX_SCHEDULING_PRIORITY, FairShare, ITrainingQueue


def queue_settings(
    scope: Construct,
    *,
    queue: ITrainingQueue | None,
    scheduling_priority: int | None,
    share: str | None,
    instances: int,
    completion: Completion,
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
    if completion.mode == CompletionMode.WAIT_CONDITION:
        problems.append(
            "completion: Completion.wait_condition() is not supported for a queued job yet "
            "(its state changes come from AWS Batch): use Completion.wait() or "
            "Completion.none()"
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
