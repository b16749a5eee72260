"""The provider's own waiter: one function answers CloudFormation itself, holding no
Lambda execution while it waits (design: ``provider/waiting.py``).

CloudFormation's invocation starts the event's work (``lifecycle.on_event``) and polls
(``lifecycle.is_complete``); work not done goes on in an execution of the stack's
waiting state machine, which waits and invokes the function with the state, one poll
each, until it answered: SUCCESS, or FAILED with the error, past
:data:`TOTAL_TIMEOUT_SECONDS`, or when the state machine reports the function failed
(:data:`FAILURE`). A throttled call (:class:`calls.Throttled`) is tried again at the
next poll until the resource's budget ends.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from . import carry, lifecycle
from .calls import Throttled
from .kinds import by_resource_type
from .progress import PROGRESS
from .properties import (
    AWAITING_QUOTA,
    DEADLINE_HEADROOM_SECONDS,
    FAILURE,
    MAX_SERVICE_TIMEOUT_SECONDS,
    QUERY_INTERVAL_SECONDS,
    WAIT,
)

#: The longest the waiter waits for one event: CloudFormation's limit.
TOTAL_TIMEOUT_SECONDS = MAX_SERVICE_TIMEOUT_SECONDS
#: What a continuation's payload carries the event and its progress under.
CONTINUATION = "constructs-lib:waiter"
#: The physical id of a Create that failed before it named a job (the framework's own
#: marker, so that resources created by earlier versions delete alike).
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
#: CloudFormation refuses a response body of 4 KB or more.
MAX_RESPONSE_BYTES = 4096
_CUT = " ...[truncated]"

Step = Callable[[Mapping[str, Any], "lifecycle.Runtime"], dict[str, Any]]


class Services(Protocol):
    """What the waiter needs from the clock, Step Functions and HTTP (faked in tests)."""

    def now(self) -> float:
        """Seconds since the epoch."""

    def continue_later(self, name: str, payload: dict[str, Any]) -> None:
        """Start the waiting state machine's execution ``name`` with ``payload``."""

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
) -> dict[str, Any]:
    """Work on a CloudFormation event or a continuation: ``{"Outcome": ...}``, with the
    state to go on with (:data:`CONTINUATION`, :data:`WAIT`) when it is not done."""
    steps = steps or Steps()
    continuation = payload.get(CONTINUATION)
    if isinstance(continuation, Mapping):
        state = dict(continuation)
        event = carry.restored(state["Event"])
        if isinstance(payload.get(FAILURE), Mapping):
            failure = payload[FAILURE]
            physical = _physical(event)
            reason = (
                f"the provider's function failed while waiting for {physical}: "
                f"{failure.get('Error')}: {_cause(failure.get('Cause'))}"
            )
            return _answer(services, event, "FAILED", physical, reason=reason, state=state)
        return _step(event, runtime, services, steps, state, looping=True)
    event = dict(payload)
    if event.get("RequestType") == "Delete" and event.get("PhysicalResourceId") == (
        CREATE_FAILED_MARKER
    ):
        return _answer(
            services, event, "SUCCESS", CREATE_FAILED_MARKER, reason="", state={"Polls": 0}
        )
    state = {"Started": services.now(), "Polls": 0, "Start": True}
    return _step(event, runtime, services, steps, state, looping=False)


