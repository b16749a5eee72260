"""The SageMaker calls of the lifecycle, with its retries: throttling and quota-busy
answers for a short budget, a role not yet assumable for longer; a throttled Create,
Describe or SubmitServiceJob is tried again at the next poll (:class:`Throttled`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from .kinds import JobKind
from .properties import (
    OWNER_TAG,
)
from .runtime import Description, Runtime, TrainingJobError

# Retries. Throttling and quota-busy answers of read/stop calls are retried for a
# short budget (the Lambda's timeout bounds a call); a role created moments ago in
# the same stack may not be assumable yet: CreateTrainingJob tries again at the next
# polls for longer (ROLE_PROPAGATION_BUDGET_SECONDS).
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
#: A throttled Create, Describe or SubmitServiceJob is retried this long in the
#: invocation, then at the next poll (:class:`Throttled`): waiting holds no Lambda.
DEFERRED_BUDGET_SECONDS = 4.0


ROLE_PROPAGATION_BUDGET_SECONDS = 150.0


FIRST_DELAY_SECONDS = 1.0


MAX_DELAY_SECONDS = 15.0


_ROLE_NOT_ASSUMABLE = re.compile(r"assume (the )?role|role .* could not be assumed", re.I)


T = TypeVar("T")


class Throttled(Exception):  # noqa: N818 (a state, not a failure)
    """A call the waiter tries again at the next poll, while the resource's budget lasts
    (or ``budget`` seconds, then fails with ``final``): throttled, or a role not yet
    assumable."""

    def __init__(self, operation: str, error: ClientError) -> None:
        code, message = _error(error)
        verb = "was throttled" if code in THROTTLING_CODES else "was refused"
        super().__init__(f"{operation} {verb} ({code}: {message})")
        self.operation = operation
        self.error = error
        self.budget: float | None = None
        self.final = ""


def _deferrable(operation: str) -> bool:
    return operation.startswith(("Create", "Describe")) or operation == "SubmitServiceJob"


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
    started = runtime.clock()
    delay = FIRST_DELAY_SECONDS
    while True:
        try:
            return function(**params)
        except ClientError as error:
            role = operation.startswith("Create") and _is_role_not_assumable(error)
            if not role and not _is_retryable(operation, error):
                raise
            code = _error(error)[0]
            # A throttled create or read, or a role not yet assumable, goes on at the
            # next poll once the invocation's few seconds of retries are spent.
            deferred = role or (code in THROTTLING_CODES and _deferrable(operation))
            pause = delay * runtime.jitter()
            budget = DEFERRED_BUDGET_SECONDS if deferred else THROTTLE_BUDGET_SECONDS
            if runtime.clock() - started + pause > budget:
                if deferred:
                    raise Throttled(operation, error) from error
                raise
            print(json.dumps({"retry": operation, "error": code, "after": pause}))
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
    # SageMaker reports an unknown job name as a ValidationException: "Requested
    # resource not found." (training), "Could not find requested job with name ..."
    # (processing).
    lowered = message.lower()
    return code == "ValidationException" and ("not found" in lowered or "could not find" in lowered)
