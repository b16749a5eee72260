"""In-memory SageMaker and EC2 for handler tests, on a simulated clock.

Every request and every response is validated against botocore's service models
(the same check a real client makes before sending), so the handler cannot pass a
test with a request the API would reject. Jobs follow SageMaker's state machine:
InProgress -> Completed / Failed, InProgress -> Stopping -> Stopped; a VPC job's
network interfaces outlive it for a while, as they do in AWS.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.model import OperationModel, ServiceModel
from botocore.validate import ParamValidator

from constructs_lib.handler import lifecycle

ACCOUNT = "123456789012"
REGION = "us-east-1"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
EPOCH = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@functools.cache
def service_model(service: str = "sagemaker") -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


class ModelValidationError(AssertionError):
    """The handler sent (or a fake built) something the service model rejects."""


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


class SimClock:
    """Simulated time: ``sleep`` advances it instead of waiting."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.seconds

    def now(self) -> dt.datetime:
        return EPOCH + dt.timedelta(seconds=self.seconds)

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept.append(seconds)
        self.seconds += seconds


@dataclass
class Plan:
    """How the next created jobs behave: ``polls`` describes in progress, then ``final``."""

    final: str = "Completed"
    polls: int = 2
    # When set, the job ends after this many simulated seconds instead of ``polls``.
    runtime: float | None = None
    stop_polls: int = 1
    failure_reason: str = "AlgorithmError: training exited with code 1"
    metrics: dict[str, float] = field(default_factory=lambda: {"validation:rmse": 0.25})
    warm_pool: bool = False
    # describe_network_interfaces calls that still see a VPC job's ENIs after it ended
    eni_release_polls: int = 0
    # Tuning jobs: a completed one has a best training job (unless no training job
    # reported the objective), whose tuned hyperparameters these are.
    best_job: bool = True
    tuned: dict[str, str] = field(default_factory=lambda: {"eta": "0.21", "max_depth": "5"})
    # Processing jobs: what the script writes to each output when it completes
    # ({output name: {path in the output: bytes}}), and its exit message on failure.
    writes: dict[str, dict[str, bytes]] = field(default_factory=dict)
    exit_message: str | None = None


@dataclass
class Job:
    name: str
    request: dict[str, Any]
    plan: Plan
    created: dt.datetime
    status: str = "InProgress"
    ended: dt.datetime | None = None
    describes: int = 0
    stopping_describes: int = 0
    tags: dict[str, str] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    #: ``training`` or ``tuning``.
    kind: str = "training"
    #: A tuning job's best training job, once it completed.
    best: str | None = None

    @property
    def arn(self) -> str:
        resource = {
            "training": "training-job",
            "tuning": "hyper-parameter-tuning-job",
            "processing": "processing-job",
            "transform": "transform-job",
        }[self.kind]
        return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{resource}/{self.name.lower()}"

    @property
    def artifact(self) -> str:
        output = self.request["OutputDataConfig"]["S3OutputPath"].rstrip("/")
        return f"{output}/{self.name}/output/model.tar.gz"


@dataclass
class Fault:
    code: str
    message: str
    times: int


class _Meta:
    def __init__(self, service: str) -> None:
        self.service_model = service_model(service)


class _FakeService:
    service = ""

    def __init__(self) -> None:
        self.meta = _Meta(self.service)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._faults: dict[str, list[Fault]] = {}
        self._refused: dict[str, tuple[float, str, str]] = {}

    def fail_next(self, operation: str, code: str, message: str = "", times: int = 1) -> None:
        """Make the next ``times`` calls of ``operation`` fail with ``code``."""
        self._faults.setdefault(operation, []).append(Fault(code, message or code, times))

    def throttle(self, operation: str, seconds: float) -> None:
        """Answer every call of ``operation`` ThrottlingException ("Rate exceeded") for
        the next ``seconds`` of the simulated clock."""
        self.refuse(operation, seconds, "ThrottlingException", "Rate exceeded")

    def refuse(self, operation: str, seconds: float, code: str, message: str) -> None:
        """Answer every call of ``operation`` with ``code`` for the next ``seconds``."""
        self._refused[operation] = (self._seconds() + seconds, code, message)

    def _seconds(self) -> float:
        raise NotImplementedError(f"{type(self).__name__} has no clock to throttle by")

    def calls_of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def _enter(self, operation: str, params: dict[str, Any]) -> None:
        validate(self.meta.service_model.operation_model(operation), params)
        self.calls.append((operation, params))
        if operation in self._refused:
            until, code, message = self._refused[operation]
            if self._seconds() < until:
                raise client_error(code, message, operation)
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


