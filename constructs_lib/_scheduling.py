"""``job.retrain_on_schedule(...)`` of the job constructs: light, so that an app that
schedules nothing imports neither ``_schedule.py`` nor ``aws_scheduler``; and the
event names a job's own rules match (the deploy's job, and its scheduled runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import IStableAnyProducer, Lazy
from constructs import Construct

if TYPE_CHECKING:
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_scheduler as scheduler

    from .handler.kinds import JobKind
    from .registry import IModelPackageGroup


@jsii.implements(IStableAnyProducer)
class _Names:
    """The job names a job's rule matches: its own, and (once it has a schedule) the
    prefix of its scheduled runs, read at synth."""

    def __init__(self, job_name: str, job: object) -> None:
        self._job_name = job_name
        self._job = job

    def produce(self) -> Any:
        prefix = getattr(self._job, "_scheduled_prefix", None)
        return [self._job_name, *([{"prefix": f"{prefix}-"}] if prefix else [])]


def rule_names(job: object, job_name: str) -> Any:
    """What ``job``'s rules match by name: the job, and (once it has a schedule:
    ``retrain_on_schedule``) its runs' prefix, read at synth (see :class:`_Names`)."""
    return Lazy.any(_Names(job_name, job))


@dataclass(frozen=True)
class ScheduleParts:
    """What a job construct tells its schedule: the request each run sends and how a
    run's name goes into it."""

    kind: JobKind
    request: dict[str, Any]
    #: The job's name prefix (or fixed name), which the runs' names start with.
    prefix: str
    role: iam.IRole
    #: Hyperparameters and request members holding the job's name.
    by_job_name: dict[str, dict[str, str]] = field(default_factory=dict)
    named_locations: dict[str, dict[str, str]] = field(default_factory=dict)
    #: A queued job's AWS Batch settings.
    queue: dict[str, Any] | None = None


class RetrainsOnSchedule:
    """``retrain_on_schedule`` of a job construct, from what :meth:`_schedule_parts`
    says of it."""

    #: The prefix of the scheduled runs' names, once the job has a schedule.
    _scheduled_prefix: str | None = None

    def _schedule_parts(self) -> ScheduleParts:
        """What the schedule's runs are made of."""
        raise NotImplementedError

    def retrain_on_schedule(
        self,
        schedule: scheduler.ScheduleExpression,
        *,
        register: IModelPackageGroup | None = None,
        enabled: bool = True,
    ) -> scheduler.Schedule:
        """Retrain on ``schedule`` (``ScheduleExpression.cron(...)``, ``.rate(...)``)
        outside the deploy: an EventBridge Scheduler schedule whose universal target
        sends SageMaker this job's own request (validated at synth), each run under its
        own name, ``<prefix>-<aws.scheduler.execution-id>``; no Lambda. Each run's
        model is registered as a new version of ``register`` when given (the
        request's ``ModelPackageConfig``). The schedule's role may create jobs of that
        prefix only and pass exactly the job's execution role, which has the job's
        grants; the runs' state changes reach the job's ``on_state_change`` rules. A
        queued job's runs are submitted to its AWS Batch queue
        (``batch:submitServiceJob``), as the deploy submits it.

        :param schedule: when to run.
        :param register: a model package group each run registers its model in;
            default: none.
        :param enabled: default: on.
        """
        from . import _schedule  # noqa: PLC0415 - loaded when used

        scope = self if isinstance(self, Construct) else None
        assert scope is not None
        parts = self._schedule_parts()
        if self._scheduled_prefix is not None:
            raise ValueError(
                f"[{scope.node.path}] retrain_on_schedule: the job has a schedule already"
            )
        made = _schedule.retrain_on_schedule(
            scope, parts, schedule=schedule, group=register, enabled=enabled
        )
        self._scheduled_prefix = _schedule.name_prefix(parts.prefix, parts.kind)
        return made
