"""CloudFormation and Lambda, played around the provider's function.

:class:`Framework` runs one event through the provider's own waiter
(:mod:`constructs_lib.handler.waiter`), as Lambda and the waiting state machine would
(:mod:`tests.simulation`): CloudFormation's invocation, then the state machine's, one
per poll, the state carried as JSON, the answer PUT to the response URL (of less
than 4 KB). Its
``start`` and ``poll`` are the lifecycle's two steps alone, for tests that interleave
resources. :class:`Resource` does what CloudFormation does with one custom
resource across deploys: Create, Update (with the cleanup Delete of a replaced job),
rollback after a failure (an Update back to the old properties, then the cleanup
Delete of what it replaced), and Delete on destroy. Whole templates, with the other
resources of a stack, are played by :mod:`tests.cloudformation`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from constructs_lib.handler import lifecycle, waiter
from tests.fakes import (
    ACCOUNT,
    REGION,
    FakeBatch,
    FakeCloudFormation,
    FakeEC2,
    FakeSageMaker,
    runtime,
)
from tests.simulation import Simulation

STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/ml/0a1b2c3d-0000-0000-0000-000000000000"
)
CFN_RESPONSE_LIMIT = 4096
QUERY_INTERVAL = 30.0
TOTAL_TIMEOUT = 3600.0
#: The physical id of a Create that failed in on_event.
CREATE_FAILED_MARKER = waiter.CREATE_FAILED_MARKER


def cfn_strings(value: Any) -> Any:
    """What CloudFormation does to a custom resource's properties: every scalar
    becomes a string."""
    if isinstance(value, dict):
        return {key: cfn_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [cfn_strings(item) for item in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Response:
    """What the provider framework would send CloudFormation for one event."""

    request_type: str
    status: str
    physical_id: str
    reason: str = ""
    data: dict[str, str] = field(default_factory=dict)
    polls: int = 0

    def body(self, event: dict[str, Any]) -> str:
        return json.dumps(
            {
                "Status": self.status,
                "Reason": self.reason,
                "PhysicalResourceId": self.physical_id,
                "StackId": event["StackId"],
                "RequestId": event["RequestId"],
                "LogicalResourceId": event["LogicalResourceId"],
                "Data": self.data,
            }
        )


class Framework:
    """``custom_resources.Provider`` for the handler, on the fakes' simulated clock."""

    def __init__(
        self,
        sagemaker: FakeSageMaker,
        ec2: FakeEC2 | None = None,
        cloudformation: FakeCloudFormation | None = None,
        batch: FakeBatch | None = None,
    ) -> None:
        self.sagemaker = sagemaker
        self.clock = sagemaker.clock
        #: The stack; its status is UPDATE_IN_PROGRESS unless a test rolls it back.
        self.cloudformation = cloudformation or FakeCloudFormation(self.clock, STACK_ID)
        if cloudformation is None:
            self.cloudformation.status = "UPDATE_IN_PROGRESS"
        self.runtime = runtime(sagemaker, ec2, self.cloudformation, batch)
        #: The fakes whose calls an invocation makes (each takes time in Lambda).
        self.services = [sagemaker, ec2, self.cloudformation, batch]
        self.responses: list[Response] = []
        self._requests = 0
        #: The custom resource type of the events (a tuning job's, for tuning tests).
        self.resource_type = "Custom::SageMakerTrainingJob"
        #: Lambda invocations of the last :meth:`run` (the state machine's included),
        #: and the execution-seconds they held (tests/simulation.py's cost model).
        self.invocations = 0
        self.execution_seconds = 0.0
        #: The largest state handed to or returned from the state machine (bytes), over
        #: every run; the Wait states of the last run (seconds).
        self.largest_state = 0
        self.waits: list[int] = []

    def event(self, request_type: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
        self._requests += 1
        event = {
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
            "ResponseURL": "https://cloudformation-custom-resource-response.example/...",
            "StackId": STACK_ID,
            "RequestId": f"00000000-0000-0000-0000-{self._requests:012d}",
            "LogicalResourceId": "TrainA1B2C3D4",
            "ResourceType": self.resource_type,
            "ResourceProperties": {"ServiceToken": "token", **properties},
        }
        event.update(extra)
        return event

    def start(self, event: dict[str, Any]) -> tuple[dict[str, Any], Response | None]:
        """on_event: the event to poll with, or the FAILED response."""
        try:
            result = lifecycle.on_event(dict(event), self.runtime)
        except Exception as error:  # the framework reports any error as FAILED
            physical = event.get("PhysicalResourceId", CREATE_FAILED_MARKER)
            return event, self._respond(
                event, Response(event["RequestType"], "FAILED", physical, str(error))
            )
        physical = result.get("PhysicalResourceId", event.get("PhysicalResourceId", ""))
        return {**event, **result, "PhysicalResourceId": physical}, None

    def poll(self, poll_event: dict[str, Any], polls: int) -> Response | None:
        """One is_complete call: the final response, or None to poll again."""
        physical = poll_event["PhysicalResourceId"]
        request_type = poll_event["RequestType"]
        try:
            answer = lifecycle.is_complete(dict(poll_event), self.runtime)
        except Exception as error:
            return self._respond(
                poll_event, Response(request_type, "FAILED", physical, str(error), polls=polls)
            )
        if answer["IsComplete"]:
            data = {**poll_event.get("Data", {}), **answer.get("Data", {})}
            return self._respond(
                poll_event, Response(request_type, "SUCCESS", physical, data=data, polls=polls)
            )
        return None

    def run(self, event: dict[str, Any]) -> Response:
        """One event through the waiter, as Lambda and the waiting state machine run it
        (:mod:`tests.simulation`), until it answers."""
        polls = 0

        def counted(poll_event: Any, runtime: lifecycle.Runtime) -> dict[str, Any]:
            nonlocal polls
            polls += 1
            return lifecycle.is_complete(poll_event, runtime)

        simulation = Simulation(
            self.clock,
            self.runtime,
            services=self.services,
            steps=waiter.Steps(is_complete=counted),
        )
        simulation.send(event)
        simulation.run()
        assert len(simulation.answers) == 1, f"{len(simulation.answers)} answers to one event"
        assert all(e.status == "SUCCEEDED" for e in simulation.executions.values())
        self.invocations = simulation.invocations
        self.execution_seconds = simulation.execution_seconds
        self.largest_state = max(self.largest_state, simulation.largest_state)
        self.waits = simulation.waits
        url, body = simulation.answers[0]
        assert url == event["ResponseURL"]
        response = Response(
            event["RequestType"],
            body["Status"],
            body["PhysicalResourceId"],
            body["Reason"],
            data=body["Data"],
            polls=polls,
        )
        assert json.loads(response.body(event)) == {k: v for k, v in body.items() if k != "NoEcho"}
        return self._respond(event, response)

    def create(self, properties: dict[str, Any]) -> Response:
        return self.run(self.event("Create", properties))

    def update(self, physical_id: str, old: dict[str, Any], new: dict[str, Any]) -> Response:
        return self.run(
            self.event(
                "Update",
                new,
                PhysicalResourceId=physical_id,
                OldResourceProperties={"ServiceToken": "token", **old},
            )
        )

    def delete(self, physical_id: str, properties: dict[str, Any]) -> Response:
        return self.run(self.event("Delete", properties, PhysicalResourceId=physical_id))

    def _respond(self, event: dict[str, Any], response: Response) -> Response:
        size = len(response.body(event).encode())
        assert size < CFN_RESPONSE_LIMIT, f"response of {size} bytes exceeds CloudFormation's 4 KB"
        self.responses.append(response)
        return response


class Resource:
    """One ``Custom::SageMakerTrainingJob`` through CloudFormation's lifecycle."""

    def __init__(self, framework: Framework) -> None:
        self.framework = framework
        self.physical_id: str | None = None
        self.properties: dict[str, Any] | None = None

    def deploy(self, properties: dict[str, Any]) -> Response:
        """``cdk deploy``: Create or Update, with rollback on failure and the cleanup
        Delete of a replaced job on success."""
        fw = self.framework
        if self.physical_id is None:
            response = fw.run(fw.event("Create", properties))
            if response.status == "FAILED":
                # Rollback of a failed create deletes the resource.
                fw.run(fw.event("Delete", properties, PhysicalResourceId=response.physical_id))
                return response
            self.physical_id, self.properties = response.physical_id, properties
            return response
        assert self.properties is not None
        old_id, old_properties = self.physical_id, self.properties
        response = fw.run(
            fw.event(
                "Update",
                properties,
                PhysicalResourceId=old_id,
                OldResourceProperties={"ServiceToken": "token", **old_properties},
            )
        )
        if response.status == "FAILED":
            self.rollback(response.physical_id, failed=properties, restored=old_properties)
            return response
        if response.physical_id != old_id:
            # UPDATE_COMPLETE_CLEANUP_IN_PROGRESS: delete the replaced job.
            fw.run(fw.event("Delete", old_properties, PhysicalResourceId=old_id))
        self.physical_id, self.properties = response.physical_id, properties
        return response

    def rollback(
        self, physical_id: str, *, failed: dict[str, Any], restored: dict[str, Any]
    ) -> Response:
        """UPDATE_ROLLBACK_IN_PROGRESS: an Update back to ``restored``, with the physical
        id of the FAILED response (the framework's; CloudFormation keeps it), then the
        cleanup Delete of the physical id the rollback replaced."""
        fw = self.framework
        fw.cloudformation.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        response = fw.run(
            fw.event(
                "Update",
                restored,
                PhysicalResourceId=physical_id,
                OldResourceProperties={"ServiceToken": "token", **failed},
            )
        )
        assert response.status == "SUCCESS", f"UPDATE_ROLLBACK_FAILED: {response.reason}"
        fw.cloudformation.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
        if response.physical_id != physical_id:
            fw.run(fw.event("Delete", failed, PhysicalResourceId=physical_id))
        fw.cloudformation.status = "UPDATE_ROLLBACK_COMPLETE"
        self.physical_id, self.properties = response.physical_id, restored
        return response

    def destroy(self) -> Response:
        """``cdk destroy``."""
        assert self.physical_id is not None and self.properties is not None
        fw = self.framework
        response = fw.run(fw.event("Delete", self.properties, PhysicalResourceId=self.physical_id))
        self.physical_id = None
        return response
