"""The provider's own waiter (handler/waiter.py): one function answers CloudFormation
itself, waits in the state machine between polls, and always answers once.

The lifecycle scenarios of the other handler tests all run through it
(tests/harness.py plays Lambda and the state machine around it, tests/simulation.py);
these check what is the waiter's own: the hand-over, the answer's size, the total
timeout, a crashing function, and the Lambda side of it (StartExecution and the PUT).
"""

from __future__ import annotations

import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from constructs_lib.handler import lifecycle, waiter
from constructs_lib.handler.properties import (
    NAME_PREFIX,
    POLL_INTERVAL,
    QUERY_INTERVAL_SECONDS,
    REQUEST,
)
from tests.fakes import FakeSageMaker, service_model, validate
from tests.harness import Framework, cfn_strings
from tests.lambda_handler.test_handler_lifecycle import request
from tests.simulation import CALL_SECONDS, INVOCATION_SECONDS, Crash, Simulation


def _properties() -> dict[str, Any]:
    return cfn_strings({REQUEST: request(), NAME_PREFIX: "ml-0a1b2c-train"})


def test_a_job_of_fifty_minutes_is_waited_for_by_the_state_machine_with_one_answer() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.plan.runtime = 50 * 60
    cfn = Framework(sagemaker)

    response = cfn.create(_properties())

    assert response.status == "SUCCESS", response.reason
    # CloudFormation's invocation polled once; each further poll is one invocation
    # by the state machine, which waited in between (no invocation sleeps).
    assert response.polls == 50 * 60 // QUERY_INTERVAL_SECONDS + 1
    assert cfn.invocations == response.polls
    assert sagemaker.clock.slept == []
    assert len(sagemaker.calls_of("CreateTrainingJob")) == 1


def test_the_polls_come_one_query_interval_apart() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.plan.runtime = 20 * 60
    times: list[float] = []

    def timed(event: Any, runtime: lifecycle.Runtime) -> dict[str, Any]:
        times.append(sagemaker.clock.seconds)
        return lifecycle.is_complete(event, runtime)

    simulation = _simulation(sagemaker, waiter.Steps(is_complete=timed))
    simulation.send(_event())
    simulation.run()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # The first wait starts in CloudFormation's invocation, each further one once the
    # state machine's invocation ended.
    assert gaps[0] == QUERY_INTERVAL_SECONDS
    assert {round(gap, 6) for gap in gaps[1:]} == {QUERY_INTERVAL_SECONDS + simulation_cost()}
    assert times[-1] >= 20 * 60 and len(simulation.answers) == 1


def test_a_longer_poll_interval_is_waited_in_one_piece_not_in_skipped_polls() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.plan.runtime = 20 * 60
    cfn = Framework(sagemaker)

    response = cfn.create({**_properties(), POLL_INTERVAL: "120"})

    assert response.status == "SUCCESS", response.reason
    # One invocation, one DescribeTrainingJob, every two minutes (the first poll at
    # once catches a job that fails at its start) ...
    describes = len(sagemaker.calls_of("DescribeTrainingJob"))
    assert cfn.invocations == response.polls == describes
    assert describes <= 20 * 60 // 120 + 2
    # ... and the completion noticed within one interval.
    assert sagemaker.clock.seconds - 20 * 60 <= 120


def test_work_not_done_within_the_hour_is_answered_failed_naming_the_limit() -> None:
    steps = waiter.Steps(
        on_event=lambda e, r: {"PhysicalResourceId": "job-1"},
        is_complete=lambda e, r: {"IsComplete": False},
    )
    simulation = _simulation(FakeSageMaker(), steps)
    simulation.send(_event())
    simulation.run()
    [(_, body)] = simulation.answers
    assert body["Status"] == "FAILED"
    assert "did not complete within 3600 s" in body["Reason"] and "job-1" in body["Reason"]
    assert simulation.now() < waiter.TOTAL_TIMEOUT_SECONDS


def test_an_error_of_either_step_is_answered_failed_with_its_message() -> None:
    def boom(event: Any, runtime: lifecycle.Runtime) -> dict[str, Any]:
        raise lifecycle.TrainingJobError("Training job x ended Failed: out of memory")

    services = _Services()
    waiter.handle(_event(), _runtime(), services, waiter.Steps(on_event=boom))
    [(_, body)] = services.answers
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == waiter.CREATE_FAILED_MARKER
    assert body["Reason"] == "Training job x ended Failed: out of memory"

    services = _Services()
    steps = waiter.Steps(on_event=lambda e, r: {"PhysicalResourceId": "job-1"}, is_complete=boom)
    waiter.handle(_event(), _runtime(), services, steps)
    [(_, body)] = services.answers
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", "job-1")


def test_a_hand_over_that_fails_stops_the_job_it_started_and_answers_failed() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.plan.runtime = 20 * 60
    services = _Services(refuse_start=True)
    event = _event()
    waiter.handle(event, Framework(sagemaker).runtime, services)
    [(_, body)] = services.answers
    [created] = sagemaker.calls_of("CreateTrainingJob")
    name = created["TrainingJobName"]
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", name)
    assert "could not be started" in body["Reason"] and "Rate exceeded" in body["Reason"]
    # Not left running with no deploy waiting for it: stopped, and the answer says so.
    assert sagemaker.calls_of("StopTrainingJob") == [{"TrainingJobName": name}]
    assert f"Its job {name} was stopped" in body["Reason"]


