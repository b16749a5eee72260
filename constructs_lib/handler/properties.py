"""Names of the custom resource's properties, and the rule of what replaces a job,
shared by the construct and the handler.

Imports only the standard library, so the construct library can use it without botocore.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .kinds import TRAINING, TUNING

RESOURCE_TYPE = TRAINING.resource_type
#: The CreateTrainingJob request, in the API's own shape and casing.
REQUEST = TRAINING.request_property
#: The hyperparameter tuning job's resource type and Create request property.
TUNING_RESOURCE_TYPE = TUNING.resource_type
TUNING_REQUEST = TUNING.request_property
#: Prefix of generated job names (``<prefix>-<hash>``).
NAME_PREFIX = "JobNamePrefix"
#: ``retain`` or ``destroy``: what Delete does to the job record once it stopped.
REMOVAL_POLICY = "RemovalPolicy"
#: Seconds the deployment waits for the job, counted from its creation; past it the
#: handler fails the deployment with a clear message (before CloudFormation's own
#: ServiceTimeout), and the rollback stops the job.
WAIT_TIMEOUT = "WaitTimeoutSeconds"
#: Tag put on every job, holding the CloudFormation request id that created it: a
#: retried Create recognises its own job by it.
OWNER_TAG = "constructs-lib:cfn-request-id"
#: Tag put on every job, holding :func:`request_hash` of the request that created it:
#: a rollback recognises the job whose request it rolls back to by it.
REQUEST_HASH_TAG = "constructs-lib:request-hash"
#: Tag put on a job that replaces another (an Update): the replaced job's name. A
#: rollback of that update returns to it.
REPLACES_TAG = "constructs-lib:replaces"
#: Tag put on every job, holding the logical id of the resource that started it: the
#: watch command (``constructs-lib watch``) tells the jobs of a stack's resources apart
#: by it (with the stack's name prefix), before CloudFormation knows their names.
LOGICAL_ID_TAG = "constructs-lib:logical-id"
#: The tags the library puts on a job; SageMaker allows 50 in all.
LIBRARY_TAGS = (OWNER_TAG, REQUEST_HASH_TAG, REPLACES_TAG, LOGICAL_ID_TAG)
#: Hyperparameters holding the job's name (``sagemaker_job_name``, TensorFlow's
#: ``model_dir``), ``{key: {"Prefix", "Suffix"}}``: filled in at creation (see
#: :func:`fill_in_name`), outside the request.
BY_JOB_NAME = "JobNameHyperParameters"
#: Request members holding the job's name, ``{dotted path: {"Prefix", "Suffix"}}``: a
#: checkpoint location per job (``CheckpointConfig.S3Uri``; a tuning job's
#: ``TrainingJobDefinition.CheckpointConfig.S3Uri``), a processing job's outputs
#: (``ProcessingOutputConfig.Outputs.<index>.S3Output.S3Uri``), filled in at creation as
#: ``Prefix + name + Suffix`` (see :func:`fill_in_name`), outside the request.
NAMED_LOCATIONS = "JobNameLocations"
#: The quality gate (``quality_gate=``): ``[{"Metric": str, "AtMost"?: n, "AtLeast"?:
#: n}]``, checked against the final metrics when the job completed; on the job's
#: resource (``Completion.wait()``) or on its result (``wait_condition()``).
QUALITY_GATE = "QualityGate"
#: A processing job's evaluation report (``report=``): ``{"Output": output name,
#: "Path": the file's path in that output, "Metrics": {metric: JSON path}}``, read from
#: S3 once the job completed; its metrics are the job's (``Metric.<name>``), which the
#: quality gate bounds.
REPORT = "EvaluationReport"
#: ``wait`` (default): the resource completes when the job completed; ``created``:
#: as soon as the job exists (a wait condition or nothing waits for the rest).
COMPLETION = "CompletionMode"
#: Seconds between DescribeTrainingJob calls while waiting (a multiple of the
#: provider's query interval; the polls in between are skipped).
POLL_INTERVAL = "PollIntervalSeconds"
#: The provider's query interval (seconds), shared by construct and handler.
QUERY_INTERVAL_SECONDS = 30
#: CloudFormation waits for a custom resource at most an hour (``ServiceTimeout``):
#: the construct's longest timeout and the handler's longest wait.
MAX_SERVICE_TIMEOUT_SECONDS = 3600
#: The waiting state machine's input: seconds to wait before the next poll (absent
#: once the handler answered CloudFormation), and what it adds when the handler failed
#: for good (``Error``, ``Cause``).
WAIT = "WaitSeconds"
FAILURE = "Failure"
#: The waiting state machine's name: the handler function's and this.
WAITING_SUFFIX = "-waiting"
#: The handler gives up this long before CloudFormation's ServiceTimeout would, to say why.
DEADLINE_HEADROOM_SECONDS = 300

#: Reads a completed job's attributes once, after its wait condition.
RESULT_RESOURCE_TYPE = TRAINING.result_resource_type
#: Signals the wait condition if the job ended before its state-change rule existed.
SIGNAL_RESOURCE_TYPE = TRAINING.signal_resource_type
#: The job a result or signal resource is about (a tuning job's: ``TUNING.name_property``).
JOB_NAME = TRAINING.name_property
#: The presigned URL of the job's CfnWaitConditionHandle.
HANDLE_URL = "WaitConditionHandle"

#: Seconds a job may wait for a slot of a SageMaker quota that other jobs use (from the
#: resource's start); absent or 0: a full quota fails the deployment at once.
QUOTA_WAIT = "QuotaWaitSeconds"
#: Set in a resource's data when its job could not start yet for a full quota:
#: is_complete then tries again until it starts (or the wait runs out).
AWAITING_QUOTA = "AwaitingQuota"

#: A queued job's AWS Batch settings (``TrainingJob(queue=...)``): ``JobQueue`` (ARN),
#: ``SchedulingPriority`` and ``ShareIdentifier``; absent for a job SageMaker starts
#: directly.
QUEUE = "ServiceJobQueue"

#: Set in a resource's data when an Update was recognised as CloudFormation's rollback:
#: is_complete then answers at once with the job rolled back to.
ROLLBACK = "Rollback"

# Request members of a training job that change without a new job: tags
# (AddTags/DeleteTags) and what UpdateTrainingJob accepts. Any other change needs a
# new job.
UPDATABLE_MEMBERS = TRAINING.updatable_members
UPDATABLE_RESOURCE_MEMBERS = TRAINING.updatable_resource_members


def without_in_place(request: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a CreateTrainingJob request whose change needs a new job."""
    return TRAINING.without_in_place(request)


