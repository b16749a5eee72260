"""Scheduled runs that register their model keep the deploy's guarantees: each run is
an execution of a state machine of the job's own, started by its schedule, which

1. creates the run's job (the job's request, under the run's name, with the
   hyperparameters and the checkpoint folder that hold it) and waits for its end in
   Wait states (nothing runs meanwhile);
2. asks the stack's provider function for the verdict of the job's quality gate, by the
   rule the deploy uses (``handler/judge.py``): passed, missed (with the metric, its
   value and the bound), or failed (the job's own reason);
3. for a framework model served from ``model.tar.gz``, repacks the run's model with the
   serving code (the repack job ``inference_container`` made, under the run's name), as
   the deploy does;
4. registers the version: with the approval asked for when the model passed, as
   ``Rejected`` when it missed, each with the verdict as its approval description, and
   the job's ARN and gated metrics as its metadata; a missed gate (or a failed job)
   then fails the execution, saying why.

So a run that misses the gate never becomes an approved version, and a framework
job's version serves with the same container and repacked model as ``register_model``.

The state machine uses Step Functions' AWS SDK integrations of SageMaker (the
optimized ``.sync`` ones wait through rules of EventBridge that an independent
interpreter cannot run; the Wait loop is what is deployed and what is tested), and the
provider function only for the verdict (see ``handler/judge.py`` for why).

Imported only by an app that schedules with ``register=``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from aws_cdk import Duration, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .._shared.stacks import stack_of
from ..definition._cautions import warn_of_serving_processor
from ..handler.judge import FAILED, JUDGE, PASSED
from ..handler.kinds import TRAINING, JobKind
from ..handler.properties import named_values
from ..provider import TrainingJobProvider
from ..provider.compliance import acknowledge_state_machine
from ..provider.waiting import CRASHED_RETRY, THROTTLED_RETRY
from ..security._nag import acknowledge, rules, wildcard_findings
from ..serving._approval import ModelApproval
from ..serving._serving import repack_jobs

if TYPE_CHECKING:
    from ..serving._registry import IModelPackageGroup
    from ._parts import Schedulable, ScheduleParts

#: Seconds between a run's polls of its job (three state transitions each).
POLL_SECONDS = 60
#: The suffix of a run's repack job's name.
REPACK_SUFFIX = "-repack"
#: Retries of SageMaker's answers that pass: throttling, and a full quota that other
#: jobs may free (for about an hour and a half, then the execution fails with it).
_SAGEMAKER_RETRY: list[dict[str, Any]] = [
    {
        "ErrorEquals": ["SageMaker.ThrottlingException"],
        "IntervalSeconds": 5,
        "BackoffRate": 2,
        "MaxAttempts": 8,
        "JitterStrategy": "FULL",
    },
    {
        "ErrorEquals": ["SageMaker.ResourceLimitExceeded"],
        "IntervalSeconds": 60,
        "BackoffRate": 1.5,
        "MaxDelaySeconds": 600,
        "MaxAttempts": 12,
    },
]
_RUNNING = ("InProgress", "Stopping")


@dataclass(frozen=True)
class Registration:
    """What a run registers: the group, the approval of a model that passed, and the
    version's inference specification (a container of ``job.inference_container``)."""

    group: IModelPackageGroup
    approval: ModelApproval
    image: str
    environment: Mapping[str, str] | None
    #: The repack job whose request a run repacks its model with (None: served as is).
    repack: ScheduleParts | None
    #: The job's quality gate, rendered (``MetricThreshold.render``).
    gate: Sequence[Mapping[str, Any]] = ()
    content_types: Sequence[str] = ()
    response_types: Sequence[str] = ()
    inference_instance_types: Sequence[str] = ()
    description: str | None = None


def _sdk(kind: JobKind, verb: str) -> str:
    return f"arn:aws:states:::aws-sdk:sagemaker:{verb[0].lower()}{verb[1:]}{kind.api_name}"


