"""Retraining on a schedule, outside the deploy: an EventBridge Scheduler schedule
whose universal target calls SageMaker's ``CreateTrainingJob`` (a tuning job's
``CreateHyperParameterTuningJob``) with the job's own rendered and validated request,
each run under its own name (``<prefix>-<aws.scheduler.execution-id>``, which the
Scheduler substitutes in the target's input). No Lambda: the schedule's role may
create jobs of that prefix only and pass exactly the job's execution role.

Imported only by an app that schedules (``job.retrain_on_schedule``): ``aws_scheduler``
is loaded then, as ``aws_batch`` is for queues."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import ArnFormat, Duration, IStableAnyProducer, Lazy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from constructs import Construct

from ._nag import acknowledge, rules, wildcard_findings
from .handler.kinds import TRAINING, TUNING, JobKind
from .handler.properties import fill_in_name

if TYPE_CHECKING:
    from ._scheduling import ScheduleParts
    from .registry import IModelPackageGroup

#: The Scheduler's unique id of each invocation (16 characters, e.g. d32c5kddcf5bb8c3).
EXECUTION_ID = scheduler.ContextAttribute.execution_id
EXECUTION_ID_CHARS = 16
#: The universal target's API action, per kind.
_ACTIONS = {TRAINING.key: "createTrainingJob", TUNING.key: "createHyperParameterTuningJob"}
_IAM_ACTIONS = {
    TRAINING.key: "sagemaker:CreateTrainingJob",
    TUNING.key: "sagemaker:CreateHyperParameterTuningJob",
}


def name_prefix(prefix: str, kind: JobKind) -> str:
    """The prefix of the scheduled runs' names: the job's own, cut so that the name
    with the execution id fits the kind's limit (63 characters; a tuning job's 32)."""
    cut = kind.max_name_length - 1 - EXECUTION_ID_CHARS
    return prefix[:cut].rstrip("-")


def scheduled_request(
    request: Mapping[str, Any],
    *,
    kind: JobKind,
    prefix: str,
    by_job_name: Mapping[str, Mapping[str, str]],
    named_locations: Mapping[str, Mapping[str, str]] | None = None,
    group: IModelPackageGroup | None,
) -> dict[str, Any]:
    """The Create request of one scheduled run: the job's, named
    ``<prefix>-<execution id>``, with the hyperparameters and locations (its own
    checkpoint folder) that hold the name filled in (as the handler fills them in),
    registering its model in ``group`` if given."""
    name = f"{prefix}-{EXECUTION_ID}"
    run = {key: value for key, value in request.items() if key != kind.name_field}
    # The definitions the name goes into are the run's own (the job's stay as they are).
    if isinstance(run.get("TrainingJobDefinition"), Mapping):
        run["TrainingJobDefinition"] = dict(run["TrainingJobDefinition"])
    if isinstance(run.get("TrainingJobDefinitions"), list):
        run["TrainingJobDefinitions"] = [dict(d) for d in run["TrainingJobDefinitions"]]
    run[kind.name_field] = name
    fill_in_name(run, by_job_name, name, named_locations)  # as the handler fills them in
    if group is not None:
        run["ModelPackageConfig"] = {"ModelPackageGroupArn": group.model_package_group_arn}
    return run


@jsii.implements(IStableAnyProducer)
class _TagMap:
    """The request's tags (rendered at synth, ``Tags.of`` included) as AWS Batch's
    map of a service job."""

    def __init__(self, stack: Stack, tags: Any) -> None:
        self._stack = stack
        self._tags = tags

    def produce(self) -> Any:
        tags = self._stack.resolve(self._tags) or []
        return {tag["Key"]: tag["Value"] for tag in tags} or None


def service_job_submission(
    stack: Stack, run: Mapping[str, Any], queue: Mapping[str, Any]
) -> dict[str, Any]:
    """The SubmitServiceJob request of a queued run, as the handler submits a queued
    job: the CreateTrainingJob request (without tags) as the service request payload,
    the tags as Batch's, the job's queue, priority and share."""
    from .handler.queued import SERVICE_JOB_TYPE  # noqa: PLC0415

    payload = {key: value for key, value in run.items() if key != "Tags"}
    submission: dict[str, Any] = {
        "jobName": run[TRAINING.name_field],
        "jobQueue": queue["JobQueue"],
        "serviceJobType": SERVICE_JOB_TYPE,
        "serviceRequestPayload": stack.to_json_string(payload),
    }
    if run.get("Tags") is not None:
        submission["tags"] = Lazy.any(_TagMap(stack, run["Tags"]))
    if queue.get("SchedulingPriority") is not None:
        submission["schedulingPriority"] = queue["SchedulingPriority"]
    if queue.get("ShareIdentifier"):
        submission["shareIdentifier"] = queue["ShareIdentifier"]
    return submission


def retrain_on_schedule(
    job: Construct,
    parts: ScheduleParts,
    *,
    schedule: scheduler.ScheduleExpression,
    group: IModelPackageGroup | None,
    enabled: bool,
) -> scheduler.Schedule:
    """The schedule of ``job`` (see the module), with its least-privilege role. A
    queued job's runs (``parts.queue``) are submitted to its AWS Batch queue
    (``batch:submitServiceJob``), as the deploy submits the job."""
    kind, prefix, execution_role, queue = parts.kind, parts.prefix, parts.role, parts.queue
    stack = Stack.of(job)
    runs = name_prefix(prefix, kind)
    if not runs:
        raise ValueError(
            f"[{job.node.path}] retrain_on_schedule: the job's name leaves no prefix for "
            "the scheduled runs' names"
        )
    role = iam.Role(
        job,
        "ScheduleRole",
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        ),
        description=f"EventBridge Scheduler retraining {kind.noun.lower()} {job.node.path}",
    )
    runs_arn = stack.format_arn(
        service="sagemaker",
        resource=kind.arn_resource,
        resource_name=f"{runs if Token.is_unresolved(runs) else runs.lower()}-*",
    )
    run = scheduled_request(
        parts.request,
        kind=kind,
        prefix=runs,
        by_job_name=parts.by_job_name,
        named_locations=parts.named_locations,
        group=group,
    )
    if queue is not None:
        service_jobs = stack.format_arn(
            service="batch",
            resource="service-job",
            resource_name="*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        first = iam.PolicyStatement(
            actions=["batch:SubmitServiceJob"], resources=[queue["JobQueue"]]
        )
        tagging = iam.PolicyStatement(actions=["batch:TagResource"], resources=[service_jobs])
        service, action = "batch", "submitServiceJob"
        target_input: Any = service_job_submission(stack, run, queue)
        wildcards = [service_jobs]
    else:
        first = iam.PolicyStatement(
            actions=[_IAM_ACTIONS[kind.key], "sagemaker:AddTags"], resources=[runs_arn]
        )
        tagging = None
        service, action = "sagemaker", _ACTIONS[kind.key]
        target_input = run
        wildcards = [runs_arn]
    statements = [
        first,
        *([tagging] if tagging is not None else []),
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[execution_role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    ]
    target = targets.Universal(
        service=service,
        action=action,
        input=scheduler.ScheduleTargetInput.from_object(target_input),
        policy_statements=statements,
        role=role,
        # A run the Scheduler could not start within the hour is skipped, not piled up.
        max_event_age=Duration.hours(1),
        retry_attempts=3,
    )
    acknowledge(
        role,
        rules("IAMNoInlinePolicy", packs=("NIST.800.53.R5", "HIPAA.Security")),
        "The schedule's role holds its own few statements, scoped to the runs' name "
        "prefix (or queue) and the execution role; a shared managed policy would widen "
        "them.",
    )
    acknowledge(
        role,
        wildcard_findings(stack, [], wildcards),
        "Each scheduled run is named '<prefix>-<execution id>': the schedule may create "
        "jobs of that prefix only (a queued job's runs: submit to its queue, and tag the "
        "service jobs AWS Batch names by an id it picks).",
    )
    if group is not None:
        # SageMaker registers each run's model as the job's execution role.
        group.grant_register(execution_role)
    return scheduler.Schedule(
        job,
        "Retrain",
        schedule=schedule,
        target=target,
        enabled=enabled,
        description=f"Retrains {kind.noun.lower()} {job.node.path} ({runs}-<execution id>)",
    )
