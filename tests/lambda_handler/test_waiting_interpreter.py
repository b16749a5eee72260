"""An independent judge of the waiting state machine: LocalStack's Amazon States
Language interpreter (shipped in moto) runs the definition a stack deploys, invoking
the real handler in-process, against moto's SageMaker and Step Functions. Each scenario
runs through it and through the library's own simulation (tests/simulation.py), and
both must answer CloudFormation alike: the same status, physical id, data and reason,
after the same number of polls.

What the interpreter does not model is played around it: Wait states and retries are
not slept (their seconds are recorded), Lambda's invoke runs the handler in this
process, moto's jobs (which complete at once) stay in progress for a planned number
of polls, and StopTrainingJob (which moto lacks) stops them. moto's interpreter does
not enforce Step Functions' 256 KiB either: every input and result that crosses it is
measured here.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from moto import mock_aws
from moto.awslambda.models import LambdaBackend
from moto.core.responses import ActionResult
from moto.sagemaker import sagemaker_backends
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)

from constructs_lib import TrainingImage, TrainingJob, TrainingOutput
from constructs_lib.handler import lifecycle, waiter
from constructs_lib.handler.properties import NAME_PREFIX, REQUEST, WAITING_SUFFIX
from tests.fakes import FakeCloudFormation, FakeSageMaker, SimClock
from tests.harness import STACK_ID, Framework, Response, cfn_strings
from tests.lambda_handler.test_large_requests import largest_request
from tests.simulation import STATE_LIMIT, Crash, Simulation

ACCOUNT = "123456789012"
REGION = "us-east-1"
FUNCTION = "ml-sagemaker-jobs"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/provider"


@pytest.fixture(scope="module")
def deployed_definition() -> str:
    """The waiting state machine's definition as a stack deploys it."""
    app = App()
    stack = Stack(app, "Judged")
    TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(s3.Bucket(stack, "Data"), "models/"),
    )
    machines = Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine")
    [machine] = machines.values()
    text = machine["Properties"]["DefinitionString"]
    assert "${Handler}" in text and set(machine["Properties"]["DefinitionSubstitutions"]) == {
        "Handler"
    }
    return str(text).replace("${Handler}", FUNCTION_ARN)


@dataclass
class Plan:
    """How the judged scenario's jobs behave, and what the handler does."""

    in_progress: int = 2
    final: str = "Completed"
    crash_from_poll: int | None = None
    #: Lambda invocations: (payload bytes, result bytes).
    sizes: list[tuple[int, int]] = field(default_factory=list)
    polls: int = 0
    waits: list[int] = field(default_factory=list)
    retries: list[float] = field(default_factory=list)


class _Services(waiter.LambdaServices):
    def __init__(self, start: Any, machine: str) -> None:
        super().__init__(start, machine)
        self.answers: list[tuple[str, dict[str, Any]]] = []
        self.answered = threading.Event()

    def respond(self, url: str, body: dict[str, Any]) -> None:
        self.answers.append((url, body))
        self.answered.set()