def named(
    request: Mapping[str, Any],
    *,
    kind: JobKind,
    by_job_name: Mapping[str, Mapping[str, str]],
    named_locations: Mapping[str, Mapping[str, str]],
    name_path: str,
    names_path: str,
    name: str,
) -> tuple[dict[str, Any], dict[str, str]]:
    """A Create request's ``Parameters`` whose members holding the name read the
    execution's input, and that input's values for the run called ``name`` (the
    Scheduler substitutes its execution id in them): ``(parameters, names)``."""
    parameters = {key: value for key, value in request.items() if key != kind.name_field}
    parameters[f"{kind.name_field}.$"] = name_path
    names: dict[str, str] = {}

    def refer(target: dict[str, Any], key: str, value: str) -> None:
        index = f"N{len(names)}"
        names[index] = value
        target.pop(key, None)
        target[f"{key}.$"] = f"{names_path}.{index}"

    definition = parameters
    if kind.definition_path:
        definition = parameters[kind.definition_path.rstrip(".")] = dict(
            parameters[kind.definition_path.rstrip(".")]
        )
    member = "StaticHyperParameters" if kind.definition_path else "HyperParameters"
    values, paths = named_values(by_job_name, named_locations, name)  # as the handler's
    if values and isinstance(definition.get(member), Mapping):
        hyperparameters = definition[member] = dict(definition[member])
        for key, value in values.items():
            refer(hyperparameters, key, value)
    for path, value in paths.items():
        keys = path.split(".")
        target = parameters
        for key in keys[:-1]:
            target[key] = dict(target[key])
            target = target[key]
        refer(target, keys[-1], value)
    return parameters, names


def _wait_loop(
    prefix: str,
    kind: JobKind,
    name_path: str,
    result_path: str,
    *,
    done: str,
    extra: Any = None,
) -> dict[str, Any]:
    """Wait, Describe, and go on waiting while the job runs (``<prefix>Wait`` first)."""
    selected: dict[str, Any] = {"Status.$": f"$.{kind.status_field}"}
    if extra:
        selected.update(extra)
    return {
        f"{prefix}Wait": {"Type": "Wait", "Seconds": POLL_SECONDS, "Next": f"{prefix}Describe"},
        f"{prefix}Describe": {
            "Type": "Task",
            "Resource": _sdk(kind, "Describe"),
            "Parameters": {f"{kind.name_field}.$": name_path},
            # Only what the next states read: a description holds the whole request.
            "ResultSelector": selected,
            "ResultPath": result_path,
            "Retry": _SAGEMAKER_RETRY[:1],
            "Next": f"{prefix}Ended?",
        },
        f"{prefix}Ended?": {
            "Type": "Choice",
            "Choices": [
                {
                    "Or": [
                        {"Variable": f"{result_path}.Status", "StringEquals": status}
                        for status in _RUNNING
                    ],
                    "Next": f"{prefix}Wait",
                }
            ],
            "Default": done,
        },
    }


