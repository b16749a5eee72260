"""The lifecycle of a SageMaker job (a training job or a hyperparameter tuning job)
as a CloudFormation custom resource.

Plain functions that take a :class:`Runtime` (the AWS clients, a clock and a sleep),
so tests drive them with fakes and a simulated clock. ``on_event`` starts the work of
a CloudFormation event; ``is_complete`` is polled by the provider framework until the
work is done, for Create, Update and Delete alike. What differs between the kinds of
job (operation names, fields, name limits, attributes) is a :class:`JobKind`, chosen
by the resource's type.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError

from .coerce import CoercionError, coerce
from .kinds import TRAINING, TUNING, JobKind, by_resource_type
from .properties import (
    AWAITING_QUOTA,
    COMPLETION,
    HANDLE_URL,
    LIBRARY_TAGS,
    NAME_PREFIX,
    OWNER_TAG,
    POLL_INTERVAL,
    QUERY_INTERVAL_SECONDS,
    QUOTA_WAIT,
    REMOVAL_POLICY,
    REPLACES_TAG,
    REQUEST_HASH_TAG,
    ROLLBACK,
    WAIT_TIMEOUT,
)
from .signal import TERMINAL, Put, put_signal, signal_body

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import TagTypeDef

MAX_NAME_LENGTH = TRAINING.max_name_length
NAME_HASH_LENGTH = 12
DEFAULT_NAME_PREFIX = TRAINING.default_prefix

#: A description of a job, as the kind's Describe operation returns it.
Description = Mapping[str, Any]

RUNNING_STATUSES = frozenset({"InProgress", "Stopping"})

# A custom resource response must stay under 4 KB: the reason and the data share it.
MAX_REASON_CHARS = 1000
MAX_MESSAGE_CHARS = 1500
MAX_DATA_BYTES = 2000

# Retries. Throttling and quota-busy answers of read/stop calls are retried for a
# short budget (the Lambda's timeout bounds a call); a role created moments ago in
# the same stack may not be assumable yet, so CreateTrainingJob retries that longer.
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
    }
)
THROTTLE_BUDGET_SECONDS = 40.0
ROLE_PROPAGATION_BUDGET_SECONDS = 150.0
FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 15.0
_ROLE_NOT_ASSUMABLE = re.compile(r"assume (the )?role|role .* could not be assumed", re.I)

# How long a Delete waits after the job ended for SageMaker to release the job's
# network interfaces, so the stack can delete its security groups and subnets next.
ENI_RELEASE_LIMIT = dt.timedelta(minutes=20)

# The stack statuses in which CloudFormation rolls back an update: its Update events
# then ask for the properties a job already has, and must never start a job.
ROLLING_BACK_STATUSES = frozenset({"UPDATE_ROLLBACK_IN_PROGRESS"})

T = TypeVar("T")

#: Set by on_event when it created the job, read by is_complete to space its polls.
CREATED_AT = "CreatedAt"

#: SageMaker's answer when a quota is full: "The account-level service limit 'ml.p5
#: .48xlarge for training job usage' is 4 Instances, with current utilization of 4
#: Instances and a request delta of 1 Instances. ..."
_QUOTA = re.compile(
    r"service limit '(?P<name>[^']+)' is (?P<limit>\d+)[^,]*, with current utilization of "
    r"(?P<used>\d+).*? and a request delta of (?P<delta>\d+)",
    re.I,
)


@dataclass(frozen=True)
class Quota:
    """A full SageMaker quota, as its ResourceLimitExceeded message states it."""

    name: str
    limit: int
    used: int
    delta: int

    @property
    def can_fit(self) -> bool:
        """Whether the request could start once other jobs free the quota."""
        return 0 < self.delta <= self.limit


def parse_quota(message: str) -> Quota | None:
    """The quota of a ResourceLimitExceeded message; None when it names none."""
    match = _QUOTA.search(message)
    if match is None:
        return None
    return Quota(match["name"], int(match["limit"]), int(match["used"]), int(match["delta"]))


class TrainingJobError(Exception):
    """A failure to report to CloudFormation. The message names the job and the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(truncate(message, MAX_MESSAGE_CHARS))


