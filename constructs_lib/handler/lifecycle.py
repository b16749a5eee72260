"""The lifecycle of a SageMaker training job as a CloudFormation custom resource.

Plain functions that take a :class:`Runtime` (the AWS clients, a clock and a sleep),
so tests drive them with fakes and a simulated clock. ``on_event`` starts the work of
a CloudFormation event; ``is_complete`` is polled by the provider framework until the
work is done, for Create, Update and Delete alike.
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
from .properties import (
    COMPLETION,
    HANDLE_URL,
    JOB_NAME,
    LIBRARY_TAGS,
    NAME_PREFIX,
    OWNER_TAG,
    POLL_INTERVAL,
    QUERY_INTERVAL_SECONDS,
    REMOVAL_POLICY,
    REPLACES_TAG,
    REQUEST,
    REQUEST_HASH_TAG,
    RESULT_RESOURCE_TYPE,
    ROLLBACK,
    SIGNAL_RESOURCE_TYPE,
    WAIT_TIMEOUT,
    request_hash,
    without_in_place,
)
from .signal import TERMINAL, Put, put_signal, signal_body

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import (
        DescribeTrainingJobResponseTypeDef,
        TagTypeDef,
    )

MAX_NAME_LENGTH = 63
NAME_HASH_LENGTH = 12
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
DEFAULT_NAME_PREFIX = "training-job"

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
    resource_type = event.get("ResourceType")
    if resource_type == RESULT_RESOURCE_TYPE:
        return _result(event, runtime)
    if resource_type == SIGNAL_RESOURCE_TYPE:
        return _signal_if_ended(event, runtime)
    request_type = event["RequestType"]
    if request_type == "Create":
        return _create(event, runtime)
    if request_type == "Update":
        return _update(event, runtime)
    if request_type == "Delete":
        return _delete(event, runtime)
    raise TrainingJobError(f"Unknown CloudFormation request type {request_type!r}")


def is_complete(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """Tell the provider framework whether the event's work is done."""
    resource_type = event.get("ResourceType")
    if resource_type == SIGNAL_RESOURCE_TYPE:
        return {"IsComplete": True}  # on_event did all of it
    if resource_type == RESULT_RESOURCE_TYPE:
        if event["RequestType"] == "Delete":
            return {"IsComplete": True}
        return _result_complete(event, runtime)
    name = event["PhysicalResourceId"]
    if event["RequestType"] == "Delete":
        return {"IsComplete": _delete_complete(event, runtime, name)}
    if event.get("Data", {}).get(ROLLBACK):
        return {"IsComplete": True, "Data": _rollback_attributes(runtime, name)}
    properties = event["ResourceProperties"]
    created_only = properties.get(COMPLETION) == "created"
    if not created_only and not _poll_due(event, runtime):
        return {"IsComplete": False}
    description = _describe(runtime, name)
    if description is None:
        raise TrainingJobError(
            f"Training job {name} no longer exists while the deployment waits for it: "
            "it was deleted outside CloudFormation. Deploy again to start a new job."
        )
    if created_only:
        # A wait condition (or nothing) waits for the end; the job exists: done.
        return {
            "IsComplete": True,
            "Data": {
                "TrainingJobName": description["TrainingJobName"],
                "TrainingJobArn": description["TrainingJobArn"],
            },
        }
    status = description["TrainingJobStatus"]
    if status == "Completed":
        return {"IsComplete": True, "Data": attributes(description)}
    if status in RUNNING_STATUSES:
        _check_wait_deadline(event, runtime, description)
        return {"IsComplete": False}
    raise TrainingJobError(failure_message(description))


# ---------------------------------------------------------------------------
# Create / Update / Delete
# ---------------------------------------------------------------------------