def run_definition(
    parts: ScheduleParts,
    *,
    create: Mapping[str, Any],
    judge_function: str,
    registration: Registration,
    repack: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The run's state machine (Amazon States Language): see the module.

    :param create: the run's Create parameters (:func:`named`).
    :param repack: the repack job's CreateTrainingJob parameters (:func:`named`), its
        model channel's location read from the verdict; None: no repack.
    """
    kind = parts.kind
    states: dict[str, Any] = {
        "Train": {
            "Type": "Task",
            "Resource": _sdk(kind, "Create"),
            "Parameters": dict(create),
            "ResultSelector": {"Arn.$": f"$.{kind.arn_field}"},
            "ResultPath": "$.Created",
            "Retry": _SAGEMAKER_RETRY,
            "Next": "TrainWait",
        },
        **_wait_loop("Train", kind, "$.RunName", "$.Job", done="Judge"),
        "Judge": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": judge_function,
                "Payload": {
                    JUDGE: {
                        "Kind": kind.key,
                        "Name.$": "$.RunName",
                        "Gate": list(registration.gate),
                    }
                },
            },
            "ResultSelector": {
                "Outcome.$": "$.Payload.Outcome",
                "Reason.$": "$.Payload.Reason",
                "ModelDataUrl.$": "$.Payload.ModelDataUrl",
                "Metadata.$": "$.Payload.Metadata",
            },
            "ResultPath": "$.Verdict",
            "Retry": [THROTTLED_RETRY, CRASHED_RETRY],
            "Next": "Judged?",
        },
        "Judged?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.Verdict.Outcome", "StringEquals": FAILED, "Next": "JobFailed"}
            ],
            "Default": "Repack" if repack is not None else "Passed?",
        },
        "JobFailed": {"Type": "Fail", "Error": "TrainingFailed", "CausePath": "$.Verdict.Reason"},
        "Passed?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.Verdict.Outcome", "StringEquals": PASSED, "Next": "Register"}
            ],
            "Default": "RegisterRejected",
        },
        **_register("Register", registration, registration.approval.value, repack, "Registered"),
        **_register(
            "RegisterRejected", registration, ModelApproval.REJECTED.value, repack, "GateMissed"
        ),
        "Registered": {"Type": "Succeed"},
        "GateMissed": {
            "Type": "Fail",
            "Error": "QualityGateMissed",
            "CausePath": "$.Verdict.Reason",
        },
    }
    if repack is not None:
        states.update(
            {
                "Repack": {
                    "Type": "Task",
                    "Resource": _sdk(TRAINING, "Create"),
                    "Parameters": dict(repack),
                    "ResultSelector": {"Arn.$": "$.TrainingJobArn"},
                    "ResultPath": "$.RepackCreated",
                    "Retry": _SAGEMAKER_RETRY,
                    "Next": "RepackWait",
                },
                **_wait_loop(
                    "Repack",
                    TRAINING,
                    "$.RepackName",
                    "$.Repack",
                    done="Repacked?",
                    extra={"ModelDataUrl.$": "$.ModelArtifacts.S3ModelArtifacts"},
                ),
                "Repacked?": {
                    "Type": "Choice",
                    "Choices": [
                        {
                            "Variable": "$.Repack.Status",
                            "StringEquals": "Completed",
                            "Next": "Passed?",
                        }
                    ],
                    "Default": "RepackFailed",
                },
                "RepackFailed": {
                    "Type": "Fail",
                    "Error": "RepackFailed",
                    "Cause": "The repack job of the run ended without completing: its "
                    "DescribeTrainingJob's FailureReason says why.",
                },
            }
        )
    return {
        "Comment": "A scheduled run: train, judge by the quality gate, register (constructs_lib)",
        "StartAt": "Train",
        "States": states,
    }


def _register(
    state: str,
    registration: Registration,
    approval: str,
    repack: Mapping[str, Any] | None,
    then: str,
) -> dict[str, Any]:
    """CreateModelPackage of the run's model, then its approval description."""
    container: dict[str, Any] = {
        "Image": registration.image,
        "ModelDataUrl.$": "$.Repack.ModelDataUrl"
        if repack is not None
        else "$.Verdict.ModelDataUrl",
    }
    if registration.environment:
        container["Environment"] = dict(registration.environment)
    specification: dict[str, Any] = {"Containers": [container]}
    if registration.content_types:
        specification["SupportedContentTypes"] = list(registration.content_types)
    if registration.response_types:
        specification["SupportedResponseMIMETypes"] = list(registration.response_types)
    if registration.inference_instance_types:
        specification["SupportedRealtimeInferenceInstanceTypes"] = list(
            registration.inference_instance_types
        )
    parameters: dict[str, Any] = {
        "ModelPackageGroupName": registration.group.model_package_group_name,
        "ModelApprovalStatus": approval,
        "InferenceSpecification": specification,
        "CustomerMetadataProperties.$": "$.Verdict.Metadata",
    }
    if registration.description:
        parameters["ModelPackageDescription"] = registration.description
    return {
        state: {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
            "Parameters": parameters,
            "ResultSelector": {"ModelPackageArn.$": "$.ModelPackageArn"},
            "ResultPath": "$.Registered",
            "Retry": _SAGEMAKER_RETRY[:1],
            "Next": f"{state}Approval",
        },
        f"{state}Approval": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sagemaker:updateModelPackage",
            "Parameters": {
                "ModelPackageArn.$": "$.Registered.ModelPackageArn",
                "ModelApprovalStatus": approval,
                "ApprovalDescription.$": "$.Verdict.Reason",
                # (Said again: what the version says of itself stays whatever the
                # service does with members an update leaves out.)
                "CustomerMetadataProperties.$": "$.Verdict.Metadata",
            },
            "ResultSelector": {"ModelPackageArn.$": "$.ModelPackageArn"},
            "ResultPath": "$.Registered",
            "Retry": _SAGEMAKER_RETRY[:1],
            "Next": then,
        },
    }