def truncate(text: str, limit: int) -> str:
    """Shorten ``text`` to at most ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    marker = " ...[truncated]"
    return text[: limit - len(marker)] + marker


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    """What the lifecycle needs from the world: clients and time."""

    sagemaker: SageMakerClient
    ec2_factory: Callable[[], EC2Client] | None = None
    cloudformation_factory: Callable[[], CloudFormationClient] | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = _utcnow
    jitter: Callable[[], float] = field(default=lambda: random.uniform(0.5, 1.0))
    put: Put = put_signal
    _ec2: EC2Client | None = None
    _cloudformation: CloudFormationClient | None = None

    @property
    def ec2(self) -> EC2Client:
        if self._ec2 is None:
            if self.ec2_factory is None:
                raise TrainingJobError("No EC2 client configured to watch network interfaces")
            self._ec2 = self.ec2_factory()
        return self._ec2

    @property
    def cloudformation(self) -> CloudFormationClient:
        if self._cloudformation is None:
            if self.cloudformation_factory is None:
                raise TrainingJobError("No CloudFormation client configured to read stack status")
            self._cloudformation = self.cloudformation_factory()
        return self._cloudformation


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def on_event(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """Start the work of a CloudFormation Create, Update or Delete event."""
    kind, role = by_resource_type(event.get("ResourceType"))
    if role == "result":
        return _result(event, runtime, kind)
    if role == "signal":
        return _signal_if_ended(event, runtime, kind)
    request_type = event["RequestType"]
    if request_type == "Create":
        return _create(event, runtime, kind)
    if request_type == "Update":
        return _update(event, runtime, kind)
    if request_type == "Delete":
        return _delete(event, runtime, kind)
    raise TrainingJobError(f"Unknown CloudFormation request type {request_type!r}")


def is_complete(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """Tell the provider framework whether the event's work is done."""
    kind, role = by_resource_type(event.get("ResourceType"))
    if role == "signal":
        return {"IsComplete": True}  # on_event did all of it
    if role == "result":
        if event["RequestType"] == "Delete":
            return {"IsComplete": True}
        return _result_complete(event, runtime, kind)
    name = event["PhysicalResourceId"]
    if event["RequestType"] == "Delete":
        return {"IsComplete": _delete_complete(event, runtime, kind, name)}
    if event.get("Data", {}).get(ROLLBACK):
        return {"IsComplete": True, "Data": _rollback_attributes(runtime, kind, name)}
    properties = event["ResourceProperties"]
    created_only = properties.get(COMPLETION) == "created"
    description: Description | None = None
    if event.get("Data", {}).get(AWAITING_QUOTA):
        # Each poll: the job, or (until it starts) another try to start it.
        description = _describe(runtime, kind, name)
        if description is None:
            waiting = _start_awaited(event, runtime, kind)
            if waiting is not None:
                return waiting
    elif not created_only and not _poll_due(event, runtime):
        return {"IsComplete": False}
    if description is None:
        description = _describe(runtime, kind, name)
    if description is None:
        raise TrainingJobError(
            f"{kind.noun} {name} no longer exists while the deployment waits for it: "
            "it was deleted outside CloudFormation. Deploy again to start a new job."
        )
    if created_only:
        # A wait condition (or nothing) waits for the end; the job exists: done.
        return {
            "IsComplete": True,
            "Data": {
                kind.name_field: description[kind.name_field],
                kind.arn_field: description[kind.arn_field],
            },
        }
    status = description[kind.status_field]
    if status == "Completed":
        return {"IsComplete": True, "Data": _attributes(runtime, kind, description)}
    if status in RUNNING_STATUSES:
        _check_wait_deadline(event, runtime, kind, description)
        return {"IsComplete": False}
    raise TrainingJobError(_failure_message(kind, description))


# ---------------------------------------------------------------------------
# Create / Update / Delete
# ---------------------------------------------------------------------------


def _create(
    event: Mapping[str, Any], runtime: Runtime, kind: JobKind, *, replaces: str | None = None
) -> dict[str, Any]:
    name, request = _job_request(event, runtime, kind, replaces)
    if _start(event, runtime, kind, name, request, may_wait=replaces is None):
        return {"PhysicalResourceId": name, "Data": {CREATED_AT: _now(runtime)}}
    # A full quota, which other jobs may free: is_complete starts the job later.
    return {"PhysicalResourceId": name, "Data": {CREATED_AT: _now(runtime), AWAITING_QUOTA: "true"}}


def _job_request(
    event: Mapping[str, Any], runtime: Runtime, kind: JobKind, replaces: str | None
) -> tuple[str, dict[str, Any]]:
    """The job's (deterministic) name and its Create request, with the library's tags."""
    properties = event["ResourceProperties"]
    request = render_request(properties, runtime.sagemaker, kind)
    digest = kind.request_hash(request)
    fixed_name = request.get(kind.name_field)
    name = fixed_name or generated_name(
        properties.get(NAME_PREFIX, kind.default_prefix),
        stack_id=event["StackId"],
        logical_id=event["LogicalResourceId"],
        request_id=event["RequestId"],
        max_length=kind.max_name_length,
        default_prefix=kind.default_prefix,
    )
    request[kind.name_field] = name
    library_tags = [
        {"Key": OWNER_TAG, "Value": str(event["RequestId"])},
        {"Key": REQUEST_HASH_TAG, "Value": digest},
    ]
    if replaces:
        library_tags.append({"Key": REPLACES_TAG, "Value": replaces})
    request["Tags"] = [
        *(tag for tag in request.get("Tags", []) if tag["Key"] not in LIBRARY_TAGS),
        *library_tags,
    ]
    return name, request


def _quota_wait(event: Mapping[str, Any]) -> float:
    """Seconds the job may wait for a quota slot (0: it may not)."""
    return float(event["ResourceProperties"].get(QUOTA_WAIT) or 0)


