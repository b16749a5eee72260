"""Lambda and Step Functions around the provider's function, on the fakes' clock.

A discrete-event simulation of what runs a deployment's custom resources:

- **Lambda** runs the handler (``handler/waiter.py``) for CloudFormation's
  asynchronous invocations and the state machine's synchronous ones, within the
  function's reserved concurrency: an invocation that finds it in use is throttled
  (CloudFormation's is retried by Lambda's asynchronous queue, from 1 s doubling to
  5 minutes, jittered; the state machine's by its own ``Retry``). An invocation holds one
  concurrent execution for what it takes: the time it slept (in-call retries), a
  fixed start-up share, and :data:`CALL_SECONDS` per AWS call it made.
- **Step Functions** runs the waiting state machine's own definition
  (``provider/waiting.py``), interpreted: Wait (``SecondsPath``), Task (Lambda invoke,
  ``Retry`` with backoff, cap and full jitter, ``Catch`` with ``ResultPath``),
  Choice (``IsPresent``), Succeed; an execution's name is unique.
- **CloudFormation** keeps the answers PUT to each event's response URL.

It counts what the design is judged by: invocations, concurrent executions at their
peak, and execution-seconds.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from constructs_lib.handler import lifecycle, waiter
from constructs_lib.provider.waiting import definition

#: What one invocation costs besides its calls: the runtime's start and the answer.
INVOCATION_SECONDS = 0.05
#: What one AWS call takes (a DescribeTrainingJob answers in about a tenth of a second).
CALL_SECONDS = 0.1
#: The handler function's timeout, as the construct sets it.
LAMBDA_TIMEOUT = 300.0
#: Lambda's limit on an asynchronous invocation's payload: the largest event
#: CloudFormation can deliver.
EVENT_LIMIT = 1024 * 1024
#: Step Functions' limit on an execution's input, on each state and on a task's
#: result: past it, the execution fails with States.DataLimitExceeded, which no Catch
#: takes, and CloudFormation would never be answered.
STATE_LIMIT = 256 * 1024
#: The function's ARN in the simulated definition.
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ml-sagemaker-jobs"


class Crash(BaseException):
    """Raised by a test's step: the function crashed (not an error it answers)."""


@dataclass
class Execution:
    name: str
    input: str
    status: str = "RUNNING"
    #: How often each retrier of the current Task state was used.
    attempts: dict[int, int] = field(default_factory=dict)


