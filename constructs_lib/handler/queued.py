"""Training jobs that go through an AWS Batch queue (``TrainingJob(queue=...)``): what
the provider does with service jobs.

The job is submitted as a service job of type ``SAGEMAKER_TRAINING`` carrying the
CreateTrainingJob request; Batch starts the training job (naming it itself,
``AWSBatch<name>...``) once its service environment has capacity, and may retry or
preempt it. The resource's physical id is the service job's ARN; its attributes come
from the training job of the latest attempt. Submitting is idempotent through a
client token of the CloudFormation request, so a retried Create finds its own job.

- Create: SubmitServiceJob (the library's tags on the service job, which Batch
  gives the training job).
- Poll: DescribeServiceJob; SUCCEEDED reads the training job; FAILED fails with
  Batch's reason and the training job's FailureReason.
- Update: a change of the request or the queue submits a new job (CloudFormation
  then deletes the old one), unless only members that change in place changed and
  the training job already started: then as for a direct job.
- Delete: TerminateServiceJob (Batch stops the training job), then wait until the
  service job ended; with RemovalPolicy.DESTROY delete the attempts' training jobs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from . import progress
from .calls import _call, _describe, _error, _is_not_found
from .kinds import TRAINING, JobKind
from .properties import COMPLETION, QUEUE, REMOVAL_POLICY, ROLLBACK, WAIT_TIMEOUT
from .runtime import CREATED_AT, Description, Runtime, TrainingJobError, _now

SERVICE_JOB_TYPE = "SAGEMAKER_TRAINING"
#: Batch's states of a service job that has not ended.
WAITING_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "SCHEDULED", "STARTING", "RUNNING")
#: Data keys of a queued job's resource.
SERVICE_JOB_ARN = "ServiceJobArn"
SERVICE_JOB_ID = "ServiceJobId"
#: Batch's limit of a client token.
MAX_CLIENT_TOKEN = 64
#: Batch's tags per service job.
MAX_BATCH_TAGS = 50
_NOT_FOUND = re.compile(r"not (be )?found|does not exist", re.IGNORECASE)


def is_queued(properties: Mapping[str, Any]) -> bool:
    """Whether the resource's job goes through an AWS Batch queue."""
    return isinstance(properties.get(QUEUE), Mapping)


def is_service_job(physical_id: str) -> bool:
    """Whether ``physical_id`` names a submitted service job (not a failed Create's)."""
    return physical_id.startswith("arn:") and ":service-job/" in physical_id


def client_token(event: Mapping[str, Any]) -> str:
    """The same for every try of one CloudFormation request of one resource."""
    text = f"{event['StackId']}|{event['LogicalResourceId']}|{event['RequestId']}"
    return hashlib.sha256(text.encode()).hexdigest()[:MAX_CLIENT_TOKEN]


def queue_settings(properties: Mapping[str, Any]) -> dict[str, Any]:
    settings = properties.get(QUEUE)
    return dict(settings) if isinstance(settings, Mapping) else {}


def submit(
    event: Mapping[str, Any], runtime: Runtime, name: str, request: dict[str, Any]
) -> dict[str, Any]:
    """Submit the job ``name`` (its CreateTrainingJob ``request``, with the library's
    tags): the resource's response."""
    settings = queue_settings(event["ResourceProperties"])
    queue = str(settings.get("JobQueue"))
    payload = {key: value for key, value in request.items() if key != "Tags"}
    tags = {tag["Key"]: tag["Value"] for tag in request.get("Tags", [])}
    if len(tags) > MAX_BATCH_TAGS:
        raise TrainingJobError(
            f"Training job {name} has {len(tags)} tags, more than AWS Batch allows a "
            f"service job ({MAX_BATCH_TAGS})"
        )
    params: dict[str, Any] = {
        "jobName": name,
        "jobQueue": queue,
        "serviceJobType": SERVICE_JOB_TYPE,
        "serviceRequestPayload": json.dumps(payload, sort_keys=True, separators=(",", ":")),
        "clientToken": client_token(event),
    }
    if tags:
        params["tags"] = tags
    if settings.get("SchedulingPriority") is not None:
        params["schedulingPriority"] = int(settings["SchedulingPriority"])
    if settings.get("ShareIdentifier"):
        params["shareIdentifier"] = str(settings["ShareIdentifier"])
    try:
        response = _call(runtime, "SubmitServiceJob", runtime.batch.submit_service_job, **params)
    except ClientError as error:
        code, message = _error(error)
        raise TrainingJobError(
            f"SubmitServiceJob of training job {name} to AWS Batch queue {queue} failed "
            f"({code}): {message}"
        ) from error
    progress.created(event, TRAINING, name, service_job=response["jobArn"], queue=queue)
    return {
        "PhysicalResourceId": response["jobArn"],
        "Data": {
            CREATED_AT: _now(runtime),
            SERVICE_JOB_ARN: response["jobArn"],
            SERVICE_JOB_ID: response["jobId"],
        },
    }