def _start(
    event: Mapping[str, Any],
    runtime: Runtime,
    kind: JobKind,
    name: str,
    request: dict[str, Any],
    *,
    may_wait: bool = True,
) -> bool:
    """Create the job; False when a quota other jobs use is full and the job may wait
    for a slot. A retry that finds its own job (by the owner tag) adopts it: one job
    per resource, however often it is tried.

    :param may_wait: False for a job that replaces another (an Update): it does not
        wait, since a rollback of an update whose new job never started could not
        find the job to return to (its physical id would name no job).
    """
    request_id = str(event["RequestId"])
    noun = kind.noun.lower()
    name_prop = _NAME_PROPS[kind.key]
    try:
        _call(runtime, kind.create_operation, _operation(runtime, kind.create_operation), **request)
    except ClientError as error:
        code, message = _error(error)
        if code == "ResourceInUse":
            if _owner(runtime, kind, name) == request_id:
                # A retry of this very request: the job is ours, adopt it.
                return True
            raise TrainingJobError(
                f"{kind.noun} name {name} is already in use in this account and region by "
                f"a job this deployment did not start. {kind.noun} names are unique and "
                f"cannot be reused, even after the job ended: set another {name_prop}, or "
                "leave it unset to let the library generate one."
            ) from error
        if code == "ResourceLimitExceeded":
            return _quota_full(
                event,
                kind,
                name=name,
                request=request,
                message=message,
                error=error,
                may_wait=may_wait,
            )
        if _is_role_not_assumable(error):
            raise TrainingJobError(
                f"SageMaker could not assume the execution role {_role_arn(request)} "
                f"for {noun} {name}, even after retrying for "
                f"{ROLE_PROPAGATION_BUDGET_SECONDS:.0f} s: {message} Check that the role's "
                "trust policy allows sagemaker.amazonaws.com; if the role was just "
                "created, IAM may still be propagating it: deploy again."
            ) from error
        raise TrainingJobError(
            f"{kind.create_operation} for {noun} {name} failed ({code}): {message}"
        ) from error
    return True


def _quota_full(
    event: Mapping[str, Any],
    kind: JobKind,
    *,
    name: str,
    request: Mapping[str, Any],
    message: str,
    error: ClientError,
    may_wait: bool,
) -> bool:
    """False (wait for a slot) when the quota may free up and the job may wait; else
    the error that fails the deployment, naming the quota to raise."""
    noun = kind.noun.lower()
    quota = parse_quota(message)
    quota_name = quota.name if quota else f"{_instance_type(request)} for training job usage"
    if quota is not None and not quota.can_fit:
        raise TrainingJobError(
            f"{kind.create_operation} for {noun} {name} can never fit the SageMaker quota "
            f"'{quota.name}': it is {quota.limit} and the job needs {quota.delta}. Request an "
            "increase of that quota in Service Quotas, or use another instance type or "
            "fewer instances, then deploy again."
        ) from error
    # Only a quota that states its use can be waited for: anything else fails now.
    if quota is not None and _quota_wait(event) > 0:
        if may_wait:
            print(json.dumps({"waiting for quota": quota_name, "job": name, "message": message}))
            return False
        raise TrainingJobError(
            f"{kind.create_operation} for {noun} {name}, which replaces the resource's job, "
            f"met a full SageMaker quota ('{quota_name}', {quota.used} of {quota.limit} in "
            "use by other jobs): a replacement does not wait for a slot, so that a "
            "rollback always finds the job it returns to. Deploy again once the quota "
            "frees, request an increase in Service Quotas, or queue the jobs (AWS Batch)."
        ) from error
    raise TrainingJobError(
        f"{kind.create_operation} for {noun} {name} exceeded a SageMaker quota: "
        f"{message} Check the quota '{quota_name}' (and the number of concurrent "
        f"{noun}s) in Service Quotas, request an increase or use another instance type, "
        "then deploy again."
    ) from error


def _start_awaited(
    event: Mapping[str, Any], runtime: Runtime, kind: JobKind
) -> dict[str, Any] | None:
    """Another try to start a job that waits for a quota slot: None when it started
    (the poll goes on as for a created job); else not complete yet, or the error once
    the wait ran out."""
    name, request = _job_request(event, runtime, kind, None)
    if _start(event, runtime, kind, name, request):
        return None
    waited = runtime.now().timestamp() - float(event.get("Data", {}).get(CREATED_AT, 0))
    budget = _quota_wait(event)
    if waited > budget:
        raise TrainingJobError(
            f"{kind.noun} {name} waited {waited:.0f} s for a SageMaker quota that other "
            f"jobs use, longer than it may ({budget:.0f} s, max_quota_wait): no job was "
            "started. Request an increase of the quota in Service Quotas, run fewer jobs "
            "at once (or queue them: AWS Batch), or allow a longer wait, then deploy again."
        )
    return {"IsComplete": False}


#: The construct prop that fixes a job's name, per kind (for messages).
_NAME_PROPS = {TRAINING.key: "training_job_name", TUNING.key: "tuning_job_name"}
#: What a job of each kind changes in place (for messages).
_IN_PLACE = {
    TRAINING.key: "only tags, profiler, remote debug and warm-pool keep-alive change in place",
    TUNING.key: "only tags change in place",
}


def _training_definition(request: Mapping[str, Any]) -> Mapping[str, Any]:
    """The training job (definition) of a Create request of either kind."""
    definition = request.get("TrainingJobDefinition")
    if isinstance(definition, Mapping):
        return definition
    definitions = request.get("TrainingJobDefinitions")
    if isinstance(definitions, list) and definitions and isinstance(definitions[0], Mapping):
        first: Mapping[str, Any] = definitions[0]
        return first
    return request


def _instance_type(request: Mapping[str, Any]) -> str:
    definition = _training_definition(request)
    resources = definition.get("ResourceConfig") or {}
    if resources.get("InstanceType"):
        return str(resources["InstanceType"])
    tuning_resources = definition.get("HyperParameterTuningResourceConfig") or {}
    return str(tuning_resources.get("InstanceType", "?"))


def _role_arn(request: Mapping[str, Any]) -> str:
    return str(_training_definition(request).get("RoleArn", "?"))


