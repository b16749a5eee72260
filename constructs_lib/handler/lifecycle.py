"""The lifecycle of a SageMaker training job as a CloudFormation custom resource.

Plain functions that take a SageMaker client, so tests can drive them with a fake.
``on_event`` starts the work of a CloudFormation event; ``is_complete`` is polled by
the provider framework until the work is done (for Create, Update and Delete alike).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .coerce import CoercionError, coerce
from .properties import NAME_PREFIX, REMOVAL_POLICY, REQUEST

if TYPE_CHECKING:
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
FAILED_STATUSES = frozenset({"Failed", "Stopped"})

# A custom resource response must stay under 4 KB: the reason and the data share it.
MAX_REASON_CHARS = 1000
MAX_MESSAGE_CHARS = 1500
MAX_DATA_BYTES = 2000

# Request members that can change without training again.
IN_PLACE_MEMBERS = frozenset({"Tags"})


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


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------


def on_event(event: Mapping[str, Any], client: SageMakerClient) -> dict[str, Any]:
    """Start the work of a CloudFormation Create, Update or Delete event."""
    request_type = event["RequestType"]
    if request_type == "Create":
        return _create(event, client)
    if request_type == "Update":
        return _update(event, client)
    if request_type == "Delete":
        return _delete(event, client)
    raise TrainingJobError(f"Unknown CloudFormation request type {request_type!r}")


def is_complete(event: Mapping[str, Any], client: SageMakerClient) -> dict[str, Any]:
    """Tell the provider framework whether the event's work is done."""
    name = event["PhysicalResourceId"]
    if event["RequestType"] == "Delete":
        return {"IsComplete": _delete_complete(event, client, name)}
    description = _describe(client, name)
    if description is None:
        raise TrainingJobError(
            f"Training job {name} no longer exists while the deployment waits for it: "
            "it was deleted outside CloudFormation. Deploy again to start a new job."
        )
    status = description["TrainingJobStatus"]
    if status in RUNNING_STATUSES:
        return {"IsComplete": False}
    if status == "Completed":
        return {"IsComplete": True, "Data": attributes(description)}
    raise TrainingJobError(failure_message(description))


# ---------------------------------------------------------------------------
# Create / Update / Delete
# ---------------------------------------------------------------------------


def _create(event: Mapping[str, Any], client: SageMakerClient) -> dict[str, Any]:
    properties = event["ResourceProperties"]
    request = render_request(properties, client)
    fixed_name = request.get("TrainingJobName")
    name = fixed_name or generated_name(
        properties.get(NAME_PREFIX, DEFAULT_NAME_PREFIX),
        stack_id=event["StackId"],
        logical_id=event["LogicalResourceId"],
        request_id=event["RequestId"],
    )
    request["TrainingJobName"] = name
    try:
        client.create_training_job(**request)
    except ClientError as error:
        code, message = _error(error)
        if code == "ResourceInUse" and not fixed_name:
            # The name hashes this request's id: only a retry of this very request
            # can have created it, so the job is ours to adopt.
            return {"PhysicalResourceId": name}
        if code == "ResourceInUse":
            raise TrainingJobError(
                f"Training job name {name} is already in use in this account and region. "
                "Training job names are unique and cannot be reused, even after the job "
                "ended: set another training_job_name, or leave it unset to let the "
                "library generate one."
            ) from error
        raise TrainingJobError(
            f"CreateTrainingJob for training job {name} failed ({code}): {message}"
        ) from error
    return {"PhysicalResourceId": name}


def _update(event: Mapping[str, Any], client: SageMakerClient) -> dict[str, Any]:
    name = event["PhysicalResourceId"]
    old = render_request(event["OldResourceProperties"], client)
    new = render_request(event["ResourceProperties"], client)
    if not needs_replacement(old, new):
        _update_tags(client, name, old.get("Tags", []), new.get("Tags", []))
        return {"PhysicalResourceId": name}
    if new.get("TrainingJobName") == name:
        raise TrainingJobError(
            f"Training job {name} must be replaced to apply this change (only tags change "
            "in place), but its name is fixed by training_job_name and a job name cannot "
            "be reused. Change training_job_name, or leave it unset to let the library "
            "generate a new name for each job."
        )
    # A new job under a new name; CloudFormation then deletes the old one.
    return _create(event, client)


def _delete(event: Mapping[str, Any], client: SageMakerClient) -> dict[str, Any]:
    name = event["PhysicalResourceId"]
    if is_job_name(name):
        description = _describe(client, name)
        if description is not None and description["TrainingJobStatus"] == "InProgress":
            _stop(client, name)
    return {"PhysicalResourceId": name}


def _delete_complete(event: Mapping[str, Any], client: SageMakerClient, name: str) -> bool:
    if not is_job_name(name):
        # The physical id of a Create that failed before a job existed.
        return True
    description = _describe(client, name)
    if description is None:
        return True
    status = description["TrainingJobStatus"]
    if status == "InProgress":
        _stop(client, name)
        return False
    if status == "Stopping":
        return False
    if status == "Deleting":
        return True
    removal = str(event["ResourceProperties"].get(REMOVAL_POLICY, "retain"))
    if removal.lower() == "destroy":
        try:
            client.delete_training_job(TrainingJobName=name)
        except ClientError as error:
            if not _is_not_found(error):
                code, message = _error(error)
                raise TrainingJobError(
                    f"DeleteTrainingJob for training job {name} failed ({code}): {message}"
                ) from error
    return True


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

    def strip(request: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in request.items() if k not in IN_PLACE_MEMBERS}

    return strip(old) != strip(new)


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


def _describe(client: SageMakerClient, name: str) -> DescribeTrainingJobResponseTypeDef | None:
    try:
        return client.describe_training_job(TrainingJobName=name)
    except ClientError as error:
        if _is_not_found(error):
            return None
        code, message = _error(error)
        raise TrainingJobError(
            f"DescribeTrainingJob for training job {name} failed ({code}): {message}"
        ) from error


def _stop(client: SageMakerClient, name: str) -> None:
    try:
        client.stop_training_job(TrainingJobName=name)
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


def _update_tags(
    client: SageMakerClient,
    name: str,
    old: list[dict[str, str]],
    new: list[dict[str, str]],
) -> None:
    old_tags = {tag["Key"]: tag["Value"] for tag in old}
    new_tags = {tag["Key"]: tag["Value"] for tag in new}
    if old_tags == new_tags:
        return
    description = _describe(client, name)
    if description is None:
        raise TrainingJobError(
            f"Training job {name} no longer exists, so its tags cannot be changed: it was "
            "deleted outside CloudFormation. Change another property to start a new job."
        )
    arn = description["TrainingJobArn"]
    removed = sorted(set(old_tags) - set(new_tags))
    changed: list[TagTypeDef] = [
        {"Key": k, "Value": v} for k, v in new_tags.items() if old_tags.get(k) != v
    ]
    try:
        if removed:
            client.delete_tags(ResourceArn=arn, TagKeys=removed)
        if changed:
            client.add_tags(ResourceArn=arn, Tags=changed)
    except ClientError as error:
        code, message = _error(error)
        raise TrainingJobError(
            f"Updating the tags of training job {name} failed ({code}): {message}"
        ) from error


def _error(error: ClientError) -> tuple[str, str]:
    details = error.response.get("Error", {})
    return str(details.get("Code", "")), str(details.get("Message", ""))


def _is_not_found(error: ClientError) -> bool:
    code, message = _error(error)
    if code == "ResourceNotFound":
        return True
    # SageMaker reports an unknown job name as a ValidationException.
    return code == "ValidationException" and "not found" in message.lower()