def _create(
    event: Mapping[str, Any], runtime: Runtime, *, replaces: str | None = None
) -> dict[str, Any]:
    properties = event["ResourceProperties"]
    request = render_request(properties, runtime.sagemaker)
    digest = request_hash(request)
    fixed_name = request.get("TrainingJobName")
    name = fixed_name or generated_name(
        properties.get(NAME_PREFIX, DEFAULT_NAME_PREFIX),
        stack_id=event["StackId"],
        logical_id=event["LogicalResourceId"],
        request_id=event["RequestId"],
    )
    request["TrainingJobName"] = name
    request_id = str(event["RequestId"])
    library_tags = [
        {"Key": OWNER_TAG, "Value": request_id},
        {"Key": REQUEST_HASH_TAG, "Value": digest},
    ]
    if replaces is not None:
        library_tags.append({"Key": REPLACES_TAG, "Value": replaces})
    request["Tags"] = [
        *(tag for tag in request.get("Tags", []) if tag["Key"] not in LIBRARY_TAGS),
        *library_tags,
    ]
    try:
        _call(
            runtime,
            "CreateTrainingJob",
            runtime.sagemaker.create_training_job,
            **request,
        )
    except ClientError as error:
        code, message = _error(error)
        if code == "ResourceInUse":
            if _owner(runtime, name) == request_id:
                # A retry of this very request: the job is ours, adopt it.
                return {"PhysicalResourceId": name, "Data": {CREATED_AT: _now(runtime)}}
            raise TrainingJobError(
                f"Training job name {name} is already in use in this account and region by "
                "a job this deployment did not start. Training job names are unique and "
                "cannot be reused, even after the job ended: set another "
                "training_job_name, or leave it unset to let the library generate one."
            ) from error
        if code == "ResourceLimitExceeded":
            instance_type = request.get("ResourceConfig", {}).get("InstanceType", "?")
            raise TrainingJobError(
                f"CreateTrainingJob for training job {name} exceeded a SageMaker quota: "
                f"{message} Check the quota '{instance_type} for training job usage' (and "
                "the number of concurrent training jobs) in Service Quotas, request an "
                "increase or use another instance type, then deploy again."
            ) from error
        if _is_role_not_assumable(error):
            raise TrainingJobError(
                f"SageMaker could not assume the execution role {request.get('RoleArn')} "
                f"for training job {name}, even after retrying for "
                f"{ROLE_PROPAGATION_BUDGET_SECONDS:.0f} s: {message} Check that the role's "
                "trust policy allows sagemaker.amazonaws.com; if the role was just "
                "created, IAM may still be propagating it: deploy again."
            ) from error
        raise TrainingJobError(
            f"CreateTrainingJob for training job {name} failed ({code}): {message}"
        ) from error
    return {"PhysicalResourceId": name, "Data": {CREATED_AT: _now(runtime)}}