class Interpreter:
    """moto's Step Functions (LocalStack's interpreter) around the real handler."""

    def __init__(self, definition: str, plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
        self.plan = plan
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.sagemaker = boto3.client("sagemaker", region_name=REGION)
        lambda_client = boto3.client("lambda", region_name=REGION)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("index.py", "def handle(event, context):\n    return event\n")
        lambda_client.create_function(
            FunctionName=FUNCTION,
            Runtime="python3.12",
            Role=_role(),
            Handler="index.handle",
            Code={"ZipFile": archive.getvalue()},
        )
        self.machine = self.sfn.create_state_machine(
            name=f"{FUNCTION}{WAITING_SUFFIX}", definition=definition, roleArn=_role()
        )["stateMachineArn"]
        #: The executions the handler started.
        self.executions: list[str] = []

        def start_execution(**request: Any) -> Any:
            started = self.sfn.start_execution(**request)
            self.executions.append(started["executionArn"])
            return started

        self.services = _Services(start_execution, self.machine)
        # The stack's status (read by an Update) from the fakes: moto has no such stack.
        stack = FakeCloudFormation(SimClock(), STACK_ID)
        stack.status = "UPDATE_IN_PROGRESS"
        self.runtime = lifecycle.Runtime(
            sagemaker=self.sagemaker, cloudformation_factory=lambda: stack
        )
        monkeypatch.setattr(LambdaBackend, "invoke", self._invoke)
        monkeypatch.setattr(WaitFunction, "_wait_interval", self._wait)
        monkeypatch.setattr(retrier_decl, "time", SimpleNamespace(sleep=self.plan.retries.append))
        original = SageMakerModelBackend.describe_training_job
        monkeypatch.setattr(
            SageMakerModelBackend,
            "describe_training_job",
            lambda backend, name: self._describe(original, backend, name),
        )
        monkeypatch.setattr(SageMakerResponse, "stop_training_job", _stop, raising=False)

    # -- what moto lacks or does at once ------------------------------------------------

    def _describe(self, original: Any, backend: Any, name: str) -> dict[str, Any]:
        job = backend.training_jobs.get(name)
        if job is not None and job.training_job_status == "Completed":
            job.describes = getattr(job, "describes", 0) + 1
            if job.describes <= self.plan.in_progress:
                return {**original(backend, name), "TrainingJobStatus": "InProgress"}
            if self.plan.final == "Failed":
                job.training_job_status = job.secondary_status = "Failed"
                job.failure_reason = "AlgorithmError: training exited with code 1"
        description: dict[str, Any] = original(backend, name)
        if description.get("TrainingJobStatus") == "Failed":
            description["FailureReason"] = "AlgorithmError: training exited with code 1"
        return description

    def _wait(self, env: Any, wait_seconds: int) -> None:
        self.plan.waits.append(wait_seconds)

    def _invoke(self, name: str, qualifier: Any, body: Any, headers: Any, out: Any) -> Any:
        payload = json.loads(body)
        try:
            result: Any = waiter.handle(payload, self.runtime, self.services, self._steps())
        except Crash as crash:
            out["x-amz-function-error"] = "Unhandled"
            result = {"errorType": "Crash", "errorMessage": str(crash)}
        encoded = json.dumps(result)
        self.plan.sizes.append((len(body), len(encoded.encode())))
        return encoded.encode()

    def _steps(self) -> waiter.Steps:
        plan = self.plan

        def poll(event: Any, runtime: lifecycle.Runtime) -> dict[str, Any]:
            plan.polls += 1
            if plan.crash_from_poll is not None and plan.polls >= plan.crash_from_poll:
                raise Crash("Runtime.OutOfMemory: the function ran out of memory")
            return lifecycle.is_complete(event, runtime)

        return waiter.Steps(is_complete=poll)

    # -- CloudFormation ---------------------------------------------------------------------

    def run(self, event: dict[str, Any]) -> Response:
        """CloudFormation's invocation, then the state machine's executions to their end."""
        self.services.answers.clear()
        self.services.answered.clear()
        self.executions.clear()
        self.plan.polls = 0
        waiter.handle(event, self.runtime, self.services, self._steps())
        # (Polling moto from this thread would starve the interpreter's: wait.)
        assert self.services.answered.wait(120), "CloudFormation was never answered"
        deadline = time.monotonic() + 30
        statuses: set[str] = set()
        while time.monotonic() < deadline:
            statuses = {
                self.sfn.describe_execution(executionArn=arn)["status"] for arn in self.executions
            }
            if "RUNNING" not in statuses:
                break
            time.sleep(0.5)
        assert statuses <= {"SUCCEEDED"}, statuses
        [(url, body)] = self.services.answers
        assert url == event["ResponseURL"]
        return Response(
            event["RequestType"],
            body["Status"],
            body["PhysicalResourceId"],
            body["Reason"],
            data=body["Data"],
            polls=self.plan.polls,
        )


def _stop(response: SageMakerResponse) -> ActionResult:
    """StopTrainingJob, which moto lacks: the job stops at once."""
    job = response.sagemaker_backend.training_jobs[response._get_param("TrainingJobName")]
    job.training_job_status = "Stopped"
    return ActionResult({})


def _role() -> str:
    iam = boto3.client("iam", region_name=REGION)
    try:
        return iam.get_role(RoleName="provider")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {"Version": "2012-10-17", "Statement": []}
        return iam.create_role(RoleName="provider", AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]


@pytest.fixture
def judged(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    config = {"stepfunctions": {"execute_state_machine": True}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        yield


def _simulated(events: list[dict[str, Any]], plan: Plan) -> list[Response]:
    """The same events, one after the other, through the library's own simulation on
    the fakes."""
    sagemaker = FakeSageMaker()
    sagemaker.plan.polls = plan.in_progress
    sagemaker.plan.final = plan.final
    sagemaker.plan.metrics = {"train:progress": 100.0}  # what moto's jobs report
    framework = Framework(sagemaker)
    responses = []
    for event in events:
        polls = 0

        def poll(poll_event: Any, runtime: lifecycle.Runtime) -> dict[str, Any]:
            nonlocal polls
            polls += 1
            if plan.crash_from_poll is not None and polls >= plan.crash_from_poll:
                raise Crash("Runtime.OutOfMemory: the function ran out of memory")
            return lifecycle.is_complete(poll_event, runtime)

        simulation = Simulation(
            framework.clock,
            framework.runtime,
            services=[sagemaker],
            steps=waiter.Steps(is_complete=poll),
        )
        simulation.send(event)
        simulation.run()
        [(_, body)] = simulation.answers
        responses.append(
            Response(
                event["RequestType"],
                body["Status"],
                body["PhysicalResourceId"],
                body["Reason"],
                data=body["Data"],
                polls=polls,
            )
        )
    return responses


def _event(
    properties: dict[str, Any], request_type: str = "Create", **extra: Any
) -> dict[str, Any]:
    event = _EVENTS.event(request_type, properties, **extra)
    event["ServiceToken"] = FUNCTION_ARN
    return event


#: Makes the events: each with its own request id, as CloudFormation's.
_EVENTS = Framework(FakeSageMaker())


def _properties(seed: int) -> dict[str, Any]:
    request = largest_request(seed, compressible=True)
    request["RoleArn"] = ROLE
    request["Tags"] = request["Tags"][:10]
    return cfn_strings({REQUEST: request, NAME_PREFIX: "ml-0a1b2c-train"})


def _compared(judge: Response, ours: Response) -> None:
    assert (judge.status, judge.physical_id, judge.polls) == (
        ours.status,
        ours.physical_id,
        ours.polls,
    )
    assert sorted(judge.data) == sorted(ours.data)
    assert (
        judge.reason.split(" `constructs-lib watch")[0]
        == ours.reason.split(" `constructs-lib watch")[0]
    )


def _measured(plan: Plan) -> None:
    assert plan.sizes, "the state machine invoked the handler"
    assert max(max(sizes) for sizes in plan.sizes) < STATE_LIMIT


def test_a_job_at_the_api_limits_waits_through_the_interpreter_as_in_the_simulation(
    judged: None, deployed_definition: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = Plan(in_progress=3)
    event = _event(_properties(1))
    judge = Interpreter(deployed_definition, plan, monkeypatch).run(event)
    [ours] = _simulated([event], Plan(in_progress=3))
    assert judge.status == "SUCCESS", judge.reason
    _compared(judge, ours)
    assert plan.waits == [30, 30, 30]
    _measured(plan)
    [name] = sagemaker_backends[ACCOUNT][REGION].training_jobs
    assert judge.physical_id == name


def test_a_replacing_update_at_the_limits_is_judged_alike(
    judged: None, deployed_definition: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = Plan(in_progress=1)
    interpreter = Interpreter(deployed_definition, plan, monkeypatch)
    create = _event(_properties(1))
    created = interpreter.run(create)
    assert created.status == "SUCCESS", created.reason
    update = _event(
        _properties(2),
        "Update",
        PhysicalResourceId=created.physical_id,
        OldResourceProperties={"ServiceToken": "token", **_properties(1)},
    )
    assert len(json.dumps(update)) > 3 * STATE_LIMIT  # the old and the new request
    judge = interpreter.run(update)
    assert judge.status == "SUCCESS", judge.reason
    assert judge.physical_id != created.physical_id
    ours = _simulated([create, update], Plan(in_progress=1))
    _compared(created, ours[0])
    _compared(judge, ours[1])
    _measured(plan)


def test_a_failed_job_is_answered_failed_alike(
    judged: None, deployed_definition: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = Plan(in_progress=1, final="Failed")
    event = _event(_properties(3))
    judge = Interpreter(deployed_definition, plan, monkeypatch).run(event)
    assert judge.status == "FAILED"
    assert "AlgorithmError: training exited with code 1" in judge.reason
    _compared(judge, _simulated([event], Plan(in_progress=1, final="Failed"))[0])


def test_a_function_that_keeps_crashing_is_reported_through_the_catch_alike(
    judged: None, deployed_definition: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = Plan(in_progress=5, crash_from_poll=2)
    event = _event(_properties(4))
    judge = Interpreter(deployed_definition, plan, monkeypatch).run(event)
    assert judge.status == "FAILED"
    assert "failed while waiting for" in judge.reason and "Runtime.OutOfMemory" in judge.reason
    # The crashed poll retried twice (10 s, then 20 s) before the Catch reported it.
    assert plan.retries == [10, 20]
    _compared(judge, _simulated([event], Plan(in_progress=5, crash_from_poll=2))[0])


def test_a_delete_of_a_running_job_stops_it_and_waits_alike(
    judged: None, deployed_definition: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = Plan(in_progress=10)
    interpreter = Interpreter(deployed_definition, plan, monkeypatch)
    created = _event(_properties(5))
    started = lifecycle.on_event(created, interpreter.runtime)
    name = started["PhysicalResourceId"]
    event = _event(_properties(5), "Delete", PhysicalResourceId=name)
    judge = interpreter.run(event)
    assert (judge.status, judge.physical_id) == ("SUCCESS", name)
    job = sagemaker_backends[ACCOUNT][REGION].training_jobs[name]
    assert job.training_job_status == "Stopped"
    # The simulation: the same job started, then the same Delete.
    sagemaker = FakeSageMaker()
    sagemaker.plan.polls = 10
    sagemaker.plan.stop_polls = 0  # stopped at once, as the judged StopTrainingJob does
    framework = Framework(sagemaker)
    _, failure = framework.start(created)
    assert failure is None
    ours = framework.run(event)
    _compared(judge, ours)
    assert sagemaker.calls_of("StopTrainingJob") == [{"TrainingJobName": name}]