def describe_service_job(runtime: Runtime, job: str) -> dict[str, Any] | None:
    """The service job ``job`` (ARN or id), or None when Batch no longer knows it."""
    try:
        response = _call(
            runtime, "DescribeServiceJob", runtime.batch.describe_service_job, jobId=job
        )
    except ClientError as error:
        code, message = _error(error)
        # Batch answers an unknown job with a ClientException saying so; any other
        # refusal (a malformed id, access) is an error, not a job that is gone.
        if _is_not_found(error) or (code == "ClientException" and _NOT_FOUND.search(message)):
            return None
        raise TrainingJobError(f"DescribeServiceJob of {job} failed ({code}): {message}") from error
    return dict(response)


def training_job_names(service_job: Mapping[str, Any]) -> list[str]:
    """The names of the training jobs Batch started for ``service_job``, oldest first
    (one per attempt; a preempted or retried job has several)."""
    names: list[str] = []
    arns = [
        (attempt.get("serviceResourceId") or {}).get("value")
        for attempt in service_job.get("attempts") or []
    ]
    arns.append(
        ((service_job.get("latestAttempt") or {}).get("serviceResourceId") or {}).get("value")
    )
    for arn in arns:
        if isinstance(arn, str) and ":training-job/" in arn:
            name = arn.rsplit("/", 1)[1]
            if name not in names:
                names.append(name)
    return names


def latest_training_job(runtime: Runtime, service_job: Mapping[str, Any]) -> Description | None:
    """The training job of the service job's latest attempt, if Batch started one."""
    names = training_job_names(service_job)
    return _describe(runtime, TRAINING, names[-1]) if names else None