def _update(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    name = event["PhysicalResourceId"]
    old = render_request(event["OldResourceProperties"], runtime.sagemaker)
    new = render_request(event["ResourceProperties"], runtime.sagemaker)
    if not needs_replacement(old, new):
        _update_in_place(runtime, name, old, new)
        return {"PhysicalResourceId": name}
    target = _rollback_target(event, runtime, old, new)
    if target is not None:
        return {"PhysicalResourceId": target, "Data": {ROLLBACK: "true"}}
    if new.get("TrainingJobName") == name:
        raise TrainingJobError(
            f"Training job {name} must be replaced to apply this change (only tags, "
            "profiler, remote debug and warm-pool keep-alive change in place), but its "
            "name is fixed by training_job_name and a job name cannot be reused. Change "
            "training_job_name, or leave it unset to let the library generate a new name "
            "for each job."
        )
    # A new job under a new name; CloudFormation then deletes the old one.
    return _create(event, runtime, replaces=name)


def _rollback_target(
    event: Mapping[str, Any],
    runtime: Runtime,
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
    tags = _job_tags(runtime, name)
    if tags is not None and tags.get(REQUEST_HASH_TAG) == request_hash(requested):
        _log_rollback(name, name, "the job already has the requested properties")
        return name
    if not _stack_rolling_back(runtime, str(event["StackId"])):
        return None
    previous = (tags or {}).get(REPLACES_TAG)
    if previous and tags is not None and tags.get(REQUEST_HASH_TAG) == request_hash(current):
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
            "reads its stack's status to tell a rollback (which must not start a training "
            "job) from an update: allow it cloudformation:DescribeStacks on this stack."
        ) from error
    stacks = response.get("Stacks") or []
    return bool(stacks) and stacks[0]["StackStatus"] in ROLLING_BACK_STATUSES


def _rollback_attributes(runtime: Runtime, name: str) -> dict[str, str]:
    """The attributes of the job a rollback returned to, whatever its state: a
    rollback neither waits nor fails."""
    description = _describe(runtime, name)
    if description is None:
        print(json.dumps({"warning": "the job rolled back to no longer exists", "job": name}))
        return {"TrainingJobName": name}
    if description["TrainingJobStatus"] == "Completed":
        return attributes(description)
    return {
        "TrainingJobName": description["TrainingJobName"],
        "TrainingJobArn": description["TrainingJobArn"],
        "TrainingJobStatus": description["TrainingJobStatus"],
    }


def _delete(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    name = event["PhysicalResourceId"]
    if is_job_name(name):
        description = _describe(runtime, name)
        if description is not None and description["TrainingJobStatus"] == "InProgress":
            _stop(runtime, name)
    return {"PhysicalResourceId": name}


def _delete_complete(event: Mapping[str, Any], runtime: Runtime, name: str) -> bool:
    if not is_job_name(name):
        # The physical id of a Create that failed before a job existed.
        return True
    description = _describe(runtime, name)
    if description is None:
        return True
    status = description["TrainingJobStatus"]
    if status == "InProgress":
        _stop(runtime, name)
        return False
    if status == "Stopping":
        return False
    if status == "Deleting":
        return True
    if not _network_released(runtime, description):
        return False
    removal = str(event["ResourceProperties"].get(REMOVAL_POLICY, "retain"))
    if removal.lower() == "destroy":
        try:
            _call(
                runtime,
                "DeleteTrainingJob",
                runtime.sagemaker.delete_training_job,
                TrainingJobName=name,
            )
        except ClientError as error:
            if not _is_not_found(error):
                code, message = _error(error)
                raise TrainingJobError(
                    f"DeleteTrainingJob for training job {name} failed ({code}): {message}"
                ) from error
    return True


def _result(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """The result resource of a job: its physical id is the job's name; is_complete
    reads the attributes."""
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    name = str(event["ResourceProperties"][JOB_NAME])
    return {"PhysicalResourceId": name, "Data": {CREATED_AT: _now(runtime)}}


def _result_complete(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """The attributes of a job that completed. Created after the job's wait
    condition, the job has ended. Updated to another job without a new wait
    condition (a replacement CloudFormation made at deploy time, because a value
    the job refers to changed), it waits for that job like Completion.wait()."""
    name = str(event["ResourceProperties"][JOB_NAME])
    description = _describe(runtime, name)
    if description is None:
        raise TrainingJobError(
            f"Training job {name} no longer exists, so its results cannot be read: it "
            "was deleted outside CloudFormation. Deploy again to start a new job."
        )
    status = description["TrainingJobStatus"]
    if status == "Completed":
        return {"IsComplete": True, "Data": attributes(description)}
    if status not in RUNNING_STATUSES:
        raise TrainingJobError(failure_message(description))
    limit = event["ResourceProperties"].get(WAIT_TIMEOUT)
    created = event.get("Data", {}).get(CREATED_AT)
    if limit is not None and created is not None:
        waited = runtime.now().timestamp() - float(created)
        if waited > float(limit):
            raise TrainingJobError(
                f"Training job {name} is still {status} after its result resource waited "
                f"{waited:.0f} s, as long as a custom resource can. The job was replaced by "
                "a change CloudFormation made at deploy time (a value it refers to changed) "
                "while its wait condition stayed the same, so nothing longer waits for it. "
                "Change a property of the job itself with such changes: that creates a new "
                "wait condition."
            )
    return {"IsComplete": False}


def _signal_if_ended(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """Signal the wait condition if the job ended before its state-change rule
    existed (a short job races the rule's creation)."""
    properties = event["ResourceProperties"]
    name = str(properties[JOB_NAME])
    physical_id = f"{name}-signal"
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    description = _describe(runtime, name)
    if description is not None and description["TrainingJobStatus"] in TERMINAL:
        status = description["TrainingJobStatus"]
        runtime.put(
            str(properties[HANDLE_URL]),
            signal_body(name, status, description.get("FailureReason")),
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


def render_request(properties: Mapping[str, Any], client: SageMakerClient) -> dict[str, Any]:
    """The CreateTrainingJob request of the resource properties, in API types."""
    raw = properties.get(REQUEST)
    if not isinstance(raw, dict):
        raise TrainingJobError(
            f"The resource property {REQUEST} must be an object holding the "
            f"CreateTrainingJob request, got {raw!r}"
        )
    shape = client.meta.service_model.operation_model("CreateTrainingJob").input_shape
    if shape is None:  # pragma: no cover - the model always has an input shape
        raise TrainingJobError("The SageMaker model has no CreateTrainingJob input shape")
    try:
        request: dict[str, Any] = coerce(raw, shape)
    except CoercionError as error:
        raise TrainingJobError(f"Invalid {REQUEST}: {error}") from error
    return request


def needs_replacement(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether a change of request needs a new training job."""
    return without_in_place(old) != without_in_place(new)


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
    runtime: Runtime, name: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> None:
    if _without_tags(old) == _without_tags(new) and _tags(old) == _tags(new):
        return
    description = _describe(runtime, name)
    if description is None:
        raise TrainingJobError(
            f"Training job {name} no longer exists, so it cannot be changed: it was "
            "deleted outside CloudFormation. Change another property to start a new job."
        )
    _update_tags(runtime, name, description["TrainingJobArn"], _tags(old), _tags(new))
    update = update_request(old, new, description)
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
    runtime: Runtime, name: str, arn: str, old: dict[str, str], new: dict[str, str]
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
            f"Updating the tags of training job {name} failed ({code}): {message}"
        ) from error


def generated_name(prefix: str, *, stack_id: str, logical_id: str, request_id: str) -> str:
    """A deterministic job name: ``<prefix>-<hash of stack, resource and request>``.

    The same request (a retry) gives the same name; another request, another name.
    The result is at most 63 characters and matches the API's name pattern.
    """
    digest = hashlib.sha256(f"{stack_id}|{logical_id}|{request_id}".encode()).hexdigest()
    clean = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")
    clean = clean[: MAX_NAME_LENGTH - NAME_HASH_LENGTH - 1].rstrip("-")
    return f"{clean or DEFAULT_NAME_PREFIX}-{digest[:NAME_HASH_LENGTH]}"


def is_job_name(value: str) -> bool:
    """Whether ``value`` can be a training job name at all."""
    return len(value) <= MAX_NAME_LENGTH and NAME_PATTERN.match(value) is not None


def attributes(description: DescribeTrainingJobResponseTypeDef) -> dict[str, str]:
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


def failure_message(description: DescribeTrainingJobResponseTypeDef) -> str:
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
    event: Mapping[str, Any], runtime: Runtime, description: DescribeTrainingJobResponseTypeDef
) -> None:
    limit = event["ResourceProperties"].get(WAIT_TIMEOUT)
    if limit is None:
        return
    waited = runtime.now() - description["CreationTime"]
    if waited.total_seconds() <= float(limit):
        return
    name = description["TrainingJobName"]
    raise TrainingJobError(
        f"Training job {name} is still {description['TrainingJobStatus']} "
        f"(secondary status {description.get('SecondaryStatus', '?')}) after "
        f"{waited.total_seconds():.0f} s, longer than the deployment can wait "
        f"({float(limit):.0f} s). The rollback stops it. Lower max_runtime, or use a "
        "completion mode for long jobs."
    )


def _network_released(runtime: Runtime, description: DescribeTrainingJobResponseTypeDef) -> bool:
    """Whether SageMaker released the network interfaces of an ended VPC job (or the
    bounded wait for it is over)."""
    vpc = description.get("VpcConfig")
    if not vpc:
        return True
    ended = description.get("TrainingEndTime") or description.get("LastModifiedTime")
    if ended is not None and runtime.now() - ended > ENI_RELEASE_LIMIT:
        print(
            json.dumps(
                {
                    "warning": "network interfaces still present after the wait limit",
                    "job": description["TrainingJobName"],
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


def _describe(runtime: Runtime, name: str) -> DescribeTrainingJobResponseTypeDef | None:
    try:
        return _call(
            runtime,
            "DescribeTrainingJob",
            runtime.sagemaker.describe_training_job,
            TrainingJobName=name,
        )
    except ClientError as error:
        if _is_not_found(error):
            return None
        code, message = _error(error)
        raise TrainingJobError(
            f"DescribeTrainingJob for training job {name} failed ({code}): {message}"
        ) from error


def _stop(runtime: Runtime, name: str) -> None:
    try:
        _call(
            runtime,
            "StopTrainingJob",
            runtime.sagemaker.stop_training_job,
            TrainingJobName=name,
        )
    except ClientError as error:
        if _is_not_found(error):
            return
        code, message = _error(error)
        if code == "ValidationException":
            # The job ended between describe and stop: nothing left to stop.
            return
        raise TrainingJobError(
            f"StopTrainingJob for training job {name} failed ({code}): {message}"
        ) from error


def _owner(runtime: Runtime, name: str) -> str | None:
    """The CloudFormation request id that created job ``name``, from its tag."""
    tags = _job_tags(runtime, name)
    return None if tags is None else tags.get(OWNER_TAG)


def _job_tags(runtime: Runtime, name: str) -> dict[str, str] | None:
    """The tags of job ``name``; None when there is no such job."""
    if not is_job_name(name):
        return None
    description = _describe(runtime, name)
    if description is None:
        return None
    response = _call(
        runtime,
        "ListTags",
        runtime.sagemaker.list_tags,
        ResourceArn=description["TrainingJobArn"],
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
            if operation == "CreateTrainingJob" and _is_role_not_assumable(error):
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
    return code == "ResourceLimitExceeded" and operation != "CreateTrainingJob"


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