def _step(
    event: dict[str, Any],
    runtime: lifecycle.Runtime,
    services: Services,
    steps: Steps,
    state: dict[str, Any],
    *,
    looping: bool,
) -> dict[str, Any]:
    """on_event (when it has not done its work yet) and one poll; then the answer, or
    the state for the next poll."""
    try:
        if state.get("Start"):
            result = steps.on_event(dict(event), runtime)
            state["Start"] = False
            if event.get("PhysicalResourceId"):
                state["Before"] = event["PhysicalResourceId"]
            physical = result.get("PhysicalResourceId") or event.get("PhysicalResourceId")
            event = {**event, **result, "PhysicalResourceId": physical or event["RequestId"]}
        state["Polls"] += 1
        answer = steps.is_complete(dict(event), runtime)
        state.pop("Throttled", None)
    except Throttled as throttled:
        context: dict[str, Any] = {"runtime": runtime, "services": services, "steps": steps}
        return _throttled(event, state, throttled, looping=looping, **context)
    except Exception as error:  # every error is CloudFormation's to see
        return _answer(services, event, "FAILED", _physical(event), reason=str(error), state=state)
    physical = event["PhysicalResourceId"]
    if answer.get("IsComplete"):
        data = {**event.get("Data", {}), **answer.get("Data", {})}
        return _answer(services, event, "SUCCESS", physical, reason="", state=state, data=data)
    if PROGRESS in answer:
        # The job's last status logged: the next poll logs only a change.
        event[PROGRESS] = answer[PROGRESS]
    state[WAIT] = int(answer.get(WAIT, QUERY_INTERVAL_SECONDS))
    if services.now() + state[WAIT] - float(state["Started"]) >= TOTAL_TIMEOUT_SECONDS:
        state[WAIT] = QUERY_INTERVAL_SECONDS  # the last polls come at the usual pace
    if services.now() + QUERY_INTERVAL_SECONDS - float(state["Started"]) >= TOTAL_TIMEOUT_SECONDS:
        reason = (
            f"{event['RequestType']} of {physical} did not complete within "
            f"{TOTAL_TIMEOUT_SECONDS} s, CloudFormation's limit for a custom resource"
        )
        return _answer(services, event, "FAILED", physical, reason=reason, state=state)
    return _go_on(event, runtime, services, steps, state, looping=looping)


def _cause(cause: Any) -> Any:
    """What a failed Lambda task's ``Cause`` says: Step Functions gives the function's
    error as JSON (``errorType``, ``errorMessage``, ``stackTrace``); its message."""
    try:
        error = json.loads(cause)
    except (TypeError, ValueError):
        return cause
    if isinstance(error, Mapping) and "errorMessage" in error:
        return error["errorMessage"]
    return cause


def _physical(event: Mapping[str, Any]) -> str:
    """The resource's physical id; a Create that named no job yet: the failed marker."""
    return str(event.get("PhysicalResourceId") or CREATE_FAILED_MARKER)


def _throttled(
    event: dict[str, Any],
    state: dict[str, Any],
    throttled: Throttled,
    *,
    runtime: lifecycle.Runtime,
    services: Services,
    steps: Steps,
    looping: bool,
) -> dict[str, Any]:
    """A throttled call: again at the next poll, unless the resource's budget ends."""
    now = services.now()
    since = float(state.get("Throttled", {}).get("Since", now))
    state["Throttled"] = {"Call": throttled.operation, "Since": since}
    timeout = event.get("ResourceProperties", {}).get("ServiceTimeout")
    budget = float(timeout or TOTAL_TIMEOUT_SECONDS) - DEADLINE_HEADROOM_SECONDS
    physical = _physical(event)
    if throttled.budget is not None and now - since >= throttled.budget:
        return _answer(services, event, "FAILED", physical, reason=throttled.final, state=state)
    if now + QUERY_INTERVAL_SECONDS - float(state["Started"]) > budget:
        reason = (
            f"{event['RequestType']} of {physical} gave up: {throttled} at every try for "
            f"{now - since:.0f} s, until the resource's budget of {budget:.0f} s ran out. "
            "Deploy fewer jobs at once, or ask AWS Support for a higher API rate, then "
            "deploy again."
        )
        return _answer(services, event, "FAILED", physical, reason=reason, state=state)
    log = {"throttled": throttled.operation, "error": str(throttled), "since": since}
    print(
        json.dumps(
            {**log, "resource": event["LogicalResourceId"], "again in": QUERY_INTERVAL_SECONDS}
        )
    )
    return _go_on(event, runtime, services, steps, state, looping=looping)