def poll(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """Whether a queued job's Create (or replacement) is done, as ``is_complete``."""
    from .attributes import attributes, check_gate, failure_message  # noqa: PLC0415 - cycle

    arn = str(event["PhysicalResourceId"])
    service_job = describe_service_job(runtime, arn)
    name = str(service_job.get("jobName")) if service_job else arn
    if service_job is None:
        raise TrainingJobError(
            f"The AWS Batch service job {arn} of training job {name} no longer exists "
            "while the deployment waits for it. Deploy again to submit a new job."
        )
    status = service_job["status"]
    ids = {SERVICE_JOB_ARN: arn, SERVICE_JOB_ID: str(service_job["jobId"])}
    properties = event["ResourceProperties"]
    if properties.get(COMPLETION) == "created":
        return {"IsComplete": True, "Data": ids}
    if status in WAITING_STATUSES:
        # Batch's status only: describing the training job too would cost a call a poll.
        marker = progress.queued_transition(event, service_job, None)
        _check_deadline(event, runtime, service_job)
        return {"IsComplete": False, progress.PROGRESS: marker}
    training_job = latest_training_job(runtime, service_job)
    progress.queued_transition(event, service_job, training_job)
    if status == "SUCCEEDED":
        if training_job is None or training_job.get("TrainingJobStatus") != "Completed":
            raise TrainingJobError(
                f"AWS Batch reports training job {name} ({arn}) SUCCEEDED, but no completed "
                "training job of its attempts was found"
            )
        check_gate(
            event["ResourceProperties"],
            training_job,
            f"Training job {training_job['TrainingJobName']}",
        )
        return {"IsComplete": True, "Data": {**attributes(training_job), **ids}}
    reason = service_job.get("statusReason") or "no reason given"
    detail = ""
    if training_job is not None and training_job.get("TrainingJobStatus") != "Completed":
        detail = f" Its training job: {failure_message(training_job)}"
    raise TrainingJobError(
        f"Training job {name} failed in AWS Batch queue {service_job.get('jobQueue')} "
        f"({status}): {reason}.{detail}{progress.watch_hint(str(event.get('StackId', '')))}"
    )


def _check_deadline(
    event: Mapping[str, Any], runtime: Runtime, service_job: Mapping[str, Any]
) -> None:
    limit = event["ResourceProperties"].get(WAIT_TIMEOUT)
    created = event.get("Data", {}).get(CREATED_AT)
    if limit is None or created is None:
        return
    waited = runtime.now().timestamp() - float(created)
    if waited <= float(limit):
        return
    raise TrainingJobError(
        f"Training job {service_job.get('jobName')} is still {service_job['status']} in "
        f"AWS Batch queue {service_job.get('jobQueue')} after {waited:.0f} s, longer than "
        f"the deployment can wait ({float(limit):.0f} s). The rollback terminates it. "
        "Give the queue more capacity or the job a higher scheduling priority, or use a "
        "completion mode for long jobs."
    )


def delete(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """Start deleting: terminate the service job unless it ended."""
    arn = str(event["PhysicalResourceId"])
    if is_service_job(arn):
        service_job = describe_service_job(runtime, arn)
        if service_job is not None and _running(service_job):
            _terminate(event, runtime, arn)
    return {"PhysicalResourceId": arn}


def delete_complete(event: Mapping[str, Any], runtime: Runtime) -> bool:
    """Whether the service job ended (and, with RemovalPolicy.DESTROY, its training
    jobs' records are deleted)."""
    from .deletion import _network_released, delete_record  # noqa: PLC0415 - import cycle

    arn = str(event["PhysicalResourceId"])
    if not is_service_job(arn):
        return True  # a Create that failed before it submitted
    service_job = describe_service_job(runtime, arn)
    if service_job is None:
        return True
    if service_job["status"] in WAITING_STATUSES:
        # Until Batch reports it ended (once the training job stopped).
        if not service_job.get("isTerminated"):
            _terminate(event, runtime, arn)
        return False
    training_job = latest_training_job(runtime, service_job)
    if training_job is not None:
        if training_job["TrainingJobStatus"] in ("InProgress", "Stopping"):
            return False  # Batch stops it
        if not _network_released(runtime, TRAINING, training_job):
            return False
    removal = str(event["ResourceProperties"].get(REMOVAL_POLICY, "retain"))
    if removal.lower() == "destroy":
        for name in training_job_names(service_job):
            delete_record(runtime, TRAINING, name)
    return True


def _running(service_job: Mapping[str, Any]) -> bool:
    return service_job["status"] in WAITING_STATUSES and not service_job.get("isTerminated")


def _terminate(event: Mapping[str, Any], runtime: Runtime, arn: str) -> None:
    reason = f"CloudFormation deletes {event['LogicalResourceId']} of stack {event['StackId']}"
    try:
        _call(
            runtime,
            "TerminateServiceJob",
            runtime.batch.terminate_service_job,
            jobId=arn,
            reason=reason[:1024],
        )
    except ClientError as error:
        code, message = _error(error)
        raise TrainingJobError(
            f"TerminateServiceJob of {arn} failed ({code}): {message}"
        ) from error


def service_job_tags(runtime: Runtime, physical_id: str) -> dict[str, str] | None:
    """The tags of the service job ``physical_id``, None when there is none."""
    if not is_service_job(physical_id):
        return None
    service_job = describe_service_job(runtime, physical_id)
    return dict(service_job.get("tags") or {}) if service_job is not None else None


def rollback_attributes(runtime: Runtime, physical_id: str) -> dict[str, str]:
    """The attributes of the queued job (the service job ``physical_id``) a rollback
    returned to, whatever its state."""
    from .rollback import _rollback_attributes  # noqa: PLC0415 - import cycle

    service_job = describe_service_job(runtime, physical_id)
    if service_job is None:
        print(
            json.dumps({"warning": "the job rolled back to no longer exists", "job": physical_id})
        )
        return {SERVICE_JOB_ARN: physical_id}
    ids = {SERVICE_JOB_ARN: physical_id, SERVICE_JOB_ID: str(service_job["jobId"])}
    names = training_job_names(service_job)
    if not names:
        return ids
    return {**_rollback_attributes(runtime, TRAINING, names[-1]), **ids}


def update(
    event: Mapping[str, Any],
    runtime: Runtime,
    kind: JobKind,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    resubmit: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """An update of a job that is, or becomes, queued: in place when only members that
    change in place changed and Batch already started its training job (or nothing
    of the job changed); else a new submission (``resubmit``: the lifecycle's Create
    of a replacement), never during a rollback."""
    from .in_place import _update_in_place  # noqa: PLC0415 - import cycle
    from .requests import needs_replacement  # noqa: PLC0415
    from .rollback import _rollback_target  # noqa: PLC0415

    name = str(event["PhysicalResourceId"])
    same_queue = queue_settings(event["OldResourceProperties"]) == queue_settings(
        event["ResourceProperties"]
    )
    if is_service_job(name) and same_queue and not needs_replacement(old, new, kind):
        if old == new:
            return {"PhysicalResourceId": name}
        service_job = describe_service_job(runtime, name)
        training_job = latest_training_job(runtime, service_job) if service_job else None
        if training_job is not None:
            _update_in_place(runtime, kind, str(training_job[kind.name_field]), old, new)
            return {"PhysicalResourceId": name}
    tags_of = (
        (lambda physical: service_job_tags(runtime, physical)) if is_service_job(name) else None
    )
    target = _rollback_target(event, runtime, kind, old, new, tags_of=tags_of)
    if target is not None:
        return {"PhysicalResourceId": target, "Data": {ROLLBACK: "true"}}
    return resubmit(event, runtime, kind, replaces=name)