def _update(event: Mapping[str, Any], runtime: Runtime, kind: JobKind) -> dict[str, Any]:
    name = event["PhysicalResourceId"]
    old = render_request(event["OldResourceProperties"], runtime.sagemaker, kind)
    new = render_request(event["ResourceProperties"], runtime.sagemaker, kind)
    if not needs_replacement(old, new, kind):
        _update_in_place(runtime, kind, name, old, new)
        return {"PhysicalResourceId": name}
    target = _rollback_target(event, runtime, kind, old, new)
    if target is not None:
        return {"PhysicalResourceId": target, "Data": {ROLLBACK: "true"}}
    if new.get(kind.name_field) == name:
        prop = _NAME_PROPS[kind.key]
        raise TrainingJobError(
            f"{kind.noun} {name} must be replaced to apply this change "
            f"({_IN_PLACE[kind.key]}), but its name is fixed by {prop} and a job name "
            f"cannot be reused. Change {prop}, or leave it unset to let the library "
            "generate a new name for each job."
        )
    # A new job under a new name; CloudFormation then deletes the old one.
    return _create(event, runtime, kind, replaces=name)


def _rollback_target(
    event: Mapping[str, Any],
    runtime: Runtime,
    kind: JobKind,
    current: Mapping[str, Any],
    requested: Mapping[str, Any],
) -> str | None:
    """The job an Update returns to without starting one, when the Update is
    CloudFormation's rollback; None for an update that needs a new job.

    A rollback asks for the properties the resource had before the failed update.
    Its physical id is either that job's (the job already has the requested
    request: its hash tag says so) or, when the failed update's response carried
    the new job's name, the new job's: that job names the job it replaced.
    """
    name = str(event["PhysicalResourceId"])
    tags = _job_tags(runtime, kind, name)
    if tags is not None and tags.get(REQUEST_HASH_TAG) == kind.request_hash(requested):
        _log_rollback(name, name, "the job already has the requested properties")
        return name
    if not _stack_rolling_back(runtime, str(event["StackId"])):
        return None
    previous = (tags or {}).get(REPLACES_TAG)
    if previous and tags is not None and tags.get(REQUEST_HASH_TAG) == kind.request_hash(current):
        _log_rollback(name, previous, "the job of the rolled back update replaced it")
        return previous
    # A job of an earlier release (no tags), or gone: keep it, start nothing.
    _log_rollback(name, name, "no job of the requested properties is known; keeping this one")
    return name


def _log_rollback(physical_id: str, target: str, why: str) -> None:
    print(json.dumps({"rollback": {"physicalResourceId": physical_id, "to": target, "why": why}}))


def _stack_rolling_back(runtime: Runtime, stack_id: str) -> bool:
    """Whether the stack is rolling back an update (``cloudformation:DescribeStacks``
    on the event's own stack)."""
    try:
        response = _call(
            runtime,
            "DescribeStacks",
            runtime.cloudformation.describe_stacks,
            StackName=stack_id,
        )
    except ClientError as error:
        code, message = _error(error)
        raise TrainingJobError(
            f"DescribeStacks for stack {stack_id} failed ({code}): {message} The provider "
            "reads its stack's status to tell a rollback (which must not start a job) "
            "from an update: allow it cloudformation:DescribeStacks on this stack."
        ) from error
    stacks = response.get("Stacks") or []
    return bool(stacks) and stacks[0]["StackStatus"] in ROLLING_BACK_STATUSES


def _rollback_attributes(runtime: Runtime, kind: JobKind, name: str) -> dict[str, str]:
    """The attributes of the job a rollback returned to, whatever its state: a
    rollback neither waits nor fails."""
    description = _describe(runtime, kind, name)
    if description is None:
        print(json.dumps({"warning": "the job rolled back to no longer exists", "job": name}))
        return {kind.name_field: name}
    if description[kind.status_field] == "Completed":
        try:
            return _attributes(runtime, kind, description)
        except TrainingJobError as error:
            print(json.dumps({"warning": str(error), "job": name}))
    return {
        kind.name_field: description[kind.name_field],
        kind.arn_field: description[kind.arn_field],
        kind.status_field: description[kind.status_field],
    }


def _delete(event: Mapping[str, Any], runtime: Runtime, kind: JobKind) -> dict[str, Any]:
    name = event["PhysicalResourceId"]
    if kind.is_name(name):
        description = _describe(runtime, kind, name)
        if description is not None and description[kind.status_field] == "InProgress":
            _stop(runtime, kind, name)
    return {"PhysicalResourceId": name}


def _delete_complete(event: Mapping[str, Any], runtime: Runtime, kind: JobKind, name: str) -> bool:
    if not kind.is_name(name):
        # The physical id of a Create that failed before a job existed.
        return True
    description = _describe(runtime, kind, name)
    if description is None:
        return True
    status = description[kind.status_field]
    if status == "InProgress":
        _stop(runtime, kind, name)
        return False
    if status == "Stopping":
        return False
    if status in ("Deleting", "DeleteFailed"):
        # Deleted (or being deleted) outside CloudFormation: nothing left to do.
        return True
    if not _network_released(runtime, kind, description):
        return False
    removal = str(event["ResourceProperties"].get(REMOVAL_POLICY, "retain"))
    if removal.lower() == "destroy":
        operation = kind.delete_operation
        try:
            _call(runtime, operation, _operation(runtime, operation), **{kind.name_field: name})
        except ClientError as error:
            if not _is_not_found(error):
                code, message = _error(error)
                raise TrainingJobError(
                    f"{operation} for {kind.noun.lower()} {name} failed ({code}): {message}"
                ) from error
    return True