class Simulation:
    """The handler under Lambda and the waiting state machine, on ``clock``."""

    def __init__(
        self,
        clock: Any,
        runtime: lifecycle.Runtime,
        *,
        services: list[Any],
        concurrency: int | None = None,
        steps: waiter.Steps | None = None,
        seed: int = 7,
    ) -> None:
        self.clock = clock
        self.runtime = runtime
        self.steps = steps
        self.concurrency = concurrency
        self.definition = definition(FUNCTION_ARN)
        self._services = services
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        self._busy: list[float] = []
        self._random = random.Random(seed)
        #: CloudFormation's answers: (url, body) in the order they came.
        self.answers: list[tuple[str, dict[str, Any]]] = []
        self.executions: dict[str, Execution] = {}
        self.invocations = 0
        #: The seconds of each Wait state entered, in order.
        self.waits: list[int] = []
        #: The largest state a task returned, in bytes.
        self.largest_state = 0
        self.throttles = 0
        self.execution_seconds = 0.0
        self.peak = 0
        #: Answered events' request ids, with when each was sent and answered.
        self.sent: dict[str, float] = {}
        self.answered: dict[str, float] = {}

    # -- what the waiter calls (waiter.Services) --------------------------------------

    def now(self) -> float:
        return float(self.clock.seconds)

    def continue_later(self, name: str, payload: dict[str, Any]) -> None:
        encoded = json.dumps(payload)
        self.largest_state = max(self.largest_state, len(encoded.encode()))
        assert len(encoded.encode()) <= STATE_LIMIT, "execution input over 256 KiB"
        assert len(name) <= 80, f"execution name {name!r} over 80 characters"
        known = self.executions.get(name)
        if known is not None:
            if known.input == encoded:
                return  # StartExecution is idempotent for the same name and input
            raise RuntimeError(f"ExecutionAlreadyExists: Execution Already Exists: {name}")
        execution = Execution(name, encoded)
        self.executions[name] = execution
        start = self.definition["StartAt"]
        self._at(self.now(), lambda: self._enter(execution, start, json.loads(encoded)))

    def respond(self, url: str, body: dict[str, Any]) -> None:
        self.answers.append((url, body))
        self.answered.setdefault(body["RequestId"], self.now())

    # -- CloudFormation ----------------------------------------------------------------

    def send(self, event: dict[str, Any], *, at: float | None = None) -> None:
        """CloudFormation invokes the function asynchronously with ``event``."""
        encoded = json.dumps(event)
        assert len(encoded.encode()) <= EVENT_LIMIT, "an event Lambda would not take"
        when = self.now() if at is None else at
        self.sent[event["RequestId"]] = when
        self._at(when, lambda: self._async_invoke(encoded, retry=0))

    def run(self, until: float | None = None) -> None:
        """Play the events in time order until none is left (or ``until``)."""
        while self._queue:
            when, _, action = heapq.heappop(self._queue)
            if until is not None and when > until:
                heapq.heappush(self._queue, (when, 0, action))
                return
            self.clock.seconds = max(self.clock.seconds, when)
            action()

    # -- Lambda --------------------------------------------------------------------------

    def _async_invoke(self, encoded: str, *, retry: int) -> None:
        if not self._try_invoke(encoded, lambda result: None):
            # Lambda's asynchronous queue retries a throttled event with backoff (from
            # 1 s to 5 minutes), the retries of many events spread in time.
            delay = min(2.0**retry, 300.0) * self._random.uniform(0.5, 1.0)
            self._at(self.now() + delay, lambda: self._async_invoke(encoded, retry=retry + 1))

    def _try_invoke(self, encoded: str, done: Callable[[Any], None]) -> bool:
        """Run the handler with ``encoded`` if a concurrent execution is free; False when
        throttled. ``done`` gets the function's result (or the crash) when it ends."""
        start = self.now()
        self._busy = [end for end in self._busy if end > start]
        if self.concurrency is not None and len(self._busy) >= self.concurrency:
            self.throttles += 1
            return False
        calls = self._calls()
        outcome: Any
        try:
            outcome = waiter.handle(json.loads(encoded), self.runtime, self, self.steps)
        except Crash as crash:
            outcome = crash
        slept = self.now() - start
        duration = slept + INVOCATION_SECONDS + CALL_SECONDS * (self._calls() - calls)
        assert duration <= LAMBDA_TIMEOUT, f"an invocation took {duration:.0f} s"
        self.invocations += 1
        self.execution_seconds += duration
        self._busy.append(start + duration)
        self.peak = max(self.peak, len(self._busy))
        if isinstance(outcome, dict):
            # What the function returns must travel as JSON, within the state's limit.
            returned = json.dumps(outcome)
            self.largest_state = max(self.largest_state, len(returned.encode()))
            assert len(returned.encode()) <= STATE_LIMIT, "States.DataLimitExceeded"
            outcome = json.loads(returned)
        self._at(start + duration, lambda: done(outcome))
        return True

    def _calls(self) -> int:
        return sum(len(service.calls) for service in self._services if service is not None)

    # -- Step Functions -------------------------------------------------------------------

    def _enter(self, execution: Execution, name: str, data: dict[str, Any]) -> None:
        state = self.definition["States"][name]
        kind = state["Type"]
        if kind == "Wait":
            seconds = _path(data, state["SecondsPath"])
            assert isinstance(seconds, int) and seconds >= 0, f"Wait of {seconds!r}"
            self.waits.append(seconds)
            self._at(self.now() + seconds, lambda: self._enter(execution, state["Next"], data))
        elif kind == "Task":
            execution.attempts = {}
            self._task(execution, name, data)
        elif kind == "Choice":
            for choice in state["Choices"]:
                present = _has_path(data, choice["Variable"])
                if present == choice["IsPresent"]:
                    self._enter(execution, choice["Next"], data)
                    return
            self._enter(execution, state["Default"], data)
        elif kind == "Succeed":
            execution.status = "SUCCEEDED"
        else:  # pragma: no cover - the definition uses no other state
            raise AssertionError(f"state type {kind} is not simulated")

    def _task(self, execution: Execution, name: str, data: dict[str, Any]) -> None:
        state = self.definition["States"][name]
        assert state["Resource"] == "arn:aws:states:::lambda:invoke"
        parameters = state["Parameters"]
        assert parameters["FunctionName"] == FUNCTION_ARN
        payload = _path(data, parameters["Payload.$"])
        assert len(json.dumps(payload).encode()) <= STATE_LIMIT, "States.DataLimitExceeded"

        def done(outcome: Any) -> None:
            if isinstance(outcome, BaseException):
                # Step Functions' Cause of a function's error: the error as JSON.
                error = {"errorType": type(outcome).__name__, "errorMessage": str(outcome)}
                cause = json.dumps(error, separators=(",", ":"))
                self._fail(execution, name, data, type(outcome).__name__, cause)
                return
            output = _path({"Payload": outcome, "StatusCode": 200}, state["OutputPath"])
            self._next(execution, state, output)

        if not self._try_invoke(json.dumps(payload), done):
            self._fail(execution, name, data, "Lambda.TooManyRequestsException", "Rate Exceeded.")

    def _fail(
        self, execution: Execution, name: str, data: dict[str, Any], error: str, cause: str
    ) -> None:
        state = self.definition["States"][name]
        for index, retrier in enumerate(state.get("Retry", [])):
            if error not in retrier["ErrorEquals"] and "States.ALL" not in retrier["ErrorEquals"]:
                continue
            used = execution.attempts.get(index, 0)
            if used >= retrier.get("MaxAttempts", 3):
                break
            execution.attempts[index] = used + 1
            delay = retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** used
            delay = min(delay, retrier.get("MaxDelaySeconds", delay))
            if retrier.get("JitterStrategy") == "FULL":
                delay = self._random.uniform(0, delay)
            self._at(self.now() + delay, lambda: self._task(execution, name, data))
            return
        for catcher in state.get("Catch", []):
            if error in catcher["ErrorEquals"] or "States.ALL" in catcher["ErrorEquals"]:
                key = catcher["ResultPath"].removeprefix("$.")
                self._enter(
                    execution, catcher["Next"], {**data, key: {"Error": error, "Cause": cause}}
                )
                return
        execution.status = "FAILED"

    def _next(self, execution: Execution, state: dict[str, Any], output: Any) -> None:
        if state.get("End"):
            execution.status = "SUCCEEDED"
        else:
            self._enter(execution, state["Next"], output)

    def _at(self, when: float, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (when, self._seq, action))


def _path(data: Any, path: str) -> Any:
    """A reference path's value (``$``, ``$.Key``)."""
    assert path.startswith("$"), path
    value = data
    for key in filter(None, path[1:].split(".")):
        value = value[key]
    return value


def _has_path(data: Any, path: str) -> bool:
    try:
        _path(data, path)
    except (KeyError, TypeError):
        return False
    return True
