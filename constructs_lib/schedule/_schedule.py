"""Retraining on a schedule, outside the deploy: an EventBridge Scheduler schedule,
each run under its own name (``<prefix>-<aws.scheduler.execution-id>``, which the
Scheduler substitutes in the target's input), with its own checkpoint folder. A run
that registers nothing is the job's own rendered and validated request, sent by the
Scheduler's universal target (``CreateTrainingJob``; a tuning job's
``CreateHyperParameterTuningJob``; a queued job's ``SubmitServiceJob``): no Lambda, and
the schedule's role may create jobs of that prefix only and pass exactly the job's
execution role. A run that registers its model is an execution of the job's runs'
state machine, which judges it by the job's quality gate first (``_retraining.py``).

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

from .._shared.stacks import stack_of
from ..definition._cautions import warn_of_overlapping_runs
from ..handler.kinds import TRAINING, TUNING, JobKind
from ..handler.properties import fill_in_name
from ..provider import TrainingJobProvider
from ..provider.waiting import grant_encrypted_start
from ..security._nag import acknowledge, rules, wildcard_findings
from ..serving._serving import REPACK_MODEL_CHANNEL
from ._retraining import REPACK_SUFFIX, Registration, named, run_definition, runs_state_machine

if TYPE_CHECKING:
    from ._parts import ScheduleParts

#: The Scheduler's unique id of each invocation (16 characters, e.g. d32c5kddcf5bb8c3).
EXECUTION_ID = scheduler.ContextAttribute.execution_id
EXECUTION_ID_CHARS = 16
#: The universal target's API action, per kind.
_ACTIONS = {TRAINING.key: "createTrainingJob", TUNING.key: "createHyperParameterTuningJob"}
_IAM_ACTIONS = {
    TRAINING.key: "sagemaker:CreateTrainingJob",
    TUNING.key: "sagemaker:CreateHyperParameterTuningJob",
}


def name_prefix(prefix: str, kind: JobKind, *, extra: int = 0) -> str:
    """The prefix of the scheduled runs' names: the job's own, cut so that the name
    with the execution id (and ``extra`` characters: a repack job's suffix) fits the
    kind's limit (63 characters; a tuning job's 32)."""
    cut = kind.max_name_length - 1 - EXECUTION_ID_CHARS - extra
    return prefix[:cut].rstrip("-")


def scheduled_request(
    request: Mapping[str, Any],
    *,
    kind: JobKind,
    prefix: str,
    by_job_name: Mapping[str, Mapping[str, str]],
    named_locations: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """The Create request of one scheduled run: the job's, named
    ``<prefix>-<execution id>``, with the hyperparameters and locations (its own
    checkpoint folder) that hold the name filled in (as the handler fills them in)."""
    name = f"{prefix}-{EXECUTION_ID}"
    run = {key: value for key, value in request.items() if key != kind.name_field}
    # The definitions the name goes into are the run's own (the job's stay as they are).
    if isinstance(run.get("TrainingJobDefinition"), Mapping):
        run["TrainingJobDefinition"] = dict(run["TrainingJobDefinition"])
    if isinstance(run.get("TrainingJobDefinitions"), list):
        run["TrainingJobDefinitions"] = [dict(d) for d in run["TrainingJobDefinitions"]]
    run[kind.name_field] = name
    fill_in_name(run, by_job_name, name, named_locations)  # as the handler fills them in
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
    from ..handler.queued import SERVICE_JOB_TYPE  # noqa: PLC0415

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
    registration: Registration | None,
    enabled: bool,
) -> tuple[scheduler.Schedule, str]:
    """The schedule of ``job`` (see the module), with its least-privilege role, and the
    runs' name prefix. A queued job's runs (``parts.queue``) are submitted to its AWS
    Batch queue (``batch:submitServiceJob``), as the deploy submits the job; runs that
    register their model are executions of the job's runs' state machine
    (``_retraining.py``)."""
    kind = parts.kind
    warn_of_overlapping_runs(job, schedule.expression_string, parts.longest_run)
    repack = registration.repack if registration is not None else None
    runs = name_prefix(parts.prefix, kind, extra=len(REPACK_SUFFIX) if repack else 0)
    if not runs:
        raise ValueError(
            f"[{job.node.path}] retrain_on_schedule: the job's name leaves no prefix for "
            "the scheduled runs' names"
        )
    stack = stack_of(job)
    role = iam.Role(
        job,
        "ScheduleRole",
        assumed_by=iam.ServicePrincipal(
            "scheduler.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
        ),
        description=f"EventBridge Scheduler retraining {kind.noun.lower()} {job.node.path}",
    )
    acknowledge(
        role,
        rules("IAMNoInlinePolicy", packs=("NIST.800.53.R5", "HIPAA.Security")),
        "The schedule's role holds its own few statements, scoped to the runs' name "
        "prefix (or queue, or state machine) and the execution role; a shared managed "
        "policy would widen them.",
    )
    if registration is None:
        target = _direct_target(stack, role, parts, runs)
    else:
        target = _runs_target(job, role, parts, runs, registration)
    made = scheduler.Schedule(
        job,
        "Retrain",
        schedule=schedule,
        target=target,
        enabled=enabled,
        description=f"Retrains {kind.noun.lower()} {job.node.path} ({runs}-<execution id>)",
    )
    return made, runs


def _direct_target(
    stack: Stack, role: iam.Role, parts: ScheduleParts, runs: str
) -> scheduler.IScheduleTarget:
    """The Scheduler's universal target sending the run's request itself."""
    kind, queue = parts.kind, parts.queue
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
            resources=[parts.role.role_arn],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
    ]
    acknowledge(
        role,
        wildcard_findings(stack, [], wildcards),
        "Each scheduled run is named '<prefix>-<execution id>': the schedule may create "
        "jobs of that prefix only (a queued job's runs: submit to its queue, and tag the "
        "service jobs AWS Batch names by an id it picks).",
    )
    return targets.Universal(
        service=service,
        action=action,
        input=scheduler.ScheduleTargetInput.from_object(target_input),
        policy_statements=statements,
        role=role,
        # A run the Scheduler could not start within the hour is skipped, not piled up.
        max_event_age=Duration.hours(1),
        retry_attempts=3,
    )


def _runs_target(
    job: Construct, role: iam.Role, parts: ScheduleParts, runs: str, registration: Registration
) -> scheduler.IScheduleTarget:
    """An execution of the job's runs' state machine per run, its names in the input."""
    provider = TrainingJobProvider.of(job)
    provider.allow_runs(parts.kind, runs)
    run_name = f"{runs}-{EXECUTION_ID}"
    create, names = named(
        parts.request,
        kind=parts.kind,
        by_job_name=parts.by_job_name,
        named_locations=parts.named_locations,
        name_path="$.RunName",
        names_path="$.Names",
        name=run_name,
    )
    execution_input: dict[str, Any] = {"RunName": run_name, "Names": names}
    repack_parameters = None
    if registration.repack is not None:
        repack_name = f"{run_name}{REPACK_SUFFIX}"
        repack_parameters, repack_names = named(
            registration.repack.request,
            kind=TRAINING,
            by_job_name=registration.repack.by_job_name,
            named_locations=registration.repack.named_locations,
            name_path="$.RepackName",
            names_path="$.RepackNames",
            name=repack_name,
        )
        repack_parameters["InputDataConfig"] = [
            _read_verdict(channel) for channel in repack_parameters["InputDataConfig"]
        ]
        execution_input.update({"RepackName": repack_name, "RepackNames": repack_names})
    definition = run_definition(
        parts,
        create=create,
        judge_function=provider.handler_function.function_arn,
        registration=registration,
        repack=repack_parameters,
    )
    machine = runs_state_machine(
        job,
        parts,
        runs=runs,
        definition=definition,
        registration=registration,
        provider=provider,
    )
    grant_encrypted_start(role, machine, provider.options.encryption_key)
    return targets.StepFunctionsStartExecution(
        machine,
        input=scheduler.ScheduleTargetInput.from_object(execution_input),
        role=role,
        max_event_age=Duration.hours(1),
        retry_attempts=3,
    )


def _read_verdict(channel: Mapping[str, Any]) -> Any:
    """The repack job's ``model`` channel, reading the run's model from the verdict."""
    if channel.get("ChannelName") != REPACK_MODEL_CHANNEL:
        return channel
    source = dict(channel["DataSource"]["S3DataSource"])
    source.pop("S3Uri")
    source["S3Uri.$"] = "$.Verdict.ModelDataUrl"
    return {**channel, "DataSource": {"S3DataSource": source}}
