"""The provider's own waiter: one function answers CloudFormation itself.

CloudFormation invokes the provider's function asynchronously with a custom resource
event and waits for an answer PUT to the event's ``ResponseURL``. The function starts
the event's work (:func:`lifecycle.on_event`), then asks :func:`lifecycle.is_complete`
every :data:`QUERY_INTERVAL_SECONDS`, sleeping in between; before its own timeout it
hands the state on to a fresh invocation of itself (an asynchronous invoke carrying the
event), which goes on at the next poll. The answer is the same as aws-cdk-lib's
provider framework gives: SUCCESS with the physical id and the data of both steps, or
FAILED with the error; FAILED too when the work is not done within
:data:`TOTAL_TIMEOUT_SECONDS` of the event's arrival (CloudFormation's own limit for a
custom resource).

There is no Step Functions state machine and no second function: the framework's
four functions, its state machine and their roles and log groups are what this
replaces (measured in ``make bench``). A poll costs what it costs under the
framework (one DescribeTrainingJob); the function is billed while it sleeps, about
what the framework's state transitions cost for the same hour (README, Performance).

Every error is caught and answered as FAILED, so the deployment never waits for an
answer that will not come; a crash or a timeout of the function itself is retried by
Lambda (the work is idempotent: a retried Create adopts its own job), and failing
that CloudFormation's ``ServiceTimeout`` ends the wait.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from . import lifecycle
from .progress import PROGRESS
from .properties import MAX_SERVICE_TIMEOUT_SECONDS, QUERY_INTERVAL_SECONDS

#: The longest the waiter waits for one event: CloudFormation's limit.
TOTAL_TIMEOUT_SECONDS = MAX_SERVICE_TIMEOUT_SECONDS
#: What a continuation's payload carries the event and its progress under.
CONTINUATION = "constructs-lib:waiter"
#: The physical id of a Create that failed before it named a job (the framework's own
#: marker, so that resources created by earlier versions delete alike).
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
#: Seconds kept free at the end of an invocation for one poll and the hand-over.
HAND_OVER_MARGIN_SECONDS = 90
#: CloudFormation refuses a response body of 4 KB or more.
MAX_RESPONSE_BYTES = 4096
_CUT = " ...[truncated]"

Step = Callable[[Mapping[str, Any], "lifecycle.Runtime"], dict[str, Any]]


class Services(Protocol):
    """What the waiter needs from Lambda, the clock and HTTP (faked in tests)."""

    def now(self) -> float:
        """Seconds since the epoch."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""

    def remaining_seconds(self) -> float:
        """Seconds this invocation has left before Lambda stops it."""

    def continue_later(self, payload: dict[str, Any]) -> None:
        """Invoke this function again, asynchronously, with ``payload``."""

    def respond(self, url: str, body: dict[str, Any]) -> None:
        """PUT ``body`` to CloudFormation's presigned ``url``."""


@dataclass(frozen=True)
class Steps:
    """The lifecycle's two steps (tests wrap them to count calls)."""

    on_event: Step = lifecycle.on_event
    is_complete: Step = lifecycle.is_complete


def handle(
    payload: Mapping[str, Any],
    runtime: lifecycle.Runtime,
    services: Services,
    steps: Steps | None = None,
) -> str:
    """Work on a CloudFormation event or a continuation; returns what was done."""
    steps = steps or Steps()
    continuation = payload.get(CONTINUATION)
    if isinstance(continuation, Mapping):
        event = dict(continuation["Event"])
        started, polls = float(continuation["Started"]), int(continuation["Polls"])
        services.sleep(max(0.0, float(continuation["NextPoll"]) - services.now()))
        return _wait(event, runtime, services, steps, started=started, polls=polls)
    event = dict(payload)
    started = services.now()
    if event.get("RequestType") == "Delete" and event.get("PhysicalResourceId") == (
        CREATE_FAILED_MARKER
    ):
        return _answer(services, event, "SUCCESS", CREATE_FAILED_MARKER, polls=0)
    try:
        result = steps.on_event(dict(event), runtime)
    except Exception as error:  # every error is CloudFormation's to see
        physical = event.get("PhysicalResourceId", CREATE_FAILED_MARKER)
        return _answer(services, event, "FAILED", physical, reason=str(error), polls=0)
    physical = result.get("PhysicalResourceId") or event.get("PhysicalResourceId")
    poll_event = {**event, **result, "PhysicalResourceId": physical or event["RequestId"]}
    return _wait(poll_event, runtime, services, steps, started=started, polls=0)


