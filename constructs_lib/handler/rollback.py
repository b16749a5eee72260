"""Rollbacks: telling CloudFormation's rollback Update from an update, and the job it
returns to."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from .attributes import _attributes
from .calls import _call, _describe, _error, _job_tags
from .kinds import JobKind
from .properties import (
    REPLACES_TAG,
    REPORT,
    REQUEST_HASH_TAG,
)
from .runtime import Runtime, TrainingJobError

# The stack statuses in which CloudFormation rolls back an update: its Update events
# then ask for the properties a job already has, and must never start a job.
ROLLING_BACK_STATUSES = frozenset({"UPDATE_ROLLBACK_IN_PROGRESS"})


def _rollback_target(
    event: Mapping[str, Any],
    runtime: Runtime,
    kind: JobKind,
    current: Mapping[str, Any],
    requested: Mapping[str, Any],
    *,
    tags_of: Callable[[str], dict[str, str] | None] | None = None,
) -> str | None:
    """The job an Update returns to without starting one, when the Update is
    CloudFormation's rollback; None for an update that needs a new job.

    A rollback asks for the properties the resource had before the failed update.
    Its physical id is either that job's (the job already has the requested
    request: its hash tag says so) or, when the failed update's response carried
    the new job's name, the new job's: that job names the job it replaced.

    :param tags_of: the tags of the job a physical id names (default: the SageMaker
        job's; a queued job's are its service job's).
    """
    name = str(event["PhysicalResourceId"])
    tags = tags_of(name) if tags_of is not None else _job_tags(runtime, kind, name)
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


def _rollback_attributes(
    runtime: Runtime, kind: JobKind, name: str, properties: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The attributes of the job a rollback returned to, whatever its state: a
    rollback neither waits nor fails (its quality gate is not checked again; a
    processing job's report is read again from the resource's ``properties``)."""
    description = _describe(runtime, kind, name)
    if description is None:
        print(json.dumps({"warning": "the job rolled back to no longer exists", "job": name}))
        return {kind.name_field: name}
    if description[kind.status_field] == "Completed":
        try:
            kept = {k: v for k, v in (properties or {}).items() if k == REPORT}
            return _attributes(runtime, kind, description, kept)
        except TrainingJobError as error:
            print(json.dumps({"warning": str(error), "job": name}))
    return {
        kind.name_field: description[kind.name_field],
        kind.arn_field: description[kind.arn_field],
        kind.status_field: description[kind.status_field],
    }
