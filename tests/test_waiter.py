"""The provider's own waiter (handler/waiter.py): one function answers CloudFormation
itself, waits across invocations, and always answers once.

The lifecycle scenarios of the other handler tests all run through it (tests/harness.py
plays Lambda around it); these check what is the waiter's own: hand-overs, the answer's
size, the total timeout, and the Lambda side of it (the self-invoke and the PUT).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from constructs_lib.handler import lifecycle, waiter
from constructs_lib.handler.properties import NAME_PREFIX, QUERY_INTERVAL_SECONDS, REQUEST
from tests.fakes import FakeSageMaker
from tests.harness import LAMBDA_TIMEOUT, Framework, cfn_strings
from tests.test_handler_lifecycle import request


def _properties() -> dict[str, Any]:
    return cfn_strings({REQUEST: request(), NAME_PREFIX: "ml-0a1b2c-train"})


def test_a_job_of_fifty_minutes_is_waited_for_across_invocations_with_one_answer() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.plan.runtime = 50 * 60
    cfn = Framework(sagemaker)

    response = cfn.create(_properties())

    assert response.status == "SUCCESS", response.reason
    # One invocation holds at most 15 minutes: each hands over 90 s before its end
    # (after ~810 s of waiting), so 50 minutes take four.
    assert cfn.invocations == 4
    # The polls kept their rhythm across hand-overs: one every query interval.
    assert response.polls == 50 * 60 // QUERY_INTERVAL_SECONDS + 1
    assert len(sagemaker.calls_of("CreateTrainingJob")) == 1


def test_a_continuation_goes_on_at_the_next_poll_not_at_once() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.plan.runtime = 20 * 60
    cfn = Framework(sagemaker)
    cfn.create(_properties())
    # Each sleep is the query interval or what remained of it at a hand-over.
    assert all(0 <= s <= QUERY_INTERVAL_SECONDS for s in sagemaker.clock.slept)
    assert sum(sagemaker.clock.slept) == pytest.approx(20 * 60, abs=QUERY_INTERVAL_SECONDS)


def test_work_not_done_within_the_hour_is_answered_failed_naming_the_limit() -> None:
    class Never:
        def __call__(self, event: Any, runtime: lifecycle.Runtime) -> dict[str, Any]:
            return {"IsComplete": False}

    services = _Services()
    event = _event()
    steps = waiter.Steps(on_event=lambda e, r: {"PhysicalResourceId": "job-1"}, is_complete=Never())
    _run(event, services, steps)
    [(_, body)] = services.answers
    assert body["Status"] == "FAILED"
    assert "did not complete within 3600 s" in body["Reason"] and "job-1" in body["Reason"]
    assert services.clock < waiter.TOTAL_TIMEOUT_SECONDS


def test_an_error_of_either_step_is_answered_failed_with_its_message() -> None:
    def boom(event: Any, runtime: lifecycle.Runtime) -> dict[str, Any]:
        raise lifecycle.TrainingJobError("Training job x ended Failed: out of memory")

    services = _Services()
    _run(_event(), services, waiter.Steps(on_event=boom))
    [(_, body)] = services.answers
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == waiter.CREATE_FAILED_MARKER
    assert body["Reason"] == "Training job x ended Failed: out of memory"

    services = _Services()
    steps = waiter.Steps(on_event=lambda e, r: {"PhysicalResourceId": "job-1"}, is_complete=boom)
    _run(_event(), services, steps)
    [(_, body)] = services.answers
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", "job-1")


def test_a_hand_over_that_fails_is_answered_failed_instead_of_leaving_cloudformation_waiting() -> (
    None
):
    services = _Services(refuse_invoke=True)
    steps = waiter.Steps(
        on_event=lambda e, r: {"PhysicalResourceId": "job-1"},
        is_complete=lambda e, r: {"IsComplete": False},
    )
    _run(_event(), services, steps)
    [(_, body)] = services.answers
    assert body["Status"] == "FAILED"
    assert "could not go on waiting for job-1" in body["Reason"] and "throttled" in body["Reason"]


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


def test_in_lambda_it_hands_over_to_itself_asynchronously_and_puts_the_answer() -> None:
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
    invoked: list[dict[str, Any]] = []

    class Context:
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ml-sagemaker-jobs"

        def get_remaining_time_in_millis(self) -> int:
            return 123_000

    services = waiter.LambdaServices(Context(), lambda **kwargs: invoked.append(kwargs))
    try:
        url = f"http://127.0.0.1:{server.server_port}/response?sig=1"
        services.respond(url, {"Status": "SUCCESS"})
    finally:
        server.shutdown()
    assert received == [("/response?sig=1", "", b'{"Status": "SUCCESS"}')]
    assert services.remaining_seconds() == 123.0
    services.continue_later({waiter.CONTINUATION: {"Polls": 3}})
    assert invoked == [
        {
            "FunctionName": Context.invoked_function_arn,
            "InvocationType": "Event",
            "Payload": json.dumps({waiter.CONTINUATION: {"Polls": 3}}).encode(),
        }
    ]


# -- helpers --------------------------------------------------------------------


class _Services:
    """A clock that only sleeps moves, invocations of 15 minutes, answers kept."""

    def __init__(self, *, refuse_invoke: bool = False) -> None:
        self.clock = 0.0
        self.deadline = LAMBDA_TIMEOUT
        self.queue: list[dict[str, Any]] = []
        self.answers: list[tuple[str, dict[str, Any]]] = []
        self._refuse = refuse_invoke

    def now(self) -> float:
        return self.clock

    def sleep(self, seconds: float) -> None:
        self.clock += seconds

    def remaining_seconds(self) -> float:
        return self.deadline - self.clock

    def continue_later(self, payload: dict[str, Any]) -> None:
        if self._refuse:
            raise RuntimeError("TooManyRequestsException: throttled")
        self.queue.append(json.loads(json.dumps(payload)))

    def respond(self, url: str, body: dict[str, Any]) -> None:
        self.answers.append((url, body))


def _event() -> dict[str, Any]:
    return Framework(FakeSageMaker()).event("Create", _properties())


def _run(event: dict[str, Any], services: _Services, steps: waiter.Steps) -> None:
    runtime = Framework(FakeSageMaker()).runtime
    payloads = [event]
    while payloads:
        services.deadline = services.clock + LAMBDA_TIMEOUT
        waiter.handle(payloads.pop(0), runtime, services, steps)
        payloads.extend(services.queue)
        services.queue.clear()