def _result(event: Mapping[str, Any], runtime: Runtime, kind: JobKind) -> dict[str, Any]:
    """The result resource of a job: its physical id is the job's name; is_complete
    reads the attributes."""
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    name = str(event["ResourceProperties"][kind.name_property])
    return {"PhysicalResourceId": name, "Data": {CREATED_AT: _now(runtime)}}


def _result_complete(event: Mapping[str, Any], runtime: Runtime, kind: JobKind) -> dict[str, Any]:
    """The attributes of a job that completed. Created after the job's wait
    condition, the job has ended. Updated to another job without a new wait
    condition (a replacement CloudFormation made at deploy time, because a value
    the job refers to changed), it waits for that job like Completion.wait()."""
    name = str(event["ResourceProperties"][kind.name_property])
    description = _describe(runtime, kind, name)
    if description is None:
        raise TrainingJobError(
            f"{kind.noun} {name} no longer exists, so its results cannot be read: it "
            "was deleted outside CloudFormation. Deploy again to start a new job."
        )
    status = description[kind.status_field]
    if status == "Completed":
        return {"IsComplete": True, "Data": _attributes(runtime, kind, description)}
    if status not in RUNNING_STATUSES:
        raise TrainingJobError(_failure_message(kind, description))
    limit = event["ResourceProperties"].get(WAIT_TIMEOUT)
    created = event.get("Data", {}).get(CREATED_AT)
    if limit is not None and created is not None:
        waited = runtime.now().timestamp() - float(created)
        if waited > float(limit):
            raise TrainingJobError(
                f"{kind.noun} {name} is still {status} after its result resource waited "
                f"{waited:.0f} s, as long as a custom resource can. The job was replaced by "
                "a change CloudFormation made at deploy time (a value it refers to changed) "
                "while its wait condition stayed the same, so nothing longer waits for it. "
                "Change a property of the job itself with such changes: that creates a new "
                "wait condition."
            )
    return {"IsComplete": False}


def _signal_if_ended(event: Mapping[str, Any], runtime: Runtime, kind: JobKind) -> dict[str, Any]:
    """Signal the wait condition if the job ended before its state-change rule
    existed (a short job races the rule's creation)."""
    properties = event["ResourceProperties"]
    name = str(properties[kind.name_property])
    physical_id = f"{name}-signal"
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    description = _describe(runtime, kind, name)
    if description is not None and description[kind.status_field] in TERMINAL:
        status = description[kind.status_field]
        runtime.put(
            str(properties[HANDLE_URL]),
            signal_body(name, status, description.get("FailureReason"), kind.noun),
        )
    return {"PhysicalResourceId": physical_id}


def _now(runtime: Runtime) -> str:
    return f"{runtime.now().timestamp():.0f}"


def _poll_due(event: Mapping[str, Any], runtime: Runtime) -> bool:
    """Whether this poll should ask SageMaker: polls come every query interval, but
    a job with a longer poll interval is described once per interval only."""
    interval = float(event["ResourceProperties"].get(POLL_INTERVAL) or 0)
    created = event.get("Data", {}).get(CREATED_AT)
    if interval <= QUERY_INTERVAL_SECONDS or created is None:
        return True
    elapsed = runtime.now().timestamp() - float(created)
    if elapsed < QUERY_INTERVAL_SECONDS:
        return True  # the first poll: catch a job that fails at once
    return elapsed // interval > (elapsed - QUERY_INTERVAL_SECONDS) // interval


# ---------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------


def render_request(
    properties: Mapping[str, Any], client: SageMakerClient, kind: JobKind = TRAINING
) -> dict[str, Any]:
    """The Create request of the resource properties, in API types."""
    prop = kind.request_property
    raw = properties.get(prop)
    if not isinstance(raw, dict):
        raise TrainingJobError(
            f"The resource property {prop} must be an object holding the "
            f"{kind.create_operation} request, got {raw!r}"
        )
    shape = client.meta.service_model.operation_model(kind.create_operation).input_shape
    if shape is None:  # pragma: no cover - the model always has an input shape
        raise TrainingJobError(f"The SageMaker model has no {kind.create_operation} input shape")
    try:
        request: dict[str, Any] = coerce(raw, shape)
    except CoercionError as error:
        raise TrainingJobError(f"Invalid {prop}: {error}") from error
    return request


def needs_replacement(
    old: Mapping[str, Any], new: Mapping[str, Any], kind: JobKind = TRAINING
) -> bool:
    """Whether a change of request needs a new job."""
    return kind.without_in_place(old) != kind.without_in_place(new)