def request_hash(request: Mapping[str, Any]) -> str:
    """A digest of :func:`without_in_place` of a CreateTrainingJob ``request`` (see
    :meth:`JobKind.request_hash`)."""
    return TRAINING.request_hash(request)


def named_values(by_name: Any, locations: Any, name: str) -> tuple[dict[str, str], dict[str, str]]:
    """The values holding the name ``name``: of each hyperparameter of ``by_name``
    (``Prefix + name + Suffix``, JSON-encoded as the SDK does), and at each path of
    ``locations`` (``Prefix + name + Suffix``)."""

    def filled(parts: Mapping[str, Any]) -> str:
        return f"{parts.get('Prefix', '')}{name}{parts.get('Suffix', '')}"

    hyperparameters = {
        str(key): json.dumps(filled(parts))
        for key, parts in (by_name.items() if isinstance(by_name, Mapping) else ())
        if isinstance(parts, Mapping)
    }
    paths = {
        str(path): filled(parts)
        for path, parts in (locations.items() if isinstance(locations, Mapping) else ())
        if isinstance(parts, Mapping)
    }
    return hyperparameters, paths


def fill_in_name(request: dict[str, Any], by_name: Any, name: str, locations: Any = None) -> None:
    """Set ``by_name`` (:data:`BY_JOB_NAME`) in every training (definition) of a
    Create ``request``: ``Prefix + name + Suffix``, JSON-encoded as the SDK does; and
    ``locations`` (:data:`NAMED_LOCATIONS`): ``Prefix + name + Suffix`` at each path.
    Nested members are replaced, not changed: ``request`` may share them."""
    values, paths = named_values(by_name, locations, name)
    for path, value in paths.items():
        _replace(request, path.split("."), value)
    if not values:
        return
    definitions = request.get("TrainingJobDefinitions")
    if isinstance(definitions, list):
        targets = [(d, "StaticHyperParameters") for d in definitions if isinstance(d, dict)]
    elif isinstance(request.get("TrainingJobDefinition"), dict):
        targets = [(request["TrainingJobDefinition"], "StaticHyperParameters")]
    else:
        targets = [(request, "HyperParameters")]
    for target, member in targets:
        target[member] = {**(target.get(member) or {}), **values}


def _replace(target: Any, keys: list[str], value: str) -> None:
    """Set ``value`` at ``keys`` of ``target`` (a number picks an item of a list),
    copying the members on the way (an absent member: nothing to set)."""
    for key in keys[:-1]:
        member = _member(target, key)
        if isinstance(member, Mapping):
            copy: Any = dict(member)
        elif isinstance(member, list):
            copy = list(member)
        else:
            return
        target[int(key) if isinstance(target, list) else key] = copy
        target = copy
    last = keys[-1]
    if isinstance(target, list) and last.isdigit() and int(last) < len(target):
        target[int(last)] = value
    elif isinstance(target, dict) and last in target:
        target[last] = value


def _member(target: Any, key: str) -> Any:
    if isinstance(target, list):
        return target[int(key)] if key.isdigit() and int(key) < len(target) else None
    return target.get(key) if isinstance(target, Mapping) else None


def waiting_state_machine_arn(function_arn: str) -> str:
    """The ARN of the waiting state machine of the handler function ``function_arn``
    (named after it, in its partition, region and account)."""
    _, partition, _, region, account, _, name, *_ = function_arn.split(":")
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{name}{WAITING_SUFFIX}"