def _go_on(
    event: dict[str, Any],
    runtime: lifecycle.Runtime,
    services: Services,
    steps: Steps,
    state: dict[str, Any],
    *,
    looping: bool,
) -> dict[str, Any]:
    """The state for the next poll (what polling needs, never the request: see
    :mod:`carry`): returned to the state machine that invoked this one, else given to
    a new execution of it (named after the event: a retried invocation finds it
    started). A state that cannot be carried, or a hand-over that fails, stops what
    this event started and answers CloudFormation: never a job left running with no
    one to answer for it."""
    context: dict[str, Any] = {"runtime": runtime, "services": services, "steps": steps}
    wait = state.pop(WAIT, QUERY_INTERVAL_SECONDS)
    deferred = bool(state.get("Start"))
    awaiting = bool(event.get("Data", {}).get(AWAITING_QUOTA))
    try:
        carried = carry.carried(event, with_request=deferred or awaiting)
    except carry.TooLargeToCarry as error:
        why = "its work was deferred to the next poll" if deferred else "it waits for a quota"
        return _give_up(event, state, f"{why}, but {error}", **context)
    payload = {CONTINUATION: {**state, "Event": carried}, WAIT: wait}
    size = carry.size(payload)
    if size > carry.STATE_BUDGET:
        reason = (
            f"its state for the next poll takes {size:,} bytes, more than the "
            f"{carry.STATE_BUDGET:,} the waiting state machine can carry"
        )
        return _give_up(event, state, reason, **context)
    outcome = f"waiting after poll {state['Polls']}"
    if looping:
        return {"Outcome": outcome, **payload}
    try:
        services.continue_later(str(event["RequestId"]), payload)
    except Exception as error:
        reason = f"the waiting state machine could not be started ({error})"
        return _give_up(event, state, reason, **context)
    return {"Outcome": outcome}


def _give_up(
    event: dict[str, Any],
    state: dict[str, Any],
    why: str,
    *,
    runtime: lifecycle.Runtime,
    services: Services,
    steps: Steps,
) -> dict[str, Any]:
    """Answer FAILED for an event whose wait cannot go on, having stopped the job this
    event started (a Create's job, an Update's replacement), if any."""
    physical = _physical(event)
    stopped = _stop_started(event, state, runtime, steps)
    reason = f"{event['RequestType']} of {physical} cannot go on waiting: {why}.{stopped}"
    return _answer(services, event, "FAILED", physical, reason=reason, state=state)


def _stop_started(
    event: Mapping[str, Any], state: Mapping[str, Any], runtime: lifecycle.Runtime, steps: Steps
) -> str:
    """Stop the job this event started (as a Delete would): what the reason says of it.
    An Update in place, a rollback's return to the old job (both keep the physical id
    the event came with: ``Before``) and a Delete start none."""
    _, role = by_resource_type(event.get("ResourceType"))
    physical = str(event.get("PhysicalResourceId") or "")
    started = event["RequestType"] == "Create" or (
        event["RequestType"] == "Update" and physical != str(state.get("Before", physical))
    )
    if role != "job" or not started or physical in ("", CREATE_FAILED_MARKER):
        return ""
    try:
        steps.on_event({**event, "RequestType": "Delete"}, runtime)
    except Exception as error:  # the answer must go out whatever the stop did
        return f" Stopping its job {physical} failed too ({error}): stop it yourself."
    return f" Its job {physical} was stopped, so that no job runs that no deploy waits for."


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
    state: Mapping[str, Any],
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body = response_body(event, status, physical_id, reason=reason, data=data)
    services.respond(event["ResponseURL"], body)
    return {"Outcome": f"answered {status} for {physical_id} after {state['Polls']} polls"}


class LambdaServices:
    """The waiter's services in the Lambda runtime."""

    def __init__(self, start_execution: Callable[..., Any], state_machine: str) -> None:
        self._start = start_execution
        self._state_machine = state_machine

    def now(self) -> float:
        return time.time()

    def continue_later(self, name: str, payload: dict[str, Any]) -> None:
        try:
            self._start(stateMachineArn=self._state_machine, name=name, input=json.dumps(payload))
        except Exception as error:
            # A retried invocation: its execution (named after the event) already waits.
            if "ExecutionAlreadyExists" not in str(error):
                raise

    def respond(self, url: str, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            url, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": ""}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