def runs_state_machine(
    job: Construct,
    parts: ScheduleParts,
    *,
    runs: str,
    definition: Mapping[str, Any],
    registration: Registration,
    provider: TrainingJobProvider,
) -> sfn.StateMachine:
    """The state machine of ``job``'s scheduled runs (named ``<runs>-*``), with its
    least-privilege role."""
    stack = stack_of(job)
    kind = parts.kind
    options = provider.options
    key = options.encryption_key
    machine = sfn.StateMachine(
        job,
        "Runs",
        comment=f"Scheduled runs of {kind.noun.lower()} {job.node.path}",
        definition_body=sfn.DefinitionBody.from_string(stack.to_json_string(definition)),
        logs=sfn.LogOptions(
            destination=provider.log_group(job, "RunsLogs"), level=sfn.LogLevel.ALL
        ),
        tracing_enabled=options.tracing,
        encryption_configuration=(
            sfn.CustomerManagedEncryptionConfiguration(key) if key is not None else None
        ),
        timeout=Duration.days(7),
    )
    name = runs if Token.is_unresolved(runs) else runs.lower()
    resources = [
        stack.format_arn(service="sagemaker", resource=kind.arn_resource, resource_name=f"{name}-*")
    ]
    # A tuning job's repack is a training job: its actions, on the runs' training jobs.
    repacks_apart = registration.repack is not None and kind is not TRAINING
    if repacks_apart:
        resources.append(
            stack.format_arn(
                service="sagemaker", resource="training-job", resource_name=f"{name}-*"
            )
        )
    statements = [
        iam.PolicyStatement(
            actions=[
                f"sagemaker:Create{kind.api_name}",
                f"sagemaker:Describe{kind.api_name}",
                "sagemaker:AddTags",
                *(
                    ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob"]
                    if repacks_apart
                    else []
                ),
            ],
            resources=resources,
        ),
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[
                parts.role.role_arn,
                *([registration.repack.role.role_arn] if registration.repack is not None else []),
            ],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        iam.PolicyStatement(
            actions=["lambda:InvokeFunction"], resources=[provider.handler_function.function_arn]
        ),
    ]
    for statement in statements:
        machine.add_to_role_policy(statement)
    registration.group.grant_register(machine)
    registration.group.grant_approve(machine)
    acknowledge_state_machine(machine, options)
    acknowledge(
        machine.role,
        wildcard_findings(stack, [], resources),
        "Each scheduled run (and its repack job) is named '<prefix>-<execution id>': the "
        "runs' state machine may create and read jobs of that prefix only.",
    )
    acknowledge(
        machine.role,
        rules("IAMNoInlinePolicy", packs=("NIST.800.53.R5", "HIPAA.Security")),
        "The runs' state machine holds its own few statements, scoped to the runs' name "
        "prefix, the execution role, the provider function and the model package group.",
    )
    return machine


def registration(
    job: Construct,
    parts: ScheduleParts,
    *,
    group: IModelPackageGroup,
    container: Any,
    approval: ModelApproval,
    inference_instance_types: Sequence[Any] | None,
    content_types: Sequence[str] | None,
    response_types: Sequence[str] | None,
    description: str | None,
) -> Registration:
    """What ``job``'s runs register, checked as ``register_model`` checks it: the
    serving container (``job.inference_container(...)`` for a framework job: its image
    and environment, and the repack job that made its model, which each run repacks
    its own model with)."""
    from ..serving._registry import _container  # noqa: PLC0415 - loaded when registering

    path = job.node.path
    if parts.queue is not None:
        raise ValueError(
            f"[{path}] retrain_on_schedule: register={group.model_package_group_name!r} is "
            "invalid for a queued job: its runs go to AWS Batch, and Step Functions has no "
            "integration that waits for a service job, so no run could be judged by the "
            "quality gate before it registers. Schedule it without register=, or register "
            "the deploy's model (job.register_model)."
        )
    trained = job._trained_model()  # type: ignore[attr-defined]
    served = _container(trained, container, "retrain_on_schedule")
    warn_of_serving_processor(
        job,
        served.image,
        [str(t) for t in inference_instance_types or ()],
        "retrain_on_schedule",
    )
    stack = stack_of(job)
    repack = None
    if container is not None and stack.resolve(served.model_data_url) != stack.resolve(
        trained.model_data_url
    ):
        repack = _repack_job(job, stack.resolve(served.model_data_url))
        if repack is None:
            raise ValueError(
                f"[{path}] retrain_on_schedule: container: its model_data_url is invalid: "
                "a scheduled run registers the model it trained, so the container must "
                "serve this job's model (job.inference_container(...))"
            )
    gate = getattr(job, "quality_gate", ())
    return Registration(
        group=group,
        approval=approval,
        image=str(served.image),
        environment=served.environment,  # type: ignore[arg-type]
        repack=repack,
        gate=[threshold.render() for threshold in gate],
        content_types=tuple(content_types or ()),
        response_types=tuple(response_types or ()),
        inference_instance_types=tuple(str(t) for t in inference_instance_types or ()),
        description=description,
    )


def _repack_job(job: Construct, model_data_url: Any) -> ScheduleParts | None:
    """What a run needs of the repack job (a child of ``job``) whose artifacts are
    ``model_data_url``: the request it repacks with (a job kind's own parts)."""
    stack = stack_of(job)
    for child in repack_jobs(job):
        if stack.resolve(child.model_data_url) == model_data_url:
            return cast("Schedulable", child)._schedule_parts()
    return None
