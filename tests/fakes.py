"""An in-memory SageMaker for handler tests.

Every request and every response is validated against botocore's service model
(the same check a real client makes before sending), so the handler cannot pass a
test with a request the API would reject. Jobs follow SageMaker's state machine:
InProgress -> Completed / Failed, InProgress -> Stopping -> Stopped.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.model import OperationModel, ServiceModel
from botocore.validate import ParamValidator

ACCOUNT = "123456789012"
REGION = "us-east-1"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})


@functools.cache
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("sagemaker")


class ModelValidationError(AssertionError):
    """The handler sent (or the fake built) something the service model rejects."""


def validate(operation: OperationModel, params: dict[str, Any], *, output: bool = False) -> None:
    shape = operation.output_shape if output else operation.input_shape
    if shape is None:
        if params:
            raise ModelValidationError(f"{operation.name} takes/returns nothing, got {params}")
        return
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        kind = "response" if output else "request"
        raise ModelValidationError(f"{operation.name} {kind}: {report.generate_report()}")


def client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@dataclass
class Plan:
    """How the next created jobs behave: ``polls`` describes in progress, then ``final``."""

    final: str = "Completed"
    polls: int = 2
    stop_polls: int = 1
    failure_reason: str = "AlgorithmError: training exited with code 1"
    metrics: dict[str, float] = field(default_factory=lambda: {"validation:rmse": 0.25})


@dataclass
class Job:
    name: str
    request: dict[str, Any]
    plan: Plan
    status: str = "InProgress"
    describes: int = 0
    stopping_describes: int = 0
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{self.name.lower()}"


@dataclass
class Fault:
    code: str
    message: str
    times: int


class _Meta:
    def __init__(self) -> None:
        self.service_model = service_model()


class FakeSageMaker:
    """Duck-types the part of ``boto3.client("sagemaker")`` the handler uses."""

    def __init__(self) -> None:
        self.meta = _Meta()
        self.jobs: dict[str, Job] = {}
        self.deleted: list[str] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.plan = Plan()
        self._faults: dict[str, list[Fault]] = {}

    # -- test controls --------------------------------------------------------

    def fail_next(self, operation: str, code: str, message: str = "", times: int = 1) -> None:
        """Make the next ``times`` calls of ``operation`` fail with ``code``."""
        self._faults.setdefault(operation, []).append(Fault(code, message or code, times))

    def calls_of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    # -- API ----------------------------------------------------------------

    def create_training_job(self, **params: Any) -> dict[str, Any]:
        self._enter("CreateTrainingJob", params)
        name = params["TrainingJobName"]
        if name in self.jobs:
            raise client_error(
                "ResourceInUse", f"Training job {name} already exists", "CreateTrainingJob"
            )
        job = Job(name=name, request=params, plan=self.plan)
        job.tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags", [])}
        self.jobs[name] = job
        return self._leave("CreateTrainingJob", {"TrainingJobArn": job.arn})

    def describe_training_job(self, **params: Any) -> dict[str, Any]:
        self._enter("DescribeTrainingJob", params)
        job = self._job(params["TrainingJobName"], "DescribeTrainingJob")
        job.describes += 1
        if job.status == "InProgress" and job.describes > job.plan.polls:
            job.status = job.plan.final
        elif job.status == "Stopping":
            job.stopping_describes += 1
            if job.stopping_describes > job.plan.stop_polls:
                job.status = "Stopped"
        return self._leave("DescribeTrainingJob", self._description(job))

    def stop_training_job(self, **params: Any) -> dict[str, Any]:
        self._enter("StopTrainingJob", params)
        job = self._job(params["TrainingJobName"], "StopTrainingJob")
        if job.status != "InProgress":
            raise client_error(
                "ValidationException",
                f"The request was rejected because the training job is in status {job.status}.",
                "StopTrainingJob",
            )
        job.status = "Stopping"
        return self._leave("StopTrainingJob", {})

    def delete_training_job(self, **params: Any) -> dict[str, Any]:
        self._enter("DeleteTrainingJob", params)
        job = self._job(params["TrainingJobName"], "DeleteTrainingJob")
        if job.status not in TERMINAL:
            raise client_error(
                "ResourceInUse",
                f"Training job {job.name} is {job.status}; only ended jobs can be deleted",
                "DeleteTrainingJob",
            )
        del self.jobs[job.name]
        self.deleted.append(job.name)
        return self._leave("DeleteTrainingJob", {})

    def add_tags(self, **params: Any) -> dict[str, Any]:
        self._enter("AddTags", params)
        job = self._job_by_arn(params["ResourceArn"], "AddTags")
        job.tags.update({tag["Key"]: tag["Value"] for tag in params["Tags"]})
        return self._leave("AddTags", {"Tags": params["Tags"]})

    def delete_tags(self, **params: Any) -> dict[str, Any]:
        self._enter("DeleteTags", params)
        job = self._job_by_arn(params["ResourceArn"], "DeleteTags")
        for key in params["TagKeys"]:
            job.tags.pop(key, None)
        return self._leave("DeleteTags", {})

    # -- internals ----------------------------------------------------------

    def _enter(self, operation: str, params: dict[str, Any]) -> None:
        validate(self.meta.service_model.operation_model(operation), params)
        self.calls.append((operation, params))
        faults = self._faults.get(operation, [])
        if faults:
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
            raise client_error(fault.code, fault.message, operation)

    def _leave(self, operation: str, response: dict[str, Any]) -> dict[str, Any]:
        validate(self.meta.service_model.operation_model(operation), response, output=True)
        return response

    def _job(self, name: str, operation: str) -> Job:
        if name not in self.jobs:
            raise client_error("ValidationException", "Requested resource not found.", operation)
        return self.jobs[name]

    def _job_by_arn(self, arn: str, operation: str) -> Job:
        for job in self.jobs.values():
            if job.arn == arn:
                return job
        raise client_error("ValidationException", f"Resource {arn} not found.", operation)

    def _description(self, job: Job) -> dict[str, Any]:
        request = job.request
        now = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
        description: dict[str, Any] = {
            "TrainingJobName": job.name,
            "TrainingJobArn": job.arn,
            "TrainingJobStatus": job.status,
            "SecondaryStatus": {
                "InProgress": "Training",
                "Stopping": "Stopping",
                "Completed": "Completed",
                "Failed": "Failed",
                "Stopped": "Stopped",
            }[job.status],
            "AlgorithmSpecification": request["AlgorithmSpecification"],
            "RoleArn": request["RoleArn"],
            "OutputDataConfig": request["OutputDataConfig"],
            "ResourceConfig": request["ResourceConfig"],
            "StoppingCondition": request["StoppingCondition"],
            "CreationTime": now,
            "ModelArtifacts": {"S3ModelArtifacts": ""},
        }
        if job.status == "Completed":
            output = request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
            description["ModelArtifacts"] = {
                "S3ModelArtifacts": f"{output}/{job.name}/output/model.tar.gz"
            }
            description["BillableTimeInSeconds"] = 120
            description["TrainingTimeInSeconds"] = 120
            description["FinalMetricDataList"] = [
                {"MetricName": name, "Value": value, "Timestamp": now}
                for name, value in job.plan.metrics.items()
            ]
        if job.status == "Failed":
            description["FailureReason"] = job.plan.failure_reason
        return description


# ---------------------------------------------------------------------------
# The provider framework and CloudFormation, played for the handler
# ---------------------------------------------------------------------------

STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/ml/0a1b2c3d-0000-0000-0000-000000000000"
)
CFN_RESPONSE_LIMIT = 4096


@dataclass
class Response:
    """What the provider framework would send CloudFormation."""

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


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class Framework:
    """Plays CloudFormation and ``custom_resources.Provider`` around the handler:
    on_event once, then is_complete until it says complete (or raises)."""

    # Marker the real framework uses as the physical id of a Create that failed.
    CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"

    def __init__(
        self, client: FakeSageMaker, on_event: Handler, is_complete: Handler, max_polls: int = 50
    ) -> None:
        self.client = client
        self.on_event = on_event
        self.is_complete = is_complete
        self.max_polls = max_polls
        self._requests = 0

    def event(self, request_type: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
        self._requests += 1
        event = {
            "RequestType": request_type,
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
            "ResponseURL": "https://cloudformation-custom-resource-response.example/...",
            "StackId": STACK_ID,
            "RequestId": f"00000000-0000-0000-0000-{self._requests:012d}",
            "LogicalResourceId": "TrainA1B2C3D4",
            "ResourceType": "Custom::SageMakerTrainingJob",
            "ResourceProperties": {"ServiceToken": "token", **properties},
        }
        event.update(extra)
        return event

    def run(self, event: dict[str, Any]) -> Response:
        try:
            result = self.on_event(dict(event), None)
        except Exception as error:  # the framework reports any error as FAILED
            physical = event.get("PhysicalResourceId", self.CREATE_FAILED_MARKER)
            return self._checked(event, Response("FAILED", physical, str(error)))
        physical = result.get("PhysicalResourceId", event.get("PhysicalResourceId", ""))
        data = dict(result.get("Data", {}))
        poll_event = {**event, **result, "PhysicalResourceId": physical}
        for poll in range(1, self.max_polls + 1):
            try:
                answer = self.is_complete(dict(poll_event), None)
            except Exception as error:
                return self._checked(event, Response("FAILED", physical, str(error), polls=poll))
            if answer["IsComplete"]:
                data.update(answer.get("Data", {}))
                return self._checked(event, Response("SUCCESS", physical, data=data, polls=poll))
        return self._checked(event, Response("FAILED", physical, "timed out", polls=poll))

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

    @staticmethod
    def _checked(event: dict[str, Any], response: Response) -> Response:
        size = len(response.body(event).encode())
        assert size < CFN_RESPONSE_LIMIT, f"response of {size} bytes exceeds CloudFormation's 4 KB"
        return response
