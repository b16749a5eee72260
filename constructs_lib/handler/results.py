"""The resources of a job waited for by a wait condition: the signal check (a job
that ended before its state-change rule existed) and the result resource that reads
the finished job's attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import queued
from .attributes import _attributes, _failure_message, failure_reason
from .calls import _describe
from .kinds import TRAINING, JobKind
from .progress import stack_name, watch_hint
from .properties import HANDLE_URL, WAIT_TIMEOUT
from .runtime import CREATED_AT, RUNNING_STATUSES, Runtime, TrainingJobError, _now
from .signal import SERVICE_JOB_ENDS, TERMINAL, service_job_signal, signal_body


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
    if queued.is_service_job(name):
        return _queued_result(event, runtime)
    description = _describe(runtime, kind, name)
    if description is None:
        raise TrainingJobError(
            f"{kind.noun} {name} no longer exists, so its results cannot be read: it "
            "was deleted outside CloudFormation. Deploy again to start a new job."
        )
    status = description[kind.status_field]
    if status == "Completed":
        data = _attributes(runtime, kind, description, event["ResourceProperties"])
        return {"IsComplete": True, "Data": data}
    if status not in RUNNING_STATUSES:
        raise TrainingJobError(
            _failure_message(kind, description) + watch_hint(str(event.get("StackId", "")))
        )
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
    if queued.is_service_job(name):
        service_job = queued.describe_service_job(runtime, name)
        if service_job is not None and service_job["status"] in SERVICE_JOB_ENDS:
            runtime.put(
                str(properties[HANDLE_URL]),
                service_job_signal(
                    str(service_job["jobName"]),
                    name,
                    service_job["status"],
                    service_job.get("statusReason"),
                    stack_name(str(event.get("StackId", ""))),
                ),
            )
        return {"PhysicalResourceId": physical_id}
    description = _describe(runtime, kind, name)
    if description is not None and description[kind.status_field] in TERMINAL:
        status = description[kind.status_field]
        runtime.put(
            str(properties[HANDLE_URL]),
            signal_body(
                name,
                status,
                failure_reason(description),
                kind,
                stack_name(str(event.get("StackId", ""))),
            ),
        )
    return {"PhysicalResourceId": physical_id}


def _queued_result(event: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """The attributes of a queued job after its wait, read as its poll reads them (the
    training job Batch started); should the service job not have ended yet, it waits
    on within the result's own time."""
    service_job = event["ResourceProperties"][TRAINING.name_property]
    return queued.poll({**event, "PhysicalResourceId": service_job}, runtime)