def update_request(
    old: Mapping[str, Any], new: Mapping[str, Any], description: Mapping[str, Any]
) -> dict[str, Any]:
    """The UpdateTrainingJob parameters (without the name) for the in-place changes
    that can still affect the job: profiler and remote debug while it runs, the
    warm-pool keep-alive while it runs or its warm pool is available."""
    status = description.get("TrainingJobStatus")
    pool = description.get("WarmPoolStatus", {}).get("Status")
    running = status == "InProgress"
    update: dict[str, Any] = {}
    if running and old.get("ProfilerConfig") != new.get("ProfilerConfig"):
        update["ProfilerConfig"] = new.get("ProfilerConfig") or {"DisableProfiler": True}
    if running and old.get("ProfilerRuleConfigurations") != new.get("ProfilerRuleConfigurations"):
        rules = new.get("ProfilerRuleConfigurations")
        if rules:
            update["ProfilerRuleConfigurations"] = rules
    if running and old.get("RemoteDebugConfig") != new.get("RemoteDebugConfig"):
        update["RemoteDebugConfig"] = {
            "EnableRemoteDebug": bool(
                (new.get("RemoteDebugConfig") or {}).get("EnableRemoteDebug", False)
            )
        }
    old_keep = old.get("ResourceConfig", {}).get("KeepAlivePeriodInSeconds")
    new_keep = new.get("ResourceConfig", {}).get("KeepAlivePeriodInSeconds")
    if old_keep != new_keep and (running or pool == "Available"):
        update["ResourceConfig"] = {"KeepAlivePeriodInSeconds": new_keep or 0}
    return update


