"""The lifecycle of a SageMaker job (a training job, a hyperparameter tuning job or a
processing job) as a CloudFormation custom resource.

Plain functions that take a :class:`Runtime` (the AWS clients, a clock and a sleep),
so tests drive them with fakes and a simulated clock. ``on_event`` starts the work of
a CloudFormation event; ``is_complete`` is polled by the provider's waiter
(``waiter.py``) until the work is done, for Create, Update and Delete alike. This
module holds the entry points, Create and Update; the rest is in ``runtime``,
``calls``, ``requests``, ``quota``, ``attributes``, ``rollback``, ``deletion`` and
``in_place``. What differs between the kinds of
job (operation names, fields, name limits, attributes) is a :class:`JobKind`, chosen
by the resource's type.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from . import progress, queued

# What the other modules and the tests use, from the module that was all of it.
from .attributes import (
    _attributes,
    _failure_message,
    attributes,
    failure_message,
    tuning_attributes,
    tuning_failure_message,
)
from .calls import (
    ROLE_PROPAGATION_BUDGET_SECONDS,
    THROTTLE_BUDGET_SECONDS,
    Throttled,
    _call,
    _describe,
    _error,
    _is_role_not_assumable,
    _operation,
    _owner,
)
from .deletion import ENI_RELEASE_LIMIT, _delete, _delete_complete
from .in_place import _update_in_place
from .kinds import JobKind, by_resource_type
from .properties import (
    AWAITING_QUOTA,
    BY_JOB_NAME,
    COMPLETION,
    LIBRARY_TAGS,
    LOGICAL_ID_TAG,
    NAME_PREFIX,
    NAMED_LOCATIONS,
    OWNER_TAG,
    POLL_INTERVAL,
    QUERY_INTERVAL_SECONDS,
    REPLACES_TAG,
    REQUEST_HASH_TAG,
    ROLLBACK,
    WAIT,
    WAIT_TIMEOUT,
    fill_in_name,
)
from .quota import Quota, _quota_full, _quota_wait, parse_quota
from .requests import (
    _IN_PLACE,
    _NAME_PROPS,
    MAX_NAME_LENGTH,
    _role_arn,
    generated_name,
    is_job_name,
    needs_replacement,
    render_request,
    update_request,
)
from .results import _result, _result_complete, _signal_if_ended
from .rollback import _rollback_attributes, _rollback_target
from .runtime import (
    CREATED_AT,
    MAX_DATA_BYTES,
    MAX_MESSAGE_CHARS,
    MAX_REASON_CHARS,
    RUNNING_STATUSES,
    Description,
    Runtime,
    TrainingJobError,
    _now,
    truncate,
)

__all__ = [
    "CREATED_AT",
    "ENI_RELEASE_LIMIT",
    "MAX_DATA_BYTES",
    "MAX_MESSAGE_CHARS",
    "MAX_NAME_LENGTH",
    "MAX_REASON_CHARS",
    "ROLE_PROPAGATION_BUDGET_SECONDS",
    "THROTTLE_BUDGET_SECONDS",
    "Quota",
    "Runtime",
    "TrainingJobError",
    "attributes",
    "failure_message",
    "generated_name",
    "is_complete",
    "is_job_name",
    "needs_replacement",
    "on_event",
    "parse_quota",
    "render_request",
    "truncate",
    "tuning_attributes",
    "tuning_failure_message",
    "update_request",
]


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
        if queued.is_service_job(str(event["PhysicalResourceId"])):
            return queued.delete(event, runtime)
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
    if queued.is_service_job(str(name)):
        if event["RequestType"] == "Delete":
            return {"IsComplete": queued.delete_complete(event, runtime)}
        if event.get("Data", {}).get(ROLLBACK):
            return {"IsComplete": True, "Data": queued.rollback_attributes(runtime, name)}
        return queued.poll(event, runtime)
    if event["RequestType"] == "Delete":
        return {"IsComplete": _delete_complete(event, runtime, kind, name)}
    if event.get("Data", {}).get(ROLLBACK):
        return {
            "IsComplete": True,
            "Data": _rollback_attributes(runtime, kind, name, event["ResourceProperties"]),
        }
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
        return {"IsComplete": False, WAIT: _until_due(event, runtime)}
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
    marker = progress.transition(event, kind, description)
    if status == "Completed":
        return {"IsComplete": True, "Data": _attributes(runtime, kind, description, properties)}
    if status in RUNNING_STATUSES:
        _check_wait_deadline(event, runtime, kind, description)
        return {"IsComplete": False, progress.PROGRESS: marker, WAIT: _until_due(event, runtime)}
    raise TrainingJobError(
        _failure_message(kind, description) + progress.watch_hint(event["StackId"])
    )


# ---------------------------------------------------------------------------
# Create / Update / Delete
# ---------------------------------------------------------------------------


def _create(
    event: Mapping[str, Any], runtime: Runtime, kind: JobKind, *, replaces: str | None = None
) -> dict[str, Any]:
    name, request = _job_request(event, runtime, kind, replaces)
    if queued.is_queued(event["ResourceProperties"]):
        return queued.submit(event, runtime, name, request)
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
    fill_in_name(request, properties.get(BY_JOB_NAME), name, properties.get(NAMED_LOCATIONS))
    library_tags = [
        {"Key": OWNER_TAG, "Value": str(event["RequestId"])},
        {"Key": REQUEST_HASH_TAG, "Value": digest},
        {"Key": LOGICAL_ID_TAG, "Value": str(event["LogicalResourceId"])},
    ]
    if replaces:
        library_tags.append({"Key": REPLACES_TAG, "Value": replaces})
    request["Tags"] = [
        *(tag for tag in request.get("Tags", []) if tag["Key"] not in LIBRARY_TAGS),
        *library_tags,
    ]
    return name, request


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
    except Throttled as deferred:
        if _is_role_not_assumable(deferred.error):
            # Tried again at the next polls, for the propagation's budget.
            deferred.budget = ROLE_PROPAGATION_BUDGET_SECONDS
            deferred.final = _role_advice(kind, name, request, _error(deferred.error)[1])
        raise
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
            raise TrainingJobError(_role_advice(kind, name, request, message)) from error
        raise TrainingJobError(
            f"{kind.create_operation} for {noun} {name} failed ({code}): {message}"
        ) from error
    progress.created(event, kind, name)
    return True


def _role_advice(kind: JobKind, name: str, request: Mapping[str, Any], message: str) -> str:
    return (
        f"SageMaker could not assume the execution role {_role_arn(request)} for "
        f"{kind.noun.lower()} {name}, even after retrying for "
        f"{ROLE_PROPAGATION_BUDGET_SECONDS:.0f} s: {message} Check that the role's trust "
        "policy allows sagemaker.amazonaws.com; if the role was just created, IAM may "
        "still be propagating it: deploy again."
    )


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


def _update(event: Mapping[str, Any], runtime: Runtime, kind: JobKind) -> dict[str, Any]:
    name = event["PhysicalResourceId"]
    old = render_request(event["OldResourceProperties"], runtime.sagemaker, kind)
    new = render_request(event["ResourceProperties"], runtime.sagemaker, kind)
    if queued.is_service_job(str(name)) or queued.is_queued(event["ResourceProperties"]):
        return queued.update(event, runtime, kind, old, new, resubmit=_create)
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


def _poll_clock(event: Mapping[str, Any], runtime: Runtime) -> tuple[float, float] | None:
    """The job's poll interval and the seconds since its creation; None when every
    query interval is a poll."""
    interval = float(event["ResourceProperties"].get(POLL_INTERVAL) or 0)
    created = event.get("Data", {}).get(CREATED_AT)
    if interval <= QUERY_INTERVAL_SECONDS or created is None:
        return None
    return interval, max(0.0, runtime.now().timestamp() - float(created))


def _poll_due(event: Mapping[str, Any], runtime: Runtime) -> bool:
    """Whether this poll should ask SageMaker: polls come every query interval, but
    a job with a longer poll interval is described once per interval only."""
    clock = _poll_clock(event, runtime)
    if clock is None:
        return True
    interval, elapsed = clock
    if elapsed < QUERY_INTERVAL_SECONDS:
        return True  # the first poll: catch a job that fails at once
    return elapsed // interval > (elapsed - QUERY_INTERVAL_SECONDS) // interval


def _until_due(event: Mapping[str, Any], runtime: Runtime) -> int:
    """Seconds until the next poll :func:`_poll_due` finds due (the waiter waits so)."""
    clock = _poll_clock(event, runtime)
    if clock is None:
        return QUERY_INTERVAL_SECONDS
    interval, elapsed = clock
    return max(QUERY_INTERVAL_SECONDS, math.ceil(interval - elapsed % interval))


# ---------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------


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
        f"completion mode for long jobs.{progress.watch_hint(event['StackId'])}"
    )