def _wait(
    event: dict[str, Any],
    runtime: lifecycle.Runtime,
    services: Services,
    steps: Steps,
    *,
    started: float,
    polls: int,
) -> str:
    physical = event["PhysicalResourceId"]
    while True:
        polls += 1
        try:
            answer = steps.is_complete(dict(event), runtime)
        except Exception as error:
            return _answer(services, event, "FAILED", physical, reason=str(error), polls=polls)
        if answer.get("IsComplete"):
            data = {**event.get("Data", {}), **answer.get("Data", {})}
            return _answer(services, event, "SUCCESS", physical, data=data, polls=polls)
        if PROGRESS in answer:
            # The job's last status logged: the next poll logs only a change.
            event[PROGRESS] = answer[PROGRESS]
        next_poll = services.now() + QUERY_INTERVAL_SECONDS
        if next_poll - started >= TOTAL_TIMEOUT_SECONDS:
            reason = (
                f"{event['RequestType']} of {physical} did not complete within "
                f"{TOTAL_TIMEOUT_SECONDS} s, CloudFormation's limit for a custom resource"
            )
            return _answer(services, event, "FAILED", physical, reason=reason, polls=polls)
        if services.remaining_seconds() - QUERY_INTERVAL_SECONDS < HAND_OVER_MARGIN_SECONDS:
            state = {"Event": event, "Started": started, "Polls": polls, "NextPoll": next_poll}
            try:
                services.continue_later({CONTINUATION: state})
            except Exception as error:
                reason = f"the provider could not go on waiting for {physical}: {error}"
                return _answer(services, event, "FAILED", physical, reason=reason, polls=polls)
            return f"handed over after poll {polls}"
        services.sleep(QUERY_INTERVAL_SECONDS)


def response_body(
    event: Mapping[str, Any],
    status: str,
    physical_id: str,
    *,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """CloudFormation's response to ``event``, its reason cut to fit 4 KB."""
    body = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": False,
        "Data": dict(data or {}),
    }

    def size() -> int:
        return len(json.dumps(body).encode())

    if size() >= MAX_RESPONSE_BYTES:
        # json.dumps writes a character in 1 to 6 bytes: start from the share that
        # fits, then cut further until it does.
        text_bytes = len(json.dumps(reason).encode()) - 2
        room = text_bytes - (size() - MAX_RESPONSE_BYTES + 1) - len(_CUT)
        keep = max(0, len(reason) * room // max(1, text_bytes))
        body["Reason"] = reason[:keep] + _CUT
        while size() >= MAX_RESPONSE_BYTES and keep > 0:
            keep -= max(1, keep // 50)
            body["Reason"] = reason[:keep] + _CUT
    return body


def _answer(
    services: Services,
    event: Mapping[str, Any],
    status: str,
    physical_id: str,
    *,
    reason: str = "",
    data: Mapping[str, Any] | None = None,
    polls: int,
) -> str:
    body = response_body(event, status, physical_id, reason=reason, data=data)
    services.respond(event["ResponseURL"], body)
    return f"answered {status} for {physical_id} after {polls} polls"


class LambdaServices:
    """The waiter's services in the Lambda runtime."""

    def __init__(self, context: Any, invoke: Callable[..., Any]) -> None:
        self._context = context
        self._invoke = invoke

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def remaining_seconds(self) -> float:
        return float(self._context.get_remaining_time_in_millis()) / 1000.0

    def continue_later(self, payload: dict[str, Any]) -> None:
        self._invoke(
            FunctionName=self._context.invoked_function_arn,
            InvocationType="Event",
            Payload=json.dumps(payload).encode(),
        )

    def respond(self, url: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": ""}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
