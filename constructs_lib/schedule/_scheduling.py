"""``job.retrain_on_schedule(...)`` of the job constructs: light, so that an app that
schedules nothing imports neither ``_schedule.py`` nor ``aws_scheduler``; and the
event names a job's own rules match (the deploy's job, and its scheduled runs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import IStableAnyProducer, Lazy
from constructs import Construct

from .._shared.keywords import keywords
from .._shared.typecheck import arguments, check_props, check_value
from ..serving._approval import ModelApproval
from ._parts import ScheduleParts

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aws_cdk import aws_sagemaker as sagemaker
    from aws_cdk import aws_scheduler as scheduler

    from ..definition._instance_type import InstanceType
    from ..serving._registry import IModelPackageGroup


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


class RetrainsOnSchedule:
    """``retrain_on_schedule`` of a job construct, from what :meth:`_schedule_parts`
    says of it."""

    #: The prefix of the scheduled runs' names, once the job has a schedule.
    _scheduled_prefix: str | None = None

    def _schedule_parts(self) -> ScheduleParts:
        """What the schedule's runs are made of."""
        raise NotImplementedError

    @keywords("retrain_on_schedule")
    def retrain_on_schedule(
        self,
        schedule: scheduler.ScheduleExpression,
        *,
        register: IModelPackageGroup | None = None,
        container: sagemaker.CfnModel.ContainerDefinitionProperty | None = None,
        approval: ModelApproval | None = None,
        inference_instance_types: Sequence[InstanceType | str] | None = None,
        content_types: Sequence[str] | None = None,
        response_types: Sequence[str] | None = None,
        description: str | None = None,
        enabled: bool = True,
    ) -> scheduler.Schedule:
        """Retrain on ``schedule`` (``ScheduleExpression.cron(...)``, ``.rate(...)``)
        outside the deploy, each run under its own name
        (``<prefix>-<aws.scheduler.execution-id>``) and checkpoint folder; the runs'
        state changes reach the job's ``on_state_change`` rules.

        Without ``register``, the schedule's universal target sends SageMaker this
        job's own request (validated at synth); no Lambda (a queued job's runs are
        submitted to its AWS Batch queue, as the deploy submits it).

        With ``register``, each run is an execution of a state machine of the job's
        own that keeps the deploy's guarantees: it waits for the run's job, judges it
        by the job's ``quality_gate`` with the deploy's rule, repacks a framework
        model with the serving code as ``register_model`` does, and registers the
        version: with ``approval`` when it passed, ``Rejected`` when it missed (the
        approval description says which metric, its value and the bound; the
        execution then fails with ``QualityGateMissed``). The arguments are
        ``register_model``'s.

        :param schedule: when to run.
        :param register: a model package group each run registers its model in;
            default: none.
        :param container: what serves the model: ``job.inference_container(...)`` for
            a job on a framework image (required there); default: the training image.
        :param approval: a passing run's version status; default: pending manual
            approval.
        :param inference_instance_types: default: none listed.
        :param content_types: default: none listed.
        :param response_types: default: none listed.
        :param description: the versions' description; default: none.
        :param enabled: default: on.
        """
        from aws_cdk import aws_scheduler  # noqa: PLC0415 - loaded when used

        from . import _retraining, _schedule  # noqa: PLC0415

        scope = self if isinstance(self, Construct) else None
        assert scope is not None
        method = "retrain_on_schedule"
        check_value(scope, "schedule", schedule, aws_scheduler.ScheduleExpression, method=method)
        check_props(
            scope, RetrainsOnSchedule.retrain_on_schedule, arguments(locals()), method=method
        )
        parts = self._schedule_parts()
        if self._scheduled_prefix is not None:
            raise ValueError(
                f"[{scope.node.path}] retrain_on_schedule: the job has a schedule already"
            )
        registration = None
        if register is not None:
            registration = _retraining.registration(
                scope,
                parts,
                group=register,
                container=container,
                approval=approval or ModelApproval.PENDING_MANUAL_APPROVAL,
                inference_instance_types=inference_instance_types,
                content_types=content_types,
                response_types=response_types,
                description=description,
            )
        else:
            given = {
                "container": container,
                "approval": approval,
                "inference_instance_types": inference_instance_types,
                "content_types": content_types,
                "response_types": response_types,
                "description": description,
            }
            for name, value in given.items():
                if value is not None:
                    raise ValueError(
                        f"[{scope.node.path}] retrain_on_schedule: {name} is invalid without "
                        "register=: it describes the version each run registers"
                    )
        made, runs = _schedule.retrain_on_schedule(
            scope, parts, schedule=schedule, registration=registration, enabled=enabled
        )
        self._scheduled_prefix = runs
        return made