def test_a_hand_over_that_fails_after_an_update_in_place_stops_nothing() -> None:
    services = _Services(refuse_start=True)
    steps = waiter.Steps(
        on_event=lambda e, r: {"PhysicalResourceId": e["PhysicalResourceId"]},
        is_complete=lambda e, r: {"IsComplete": False},
    )
    framework = Framework(FakeSageMaker())
    event = framework.event(
        "Update", _properties(), PhysicalResourceId="job-1", OldResourceProperties=_properties()
    )
    waiter.handle(event, framework.runtime, services, steps)
    [(_, body)] = services.answers
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", "job-1")
    assert "stopped" not in body["Reason"]


def test_a_function_that_keeps_crashing_is_answered_failed_by_the_state_machine() -> None:
    polls = 0

    def crashes_later(event: Any, runtime: lifecycle.Runtime) -> dict[str, Any]:
        nonlocal polls
        polls += 1
        if polls > 1:
            raise Crash("Runtime.OutOfMemory: the function ran out of memory")
        return {"IsComplete": False}

    steps = waiter.Steps(
        on_event=lambda e, r: {"PhysicalResourceId": "job-1"}, is_complete=crashes_later
    )
    simulation = _simulation(FakeSageMaker(), steps)
    simulation.send(_event())
    simulation.run()
    [(_, body)] = simulation.answers
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", "job-1")
    assert "failed while waiting for job-1: Crash: Runtime.OutOfMemory" in body["Reason"]
    # The state machine retried the crashed poll twice before it reported the failure.
    assert polls == 1 + 3
    [execution] = simulation.executions.values()
    assert execution.status == "SUCCEEDED"


def test_the_delete_of_a_failed_create_is_answered_without_touching_sagemaker() -> None:
    sagemaker = FakeSageMaker()
    cfn = Framework(sagemaker)
    response = cfn.delete(waiter.CREATE_FAILED_MARKER, _properties())
    assert (response.status, response.physical_id) == ("SUCCESS", waiter.CREATE_FAILED_MARKER)
    assert sagemaker.calls == []


@pytest.mark.parametrize("character", ["x", "é", "训"])
def test_an_answer_is_cut_to_cloudformation_s_4_kb_whatever_the_reason_holds(
    character: str,
) -> None:
    body = waiter.response_body(_event(), "FAILED", "job-1", reason=character * 10_000)
    size = len(json.dumps(body).encode())
    assert size < waiter.MAX_RESPONSE_BYTES
    assert size > waiter.MAX_RESPONSE_BYTES - 1200  # cut, not emptied
    assert body["Reason"].endswith("...[truncated]")
    short = waiter.response_body(_event(), "FAILED", "job-1", reason="no room needed")
    assert short["Reason"] == "no room needed"


def test_in_lambda_it_starts_the_state_machine_and_puts_the_answer() -> None:
    received: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(
                (self.path, self.headers.get("Content-Type", ""), self.rfile.read(length))
            )
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    started: list[dict[str, Any]] = []
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:ml-sagemaker-jobs-waiting"

    def start_execution(**kwargs: Any) -> None:
        if any(s["name"] == kwargs["name"] for s in started):
            raise RuntimeError("An error occurred (ExecutionAlreadyExists) ...")
        started.append(kwargs)

    services = waiter.LambdaServices(start_execution, machine)
    try:
        url = f"http://127.0.0.1:{server.server_port}/response?sig=1"
        services.respond(url, {"Status": "SUCCESS"})
    finally:
        server.shutdown()
    assert received == [("/response?sig=1", "", b'{"Status": "SUCCESS"}')]
    payload = {waiter.CONTINUATION: {"Polls": 3}, "WaitSeconds": 30}
    services.continue_later("request-1", payload)
    # A retried invocation finds its execution started: that is not an error.
    services.continue_later("request-1", payload)
    assert started == [
        {"stateMachineArn": machine, "name": "request-1", "input": json.dumps(payload)}
    ]
    # The state machine's input is what StartExecution accepts (botocore's model).
    validate(service_model("stepfunctions").operation_model("StartExecution"), started[0])


# -- helpers --------------------------------------------------------------------


class _Services:
    """The waiter's services for one invocation: a fixed clock, answers kept."""

    def __init__(self, *, refuse_start: bool = False) -> None:
        self.clock = 0.0
        self.started: list[tuple[str, dict[str, Any]]] = []
        self.answers: list[tuple[str, dict[str, Any]]] = []
        self._refuse = refuse_start

    def now(self) -> float:
        return self.clock

    def continue_later(self, name: str, payload: dict[str, Any]) -> None:
        if self._refuse:
            raise RuntimeError("An error occurred (ThrottlingException): Rate exceeded (throttled)")
        self.started.append((name, json.loads(json.dumps(payload))))

    def respond(self, url: str, body: dict[str, Any]) -> None:
        self.answers.append((url, body))


def _event() -> dict[str, Any]:
    return Framework(FakeSageMaker()).event("Create", _properties())


def _runtime() -> lifecycle.Runtime:
    return Framework(FakeSageMaker()).runtime


def _simulation(sagemaker: FakeSageMaker, steps: waiter.Steps) -> Simulation:
    framework = Framework(sagemaker)
    return Simulation(sagemaker.clock, framework.runtime, services=[sagemaker], steps=steps)


def simulation_cost() -> float:
    """What one poll's invocation (one DescribeTrainingJob) holds Lambda for."""
    return INVOCATION_SECONDS + CALL_SECONDS