def _update_in_place(
    runtime: Runtime, kind: JobKind, name: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> None:
    if _without_tags(old) == _without_tags(new) and _tags(old) == _tags(new):
        return
    description = _describe(runtime, kind, name)
    if description is None:
        raise TrainingJobError(
            f"{kind.noun} {name} no longer exists, so it cannot be changed: it was "
            "deleted outside CloudFormation. Change another property to start a new job."
        )
    _update_tags(runtime, kind, name, description[kind.arn_field], old=_tags(old), new=_tags(new))
    # A tuning job changes nothing but its tags in place.
    update = update_request(old, new, description) if kind.has_update_operation else {}
    if update:
        try:
            _call(
                runtime,
                "UpdateTrainingJob",
                runtime.sagemaker.update_training_job,
                TrainingJobName=name,
                **update,
            )
        except ClientError as error:
            code, message = _error(error)
            raise TrainingJobError(
                f"UpdateTrainingJob for training job {name} failed ({code}): {message}"
            ) from error


def _without_tags(request: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in request.items() if k != "Tags"}


def _tags(request: Mapping[str, Any]) -> dict[str, str]:
    return {
        tag["Key"]: tag["Value"]
        for tag in request.get("Tags", [])
        if tag["Key"] not in LIBRARY_TAGS
    }


def _update_tags(
    runtime: Runtime,
    kind: JobKind,
    name: str,
    arn: str,
    *,
    old: dict[str, str],
    new: dict[str, str],
) -> None:
    removed = sorted(set(old) - set(new))
    changed: list[TagTypeDef] = [{"Key": k, "Value": v} for k, v in new.items() if old.get(k) != v]
    try:
        if removed:
            _call(
                runtime,
                "DeleteTags",
                runtime.sagemaker.delete_tags,
                ResourceArn=arn,
                TagKeys=removed,
            )
        if changed:
            _call(runtime, "AddTags", runtime.sagemaker.add_tags, ResourceArn=arn, Tags=changed)
    except ClientError as error:
        code, message = _error(error)
        raise TrainingJobError(
            f"Updating the tags of {kind.noun.lower()} {name} failed ({code}): {message}"
        ) from error


def generated_name(
    prefix: str,
    *,
    stack_id: str,
    logical_id: str,
    request_id: str,
    max_length: int = MAX_NAME_LENGTH,
    default_prefix: str = DEFAULT_NAME_PREFIX,
) -> str:
    """A deterministic job name: ``<prefix>-<hash of stack, resource and request>``.

    The same request (a retry) gives the same name; another request, another name.
    The result is at most ``max_length`` characters (63 for a training job, 32 for a
    tuning job) and matches the API's name pattern; ``default_prefix`` stands in
    for a prefix without usable characters.
    """
    digest = hashlib.sha256(f"{stack_id}|{logical_id}|{request_id}".encode()).hexdigest()
    clean = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")
    clean = clean[: max_length - NAME_HASH_LENGTH - 1].rstrip("-")
    fallback = default_prefix[: max_length - NAME_HASH_LENGTH - 1].rstrip("-")
    return f"{clean or fallback}-{digest[:NAME_HASH_LENGTH]}"


def is_job_name(value: str, kind: JobKind = TRAINING) -> bool:
    """Whether ``value`` can be a job name of ``kind`` at all."""
    return kind.is_name(value)


def _attributes(runtime: Runtime, kind: JobKind, description: Description) -> dict[str, str]:
    if kind is TUNING:
        return tuning_attributes(description, _best_training_job(runtime, description))
    return attributes(description)


def attributes(description: Description) -> dict[str, str]:
    """The attributes a completed job exposes to the stack (``Fn::GetAtt``)."""
    data = {
        "TrainingJobName": description["TrainingJobName"],
        "TrainingJobArn": description["TrainingJobArn"],
        "ModelArtifacts": description.get("ModelArtifacts", {}).get("S3ModelArtifacts", ""),
        "TrainingJobStatus": description["TrainingJobStatus"],
        "BillableTimeInSeconds": str(description.get("BillableTimeInSeconds", 0)),
        "TrainingTimeInSeconds": str(description.get("TrainingTimeInSeconds", 0)),
    }
    size = len(json.dumps(data))
    for metric in description.get("FinalMetricDataList", []):
        key = f"Metric.{metric.get('MetricName', '')}"
        value = repr(float(metric.get("Value", 0.0)))
        size += len(json.dumps({key: value})) - 1
        if size > MAX_DATA_BYTES:
            break
        data[key] = value
    return data


def tuning_attributes(description: Description, best: Description) -> dict[str, str]:
    """The attributes a completed tuning job exposes: its own, and those of its best
    training job (``best``, as DescribeTrainingJob returns it): the model artifacts,
    the objective's final value and the tuned hyperparameters (as many as fit the
    response)."""
    summary = description.get("BestTrainingJob") or {}
    objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    counters = description.get("TrainingJobStatusCounters") or {}
    data = {
        "HyperParameterTuningJobName": description["HyperParameterTuningJobName"],
        "HyperParameterTuningJobArn": description["HyperParameterTuningJobArn"],
        "HyperParameterTuningJobStatus": description["HyperParameterTuningJobStatus"],
        "BestTrainingJobName": best["TrainingJobName"],
        "BestTrainingJobArn": best["TrainingJobArn"],
        "BestModelArtifacts": best.get("ModelArtifacts", {}).get("S3ModelArtifacts", ""),
        "BestObjectiveMetric": str(objective.get("MetricName", "")),
        "BestObjectiveValue": repr(float(objective.get("Value", 0.0))),
        "TrainingJobsCompleted": str(counters.get("Completed", 0)),
    }
    size = len(json.dumps(data))
    for key, value in sorted((summary.get("TunedHyperParameters") or {}).items()):
        entry = {f"BestHyperParameter.{key}": str(value)}
        size += len(json.dumps(entry)) - 1
        if size > MAX_DATA_BYTES:
            break
        data.update(entry)
    return data


def _best_training_job(runtime: Runtime, description: Description) -> Description:
    """DescribeTrainingJob of a completed tuning job's best training job."""
    name = description["HyperParameterTuningJobName"]
    summary = description.get("BestTrainingJob")
    if not summary:
        counters = description.get("ObjectiveStatusCounters") or {}
        raise TrainingJobError(
            f"Hyperparameter tuning job {name} completed without a best training job: "
            f"no training job reported the objective metric ({counters.get('Succeeded', 0)} "
            f"succeeded, {counters.get('Failed', 0)} failed to report it). Check that the "
            "objective's metric name matches a metric definition (or a built-in "
            "algorithm's metric), and the training jobs' logs in the CloudWatch log group "
            f"/aws/sagemaker/TrainingJobs, streams {name}-*."
        )
    best = _describe(runtime, TRAINING, str(summary["TrainingJobName"]))
    if best is None:
        raise TrainingJobError(
            f"The best training job {summary['TrainingJobName']} of hyperparameter tuning "
            f"job {name} no longer exists, so its model artifacts cannot be read: it was "
            "deleted outside CloudFormation. Deploy again to start a new tuning job."
        )
    return best


def _failure_message(kind: JobKind, description: Description) -> str:
    if kind is TUNING:
        return tuning_failure_message(description)
    return failure_message(description)


def tuning_failure_message(description: Description) -> str:
    """What CloudFormation shows when a tuning job ends without completing."""
    name = description["HyperParameterTuningJobName"]
    status = description["HyperParameterTuningJobStatus"]
    reason = description.get("FailureReason") or "no reason given"
    counters = description.get("TrainingJobStatusCounters") or {}
    jobs = ", ".join(
        f"{counters[key]} {label}"
        for key, label in (
            ("Completed", "completed"),
            ("InProgress", "in progress"),
            ("RetryableError", "failed with a retryable error"),
            ("NonRetryableError", "failed"),
            ("Stopped", "stopped"),
        )
        if counters.get(key)
    )
    return (
        f"Hyperparameter tuning job {name} ended {status}: "
        f"{truncate(reason, MAX_REASON_CHARS)}. Its training jobs: {jobs or 'none'}; their "
        f"logs are in the CloudWatch log group /aws/sagemaker/TrainingJobs, streams "
        f"{name}-*. Fix the cause and deploy again."
    )


def failure_message(description: Description) -> str:
    """What CloudFormation shows when the job ends without completing."""
    name = description["TrainingJobName"]
    status = description["TrainingJobStatus"]
    reason = description.get("FailureReason") or "no reason given"
    secondary = description.get("SecondaryStatus")
    detail = f" (secondary status {secondary})" if secondary else ""
    return (
        f"Training job {name} ended {status}{detail}: {truncate(reason, MAX_REASON_CHARS)}. "
        f"Its logs are in the CloudWatch log group /aws/sagemaker/TrainingJobs, streams "
        f"{name}/*. Fix the cause and deploy again."
    )


def _check_wait_deadline(
    event: Mapping[str, Any], runtime: Runtime, kind: JobKind, description: Description
) -> None:
    limit = event["ResourceProperties"].get(WAIT_TIMEOUT)
    if limit is None:
        return
    started = description["CreationTime"]
    data = event.get("Data", {})
    if data.get(AWAITING_QUOTA) and data.get(CREATED_AT):
        # It waited for a quota slot: CloudFormation's clock ran from the start.
        started = dt.datetime.fromtimestamp(float(data[CREATED_AT]), dt.UTC)
    waited = runtime.now() - started
    if waited.total_seconds() <= float(limit):
        return
    name = description[kind.name_field]
    secondary = description.get("SecondaryStatus")
    detail = f" (secondary status {secondary})" if secondary else ""
    raise TrainingJobError(
        f"{kind.noun} {name} is still {description[kind.status_field]}{detail} after "
        f"{waited.total_seconds():.0f} s, longer than the deployment can wait "
        f"({float(limit):.0f} s). The rollback stops it. Lower max_runtime, or use a "
        "completion mode for long jobs."
    )


def _vpc_config(description: Description) -> Mapping[str, Any] | None:
    """The VPC a job's instances ran in: a training job's, or the (first) training
    definition's of a tuning job."""
    vpc = _training_definition(description).get("VpcConfig")
    return vpc if isinstance(vpc, Mapping) and vpc else None


def _network_released(runtime: Runtime, kind: JobKind, description: Description) -> bool:
    """Whether SageMaker released the network interfaces of an ended VPC job (or the
    bounded wait for it is over)."""
    vpc = _vpc_config(description)
    if not vpc:
        return True
    ended = description.get(kind.end_time_field) or description.get("LastModifiedTime")
    if ended is not None and runtime.now() - ended > ENI_RELEASE_LIMIT:
        print(
            json.dumps(
                {
                    "warning": "network interfaces still present after the wait limit",
                    "job": description[kind.name_field],
                }
            )
        )
        return True
    response = _call(
        runtime,
        "DescribeNetworkInterfaces",
        runtime.ec2.describe_network_interfaces,
        Filters=[
            {"Name": "group-id", "Values": list(vpc["SecurityGroupIds"])},
            {"Name": "subnet-id", "Values": list(vpc["Subnets"])},
            {"Name": "requester-managed", "Values": ["true"]},
        ],
    )
    return not response.get("NetworkInterfaces")


def _operation(runtime: Runtime, operation: str) -> Callable[..., Any]:
    """The SageMaker client's method for ``operation`` (``CreateTrainingJob`` ->
    ``create_training_job``)."""
    method: Callable[..., Any] = getattr(runtime.sagemaker, _snake(operation))
    return method


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _describe(runtime: Runtime, kind: JobKind, name: str) -> Description | None:
    operation = kind.describe_operation
    try:
        description: Description = _call(
            runtime, operation, _operation(runtime, operation), **{kind.name_field: name}
        )
    except ClientError as error:
        if _is_not_found(error):
            return None
        code, message = _error(error)
        raise TrainingJobError(
            f"{operation} for {kind.noun.lower()} {name} failed ({code}): {message}"
        ) from error
    return description


def _stop(runtime: Runtime, kind: JobKind, name: str) -> None:
    operation = kind.stop_operation
    try:
        _call(runtime, operation, _operation(runtime, operation), **{kind.name_field: name})
    except ClientError as error:
        if _is_not_found(error):
            return
        code, message = _error(error)
        if code == "ValidationException":
            # The job ended between describe and stop: nothing left to stop.
            return
        raise TrainingJobError(
            f"{operation} for {kind.noun.lower()} {name} failed ({code}): {message}"
        ) from error


def _owner(runtime: Runtime, kind: JobKind, name: str) -> str | None:
    """The CloudFormation request id that created job ``name``, from its tag."""
    tags = _job_tags(runtime, kind, name)
    return None if tags is None else tags.get(OWNER_TAG)


def _job_tags(runtime: Runtime, kind: JobKind, name: str) -> dict[str, str] | None:
    """The tags of job ``name``; None when there is no such job."""
    if not kind.is_name(name):
        return None
    description = _describe(runtime, kind, name)
    if description is None:
        return None
    response = _call(
        runtime,
        "ListTags",
        runtime.sagemaker.list_tags,
        ResourceArn=description[kind.arn_field],
    )
    return {tag["Key"]: tag["Value"] for tag in response.get("Tags", [])}


def _call(runtime: Runtime, operation: str, function: Callable[..., T], /, **params: Any) -> T:
    """Call an API, retrying with capped exponential backoff what is worth retrying,
    within a bounded time."""
    budget = THROTTLE_BUDGET_SECONDS
    started = runtime.clock()
    delay = FIRST_DELAY_SECONDS
    while True:
        try:
            return function(**params)
        except ClientError as error:
            if operation.startswith("Create") and _is_role_not_assumable(error):
                budget = ROLE_PROPAGATION_BUDGET_SECONDS
            elif not _is_retryable(operation, error):
                raise
            pause = delay * runtime.jitter()
            if runtime.clock() - started + pause > budget:
                raise
            print(json.dumps({"retry": operation, "error": _error(error)[0], "after": pause}))
            runtime.sleep(pause)
            delay = min(delay * 2, MAX_DELAY_SECONDS)


def _is_retryable(operation: str, error: ClientError) -> bool:
    code, _ = _error(error)
    if code in THROTTLING_CODES:
        return True
    # On reads and stops, a quota answer means "busy": wait. On create it is final.
    return code == "ResourceLimitExceeded" and not operation.startswith("Create")


def _is_role_not_assumable(error: ClientError) -> bool:
    code, message = _error(error)
    return code == "ValidationException" and _ROLE_NOT_ASSUMABLE.search(message) is not None


def _error(error: ClientError) -> tuple[str, str]:
    details = error.response.get("Error", {})
    return str(details.get("Code", "")), str(details.get("Message", ""))


def _is_not_found(error: ClientError) -> bool:
    code, message = _error(error)
    if code == "ResourceNotFound":
        return True
    # SageMaker reports an unknown job name as a ValidationException.
    return code == "ValidationException" and "not found" in message.lower()