class FakeSageMaker(_FakeService):
    """Duck-types the part of ``boto3.client("sagemaker")`` the handler uses."""

    service = "sagemaker"

    def __init__(self, clock: SimClock | None = None) -> None:
        super().__init__()
        self.clock = clock or SimClock()
        self.jobs: dict[str, Job] = {}
        #: Hyperparameter tuning jobs (names are unique per kind).
        self.tuning_jobs: dict[str, Job] = {}
        self.deleted: list[str] = []
        self.deleted_tuning: list[str] = []
        self.created: list[str] = []
        self.artifacts: set[str] = set()
        self.plan = Plan()
        #: Processing jobs (names are unique per kind), and where they write.
        self.processing_jobs: dict[str, Job] = {}
        self.deleted_processing: list[str] = []
        #: Transform jobs (which cannot be deleted).
        self.transform_jobs: dict[str, Job] = {}
        self.s3: FakeS3 | None = None

    def _seconds(self) -> float:
        return float(self.clock.seconds)

    def job(self, name: str) -> Job:
        return self.jobs[name]

    # -- API ----------------------------------------------------------------

    def create_training_job(self, **params: Any) -> dict[str, Any]:
        self._enter("CreateTrainingJob", params)
        name = params["TrainingJobName"]
        if name in self.jobs or name in self.deleted:
            raise client_error(
                "ResourceInUse", f"Training job {name} already exists", "CreateTrainingJob"
            )
        job = Job(name=name, request=params, plan=self.plan, created=self.clock.now())
        job.tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags", [])}
        self.jobs[name] = job
        self.created.append(name)
        return self._leave("CreateTrainingJob", {"TrainingJobArn": job.arn})

    def describe_training_job(self, **params: Any) -> dict[str, Any]:
        self._enter("DescribeTrainingJob", params)
        job = self._job(params["TrainingJobName"], "DescribeTrainingJob")
        self._observe(job)
        return self._leave("DescribeTrainingJob", self._description(job))

    def stop_training_job(self, **params: Any) -> dict[str, Any]:
        self._enter("StopTrainingJob", params)
        self._stop(self._job(params["TrainingJobName"], "StopTrainingJob"), "StopTrainingJob")
        return self._leave("StopTrainingJob", {})

    def delete_training_job(self, **params: Any) -> dict[str, Any]:
        self._enter("DeleteTrainingJob", params)
        job = self._job(params["TrainingJobName"], "DeleteTrainingJob")
        self._delete(job, self.jobs, self.deleted, "DeleteTrainingJob")
        return self._leave("DeleteTrainingJob", {})

    def update_training_job(self, **params: Any) -> dict[str, Any]:
        self._enter("UpdateTrainingJob", params)
        job = self._job(params["TrainingJobName"], "UpdateTrainingJob")
        keep_alive_only = set(params) == {"TrainingJobName", "ResourceConfig"}
        pool_available = job.status == "Completed" and job.plan.warm_pool
        if job.status != "InProgress" and not (keep_alive_only and pool_available):
            raise client_error(
                "ValidationException",
                f"Training job {job.name} is {job.status} and cannot be updated",
                "UpdateTrainingJob",
            )
        job.updates.append({k: v for k, v in params.items() if k != "TrainingJobName"})
        return self._leave("UpdateTrainingJob", {"TrainingJobArn": job.arn})

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

    def list_tags(self, **params: Any) -> dict[str, Any]:
        self._enter("ListTags", params)
        job = self._job_by_arn(params["ResourceArn"], "ListTags")
        tags = [{"Key": k, "Value": v} for k, v in job.tags.items()]
        return self._leave("ListTags", {"Tags": tags})

    # -- hyperparameter tuning jobs ----------------------------------------------

    def create_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        operation = "CreateHyperParameterTuningJob"
        self._enter(operation, params)
        name = params["HyperParameterTuningJobName"]
        if name in self.tuning_jobs or name in self.deleted_tuning:
            raise client_error("ResourceInUse", f"Tuning job {name} already exists", operation)
        job = Job(
            name=name, request=params, plan=self.plan, created=self.clock.now(), kind="tuning"
        )
        job.tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags", [])}
        self.tuning_jobs[name] = job
        self.created.append(name)
        return self._leave(operation, {"HyperParameterTuningJobArn": job.arn})

    def describe_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        operation = "DescribeHyperParameterTuningJob"
        self._enter(operation, params)
        job = self._tuning_job(params["HyperParameterTuningJobName"], operation)
        self._observe(job)
        return self._leave(operation, self._tuning_description(job))

    def stop_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        operation = "StopHyperParameterTuningJob"
        self._enter(operation, params)
        self._stop(self._tuning_job(params["HyperParameterTuningJobName"], operation), operation)
        return self._leave(operation, {})

    def delete_hyper_parameter_tuning_job(self, **params: Any) -> dict[str, Any]:
        operation = "DeleteHyperParameterTuningJob"
        self._enter(operation, params)
        job = self._tuning_job(params["HyperParameterTuningJobName"], operation)
        self._delete(job, self.tuning_jobs, self.deleted_tuning, operation)
        return self._leave(operation, {})

    def tuning_job(self, name: str) -> Job:
        return self.tuning_jobs[name]

    # -- processing jobs ------------------------------------------------------------

    def create_processing_job(self, **params: Any) -> dict[str, Any]:
        operation = "CreateProcessingJob"
        self._enter(operation, params)
        name = params["ProcessingJobName"]
        if name in self.processing_jobs or name in self.deleted_processing:
            raise client_error("ResourceInUse", f"Processing job {name} already exists", operation)
        job = Job(
            name=name, request=params, plan=self.plan, created=self.clock.now(), kind="processing"
        )
        job.tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags", [])}
        self.processing_jobs[name] = job
        self.created.append(name)
        return self._leave(operation, {"ProcessingJobArn": job.arn})

    def describe_processing_job(self, **params: Any) -> dict[str, Any]:
        operation = "DescribeProcessingJob"
        self._enter(operation, params)
        job = self._processing_job(params["ProcessingJobName"], operation)
        self._observe(job)
        return self._leave(operation, self._processing_description(job))

    def stop_processing_job(self, **params: Any) -> dict[str, Any]:
        operation = "StopProcessingJob"
        self._enter(operation, params)
        self._stop(self._processing_job(params["ProcessingJobName"], operation), operation)
        return self._leave(operation, {})

    def delete_processing_job(self, **params: Any) -> dict[str, Any]:
        operation = "DeleteProcessingJob"
        self._enter(operation, params)
        job = self._processing_job(params["ProcessingJobName"], operation)
        self._delete(job, self.processing_jobs, self.deleted_processing, operation)
        return self._leave(operation, {})

    def processing_job(self, name: str) -> Job:
        return self.processing_jobs[name]

    # -- transform jobs -------------------------------------------------------------

    def create_transform_job(self, **params: Any) -> dict[str, Any]:
        operation = "CreateTransformJob"
        self._enter(operation, params)
        name = params["TransformJobName"]
        if name in self.transform_jobs:
            raise client_error("ResourceInUse", f"Transform job {name} already exists", operation)
        job = Job(
            name=name, request=params, plan=self.plan, created=self.clock.now(), kind="transform"
        )
        job.tags = {tag["Key"]: tag["Value"] for tag in params.get("Tags", [])}
        self.transform_jobs[name] = job
        self.created.append(name)
        return self._leave(operation, {"TransformJobArn": job.arn})

    def describe_transform_job(self, **params: Any) -> dict[str, Any]:
        operation = "DescribeTransformJob"
        self._enter(operation, params)
        job = self._transform_job(params["TransformJobName"], operation)
        self._observe(job)
        request = job.request
        description: dict[str, Any] = {
            key: request[key]
            for key in (
                "ModelName",
                "MaxConcurrentTransforms",
                "ModelClientConfig",
                "MaxPayloadInMB",
                "BatchStrategy",
                "Environment",
                "TransformInput",
                "TransformOutput",
                "DataCaptureConfig",
                "TransformResources",
                "DataProcessing",
                "ExperimentConfig",
            )
            if key in request
        }
        description.update(
            TransformJobName=job.name,
            TransformJobArn=job.arn,
            TransformJobStatus=job.status,
            CreationTime=job.created,
        )
        if job.ended is not None:
            description["TransformEndTime"] = job.ended
        if job.status == "Failed":
            description["FailureReason"] = job.plan.failure_reason
        return self._leave(operation, description)

    def stop_transform_job(self, **params: Any) -> dict[str, Any]:
        operation = "StopTransformJob"
        self._enter(operation, params)
        self._stop(self._transform_job(params["TransformJobName"], operation), operation)
        return self._leave(operation, {})

    def transform_job(self, name: str) -> Job:
        return self.transform_jobs[name]

    def _transform_job(self, name: str, operation: str) -> Job:
        if name not in self.transform_jobs:
            raise client_error(
                "ValidationException", f"Could not find requested job with name {name}", operation
            )
        return self.transform_jobs[name]

    def _processing_job(self, name: str, operation: str) -> Job:
        if name not in self.processing_jobs:
            raise client_error(
                "ValidationException", f"Could not find requested job with name {name}", operation
            )
        return self.processing_jobs[name]

    def _processing_description(self, job: Job) -> dict[str, Any]:
        request = job.request
        description: dict[str, Any] = {
            key: request[key]
            for key in (
                "ProcessingInputs",
                "ProcessingOutputConfig",
                "ProcessingResources",
                "StoppingCondition",
                "AppSpecification",
                "Environment",
                "NetworkConfig",
                "RoleArn",
                "ExperimentConfig",
            )
            if key in request
        }
        description.update(
            ProcessingJobName=job.name,
            ProcessingJobArn=job.arn,
            ProcessingJobStatus=job.status,
            CreationTime=job.created,
            LastModifiedTime=job.ended or job.created,
        )
        if job.ended is not None:
            description["ProcessingEndTime"] = job.ended
        if job.status == "Failed":
            description["FailureReason"] = job.plan.failure_reason
            if job.plan.exit_message:
                description["ExitMessage"] = job.plan.exit_message
        return description

    def _write_outputs(self, job: Job) -> None:
        """What a completed processing job's script wrote, uploaded to its outputs."""
        if self.s3 is None:
            return
        outputs = (job.request.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        for output in outputs:
            uri = (output.get("S3Output") or {}).get("S3Uri", "")
            for path, body in job.plan.writes.get(output["OutputName"], {}).items():
                self.s3.put(f"{uri.rstrip('/')}/{path}", body)

    def advance(self, job: Job) -> None:
        """Let time act on ``job`` without a call: a job planned by ``runtime`` ends
        when that time has passed (as its state-change event tells)."""
        if job.status == "InProgress" and job.plan.runtime is not None and self._ran_out(job):
            self._end(job, job.plan.final)

    # -- internals ----------------------------------------------------------

    def _observe(self, job: Job) -> None:
        """A describe of ``job``: it ends when its plan says (polls or runtime), and a
        stopping job stops after ``stop_polls`` describes."""
        job.describes += 1
        if job.status == "InProgress" and self._ran_out(job):
            self._end(job, job.plan.final)
        elif job.status == "Stopping":
            job.stopping_describes += 1
            if job.stopping_describes > job.plan.stop_polls:
                self._end(job, "Stopped")

    @staticmethod
    def _stop(job: Job, operation: str) -> None:
        if job.status != "InProgress":
            raise client_error(
                "ValidationException",
                f"The request was rejected because the {job.kind} job is in status {job.status}.",
                operation,
            )
        job.status = "Stopping"

    @staticmethod
    def _delete(job: Job, jobs: dict[str, Job], deleted: list[str], operation: str) -> None:
        if job.status not in TERMINAL:
            raise client_error(
                "ResourceInUse",
                f"{job.kind.capitalize()} job {job.name} is {job.status}; only ended jobs "
                "can be deleted",
                operation,
            )
        del jobs[job.name]
        deleted.append(job.name)

    def _ran_out(self, job: Job) -> bool:
        if job.plan.runtime is not None:
            return (self.clock.now() - job.created).total_seconds() >= job.plan.runtime
        return job.describes > job.plan.polls

    def _end(self, job: Job, status: str) -> None:
        job.status = status
        job.ended = self.clock.now()
        if status == "Completed" and job.kind == "tuning":
            if job.plan.best_job:
                job.best = self._best_training_job(job)
        elif status == "Completed" and job.kind == "processing":
            self._write_outputs(job)
        elif status == "Completed" and job.kind == "training":
            self.artifacts.add(job.artifact)

    def _best_training_job(self, tuning: Job) -> str:
        """The completed training job a tuning job picked, as SageMaker names it."""
        definition = (
            tuning.request.get("TrainingJobDefinition")
            or (tuning.request["TrainingJobDefinitions"][0])
        )
        name = f"{tuning.name}-003-{abs(hash(tuning.name)) % 16**8:08x}"
        algorithm = {
            k: v
            for k, v in definition["AlgorithmSpecification"].items()
            if k in ("TrainingImage", "AlgorithmName", "TrainingInputMode", "MetricDefinitions")
        }
        request = {
            "TrainingJobName": name,
            "AlgorithmSpecification": algorithm,
            "RoleArn": definition["RoleArn"],
            "OutputDataConfig": definition["OutputDataConfig"],
            "ResourceConfig": definition.get("ResourceConfig")
            or {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": definition["StoppingCondition"],
            "HyperParameters": {
                **definition.get("StaticHyperParameters", {}),
                **tuning.plan.tuned,
            },
        }
        best = Job(name=name, request=request, plan=tuning.plan, created=tuning.created)
        self.jobs[name] = best
        self._end(best, "Completed")
        return name

    def _tuning_job(self, name: str, operation: str) -> Job:
        if name not in self.tuning_jobs:
            raise client_error(
                "ResourceNotFound",
                f"Amazon SageMaker can't find a tuning job with name {name}",
                operation,
            )
        return self.tuning_jobs[name]

    def _tuning_description(self, job: Job) -> dict[str, Any]:
        request = job.request
        limits = request["HyperParameterTuningJobConfig"]["ResourceLimits"]
        total = int(limits.get("MaxNumberOfTrainingJobs", 1))
        completed = total if job.status == "Completed" else 0
        counters = {
            "Completed": completed,
            "InProgress": min(total, int(limits["MaxParallelTrainingJobs"]))
            if job.status == "InProgress"
            else 0,
            "NonRetryableError": total if job.status == "Failed" else 0,
            "RetryableError": 0,
            "Stopped": total if job.status == "Stopped" else 0,
        }
        description: dict[str, Any] = {
            "HyperParameterTuningJobName": job.name,
            "HyperParameterTuningJobArn": job.arn,
            "HyperParameterTuningJobConfig": request["HyperParameterTuningJobConfig"],
            "HyperParameterTuningJobStatus": job.status,
            "CreationTime": job.created,
            "LastModifiedTime": job.ended or job.created,
            "TrainingJobStatusCounters": counters,
            "ObjectiveStatusCounters": {
                "Succeeded": completed if job.plan.best_job else 0,
                "Pending": 0,
                "Failed": 0 if job.plan.best_job else completed,
            },
        }
        for member in ("TrainingJobDefinition", "TrainingJobDefinitions", "WarmStartConfig"):
            if member in request:
                description[member] = request[member]
        if job.ended is not None:
            description["HyperParameterTuningEndTime"] = job.ended
        if job.best is not None:
            objective = request["HyperParameterTuningJobConfig"].get(
                "HyperParameterTuningJobObjective"
            ) or (request.get("TrainingJobDefinition") or {}).get("TuningObjective", {})
            metric = objective.get("MetricName", "validation:rmse")
            description["BestTrainingJob"] = {
                "TrainingJobName": job.best,
                "TrainingJobArn": self.jobs[job.best].arn,
                "CreationTime": job.created,
                "TrainingJobStatus": "Completed",
                "TunedHyperParameters": dict(job.plan.tuned),
                "FinalHyperParameterTuningJobObjectiveMetric": {
                    "MetricName": metric,
                    "Value": job.plan.metrics.get(metric, 0.25),
                },
                "ObjectiveStatus": "Succeeded",
            }
        if job.status == "Failed":
            description["FailureReason"] = job.plan.failure_reason
        return description

    def _job(self, name: str, operation: str) -> Job:
        if name not in self.jobs:
            # Names are unique regardless of case; an ARN carries one in lower case.
            found = [job for key, job in self.jobs.items() if key.lower() == name.lower()]
            if found:
                return found[0]
            raise client_error("ValidationException", "Requested resource not found.", operation)
        return self.jobs[name]

    def _job_by_arn(self, arn: str, operation: str) -> Job:
        jobs = (
            *self.jobs.values(),
            *self.tuning_jobs.values(),
            *self.processing_jobs.values(),
            *self.transform_jobs.values(),
        )
        for job in jobs:
            if job.arn == arn:
                return job
        raise client_error("ValidationException", f"Resource {arn} not found.", operation)

    def _description(self, job: Job) -> dict[str, Any]:
        request = job.request
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
            "CreationTime": job.created,
            "LastModifiedTime": job.ended or job.created,
            "ModelArtifacts": {"S3ModelArtifacts": ""},
        }
        if "VpcConfig" in request:
            description["VpcConfig"] = request["VpcConfig"]
        if job.ended is not None:
            description["TrainingEndTime"] = job.ended
        if job.status == "Completed":
            description["ModelArtifacts"] = {"S3ModelArtifacts": job.artifact}
            description["BillableTimeInSeconds"] = 120
            description["TrainingTimeInSeconds"] = 120
            description["FinalMetricDataList"] = [
                {"MetricName": name, "Value": value, "Timestamp": job.created}
                for name, value in job.plan.metrics.items()
            ]
            if job.plan.warm_pool:
                description["WarmPoolStatus"] = {"Status": "Available"}
        if job.status == "Failed":
            description["FailureReason"] = job.plan.failure_reason
        return description


@dataclass
class QueuePlan:
    """How a FakeBatch treats the next submitted service jobs: ``queued_polls``
    describes waiting for capacity (SUBMITTED, then RUNNABLE), then Batch starts a
    training job; the first ``preemptions`` training jobs are preempted (stopped by
    Batch, which starts another attempt)."""

    queued_polls: int = 2
    preemptions: int = 0
    #: The first ``retries`` attempts' training jobs fail with an internal error,
    #: which the retry strategy of Batch retries with a new attempt.
    retries: int = 0


@dataclass
class ServiceJob:
    job_id: str
    name: str
    queue: str
    params: dict[str, Any]
    plan: QueuePlan
    created: dt.datetime
    status: str = "SUBMITTED"
    describes: int = 0
    #: Names of the training jobs Batch started, one per attempt.
    attempts: list[str] = field(default_factory=list)
    terminated: bool = False
    reason: str | None = None
    preempted: int = 0
    retried: int = 0
    started: dt.datetime | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:batch:{REGION}:{ACCOUNT}:service-job/{self.job_id}"


class FakeBatch(_FakeService):
    """AWS Batch's service jobs of type SAGEMAKER_TRAINING, starting their training
    jobs on a FakeSageMaker: the payload is a CreateTrainingJob request, validated as
    SageMaker would (the fake SageMaker's own checks). Batch names each attempt's
    training job ``AWSBatch<name><32 hex digits>`` (cut to SageMaker's 63 characters
    here; how Batch shortens long names is not documented). A client token makes a
    repeated submission with the same parameters return the same job."""

    service = "batch"

    def __init__(self, sagemaker: FakeSageMaker) -> None:
        super().__init__()
        self.sagemaker = sagemaker
        self.jobs: dict[str, ServiceJob] = {}
        self.plan = QueuePlan()
        self._tokens: dict[str, str] = {}

    def _seconds(self) -> float:
        return float(self.sagemaker.clock.seconds)

    def job(self, name: str) -> ServiceJob:
        """The (last) service job named ``name``."""
        return [job for job in self.jobs.values() if job.name == name][-1]

    def submit_service_job(self, **params: Any) -> dict[str, Any]:
        self._enter("SubmitServiceJob", params)
        token = params.get("clientToken")
        if token in self._tokens:
            known = self.jobs[self._tokens[token]]
            if known.params != params:
                raise client_error(
                    "ClientException",
                    "A request with this client token and different parameters was made",
                    "SubmitServiceJob",
                )
            return self._leave("SubmitServiceJob", self._ids(known))
        if params["serviceJobType"] != "SAGEMAKER_TRAINING":
            raise client_error(
                "ClientException", "Unsupported service job type", "SubmitServiceJob"
            )
        # Batch passes the payload through; here it must be a CreateTrainingJob request
        # SageMaker would accept (validated against SageMaker's model).
        payload = json.loads(params["serviceRequestPayload"])
        validate(self.sagemaker.meta.service_model.operation_model("CreateTrainingJob"), payload)
        job_id = (
            f"{len(self.jobs) + 1:08d}-0000-4000-8000-{abs(hash(params['jobName'])) % 10**12:012d}"
        )
        job = ServiceJob(
            job_id=job_id,
            name=params["jobName"],
            queue=params["jobQueue"],
            params=params,
            plan=self.plan,
            created=self.sagemaker.clock.now(),
        )
        self.jobs[job_id] = job
        if token:
            self._tokens[token] = job_id
        return self._leave("SubmitServiceJob", self._ids(job))

    def describe_service_job(self, **params: Any) -> dict[str, Any]:
        self._enter("DescribeServiceJob", params)
        job = self._find(params["jobId"], "DescribeServiceJob")
        self._observe(job)
        return self._leave("DescribeServiceJob", self._description(job))

    def terminate_service_job(self, **params: Any) -> dict[str, Any]:
        self._enter("TerminateServiceJob", params)
        job = self._find(params["jobId"], "TerminateServiceJob")
        if job.status in ("SUCCEEDED", "FAILED"):
            return self._leave("TerminateServiceJob", {})
        job.terminated = True
        job.reason = params["reason"]
        training = self._training_job(job)
        if training is None:
            job.status = "FAILED"
        elif training.status == "InProgress":
            self.sagemaker.stop_training_job(TrainingJobName=training.name)
        return self._leave("TerminateServiceJob", {})

    # -- internals ----------------------------------------------------------

    @staticmethod
    def _ids(job: ServiceJob) -> dict[str, Any]:
        return {"jobArn": job.arn, "jobName": job.name, "jobId": job.job_id}

    def _find(self, job_id: str, operation: str) -> ServiceJob:
        for job in self.jobs.values():
            if job_id in (job.job_id, job.arn):
                return job
        raise client_error("ClientException", f"Job {job_id} not found", operation)

    def _training_job(self, job: ServiceJob) -> Job | None:
        return self.sagemaker.jobs.get(job.attempts[-1]) if job.attempts else None

    def _start_attempt(self, job: ServiceJob) -> None:
        payload = json.loads(job.params["serviceRequestPayload"])
        digest = hashlib.md5(f"{job.job_id}/{len(job.attempts)}".encode()).hexdigest()
        name = f"AWSBatch{job.name}"[:31] + digest
        tags = [{"Key": k, "Value": v} for k, v in (job.params.get("tags") or {}).items()]
        request = {**payload, "TrainingJobName": name, **({"Tags": tags} if tags else {})}
        self.sagemaker.create_training_job(**request)
        job.attempts.append(name)
        job.started = job.started or self.sagemaker.clock.now()
        job.status = "SCHEDULED"

    def _observe(self, job: ServiceJob) -> None:
        job.describes += 1
        if job.status in ("SUCCEEDED", "FAILED"):
            return
        if not job.attempts:
            if job.terminated:
                return
            if job.describes > job.plan.queued_polls:
                self._start_attempt(job)
            elif job.describes > 1:
                job.status = "RUNNABLE"
            return
        training = self._training_job(job)
        assert training is not None
        self.sagemaker._observe(training)
        if training.status == "InProgress" and job.preempted < job.plan.preemptions:
            job.preempted += 1
            training.status = "Stopping"
            self.sagemaker._end(training, "Stopped")
            self._start_attempt(job)
            return
        if training.status == "InProgress" and job.retried < job.plan.retries:
            job.retried += 1
            self.sagemaker._end(training, "Failed")
            self._start_attempt(job)
            return
        status = {"InProgress": "RUNNING", "Stopping": "RUNNING"}.get(training.status)
        if status is not None:
            job.status = status
        elif training.status == "Completed":
            job.status = "SUCCEEDED"
        else:
            job.status = "FAILED"
            job.reason = job.reason or (
                f"Received status from SageMaker: {training.plan.failure_reason}"
                if training.status == "Failed"
                else "Received status from SageMaker: Training job stopped"
            )

    def _description(self, job: ServiceJob) -> dict[str, Any]:
        description: dict[str, Any] = {
            "jobArn": job.arn,
            "jobId": job.job_id,
            "jobName": job.name,
            "jobQueue": job.queue,
            "serviceJobType": "SAGEMAKER_TRAINING",
            "serviceRequestPayload": job.params["serviceRequestPayload"],
            "status": job.status,
            "createdAt": int(job.created.timestamp() * 1000),
            # Required by the model even before the job started (then its creation).
            "startedAt": int((job.started or job.created).timestamp() * 1000),
            "isTerminated": job.terminated,
            "tags": dict(job.params.get("tags") or {}),
            "attempts": [
                {
                    "serviceResourceId": {
                        "name": "TrainingJobArn",
                        "value": self.sagemaker.jobs[name].arn,
                    }
                }
                for name in job.attempts
                if name in self.sagemaker.jobs
            ],
        }
        if job.attempts and job.attempts[-1] in self.sagemaker.jobs:
            description["latestAttempt"] = {
                "serviceResourceId": {
                    "name": "TrainingJobArn",
                    "value": self.sagemaker.jobs[job.attempts[-1]].arn,
                }
            }
        for member in ("schedulingPriority", "shareIdentifier"):
            if member in job.params:
                description[member] = job.params[member]
        if job.reason and job.status == "FAILED":
            description["statusReason"] = job.reason
        return description


class FakeEC2(_FakeService):
    """The network interfaces SageMaker creates for VPC jobs of a FakeSageMaker."""

    service = "ec2"

    def __init__(self, sagemaker: FakeSageMaker) -> None:
        super().__init__()
        self.sagemaker = sagemaker
        self._seen_after_end: dict[str, int] = {}

    def describe_network_interfaces(self, **params: Any) -> dict[str, Any]:
        self._enter("DescribeNetworkInterfaces", params)
        filters = {f["Name"]: set(f["Values"]) for f in params.get("Filters", [])}
        interfaces = []
        for job in (*self.sagemaker.jobs.values(), *self.sagemaker.tuning_jobs.values()):
            definition = job.request.get("TrainingJobDefinition") or job.request
            vpc = definition.get("VpcConfig")
            if vpc is None or not self._present(job):
                continue
            groups = set(vpc["SecurityGroupIds"])
            subnet = vpc["Subnets"][0]
            if "group-id" in filters and not groups & filters["group-id"]:
                continue
            if "subnet-id" in filters and subnet not in filters["subnet-id"]:
                continue
            interfaces.append(
                {
                    "NetworkInterfaceId": f"eni-{abs(hash(job.name)) % 10**8:08d}",
                    "SubnetId": subnet,
                    "RequesterManaged": True,
                    "Status": "in-use",
                    "Groups": [{"GroupId": group} for group in sorted(groups)],
                }
            )
        return self._leave("DescribeNetworkInterfaces", {"NetworkInterfaces": interfaces})

    def _present(self, job: Job) -> bool:
        if job.status not in TERMINAL:
            return True
        seen = self._seen_after_end.get(job.name, 0)
        self._seen_after_end[job.name] = seen + 1
        return seen < job.plan.eni_release_polls


class FakeS3(_FakeService):
    """The objects the handler reads (a processing job's evaluation report)."""

    service = "s3"

    def __init__(self) -> None:
        super().__init__()
        self.objects: dict[str, bytes] = {}

    def put(self, uri: str, body: bytes) -> None:
        self.objects[uri] = body

    def get_object(self, **params: Any) -> dict[str, Any]:
        self._enter("GetObject", params)
        uri = f"s3://{params['Bucket']}/{params['Key']}"
        if uri not in self.objects:
            raise client_error("NoSuchKey", "The specified key does not exist.", "GetObject")
        body = self.objects[uri]
        return self._leave("GetObject", {"Body": io.BytesIO(body), "ContentLength": len(body)})


class FakeCloudFormation(_FakeService):
    """The stack whose resources the handler serves: its status, which CloudFormation
    sets (``UPDATE_ROLLBACK_IN_PROGRESS`` while it rolls an update back)."""

    service = "cloudformation"

    def __init__(self, clock: SimClock, stack_id: str) -> None:
        super().__init__()
        self.clock = clock
        self.stack_id = stack_id
        self.status = "CREATE_IN_PROGRESS"

    def describe_stacks(self, **params: Any) -> dict[str, Any]:
        self._enter("DescribeStacks", params)
        if params.get("StackName") not in (self.stack_id, self.stack_id.split("/")[1]):
            raise client_error(
                "ValidationError",
                f"Stack with id {params.get('StackName')} does not exist",
                "DescribeStacks",
            )
        stack = {
            "StackId": self.stack_id,
            "StackName": self.stack_id.split("/")[1],
            "CreationTime": EPOCH,
            "StackStatus": self.status,
        }
        return self._leave("DescribeStacks", {"Stacks": [stack]})


def runtime(
    sagemaker: FakeSageMaker,
    ec2: FakeEC2 | None = None,
    cloudformation: FakeCloudFormation | None = None,
    batch: FakeBatch | None = None,
) -> lifecycle.Runtime:
    """A handler runtime on the fakes and their simulated clock, without jitter (the
    S3 of ``sagemaker.s3``, where its processing jobs write)."""
    clock = sagemaker.clock
    s3 = sagemaker.s3
    return lifecycle.Runtime(
        sagemaker=sagemaker,  # type: ignore[arg-type]
        ec2_factory=(lambda: ec2) if ec2 is not None else None,  # type: ignore[arg-type,return-value]
        cloudformation_factory=(  # type: ignore[arg-type]
            (lambda: cloudformation) if cloudformation is not None else None  # type: ignore[return-value]
        ),
        batch_factory=(lambda: batch) if batch is not None else None,  # type: ignore[arg-type,return-value]
        s3_factory=(lambda: s3) if s3 is not None else None,  # type: ignore[arg-type,return-value]
        sleep=clock.sleep,
        clock=clock.clock,
        now=clock.now,
        jitter=lambda: 1.0,
    )
