"""A synthesized stack's jobs, started in moto by the library's own handler.

moto (in-process under ``mock_aws``, or its server) plays SageMaker, CloudWatch Logs
and CloudFormation. Its CloudFormation cannot run the provider's Lambda, so the stack
is created there with a placeholder resource, its template set to the synthesized one
(what GetTemplate answers), and each job resource's Create event goes to the real
handler (``lifecycle.on_event``), its properties resolved as CloudFormation would. moto's
jobs complete at once; a test sets them back to running or failed, as SageMaker's
would be at some moment, through moto's backend objects.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.session
from moto.cloudformation import cloudformation_backends
from moto.logs import logs_backends
from moto.sagemaker import sagemaker_backends

from constructs_lib.cli._assembly import from_assembly
from constructs_lib.handler import lifecycle
from tests.fakes import validate

ACCOUNT = "123456789012"
REGION = "us-east-1"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
_PLACEHOLDER = {"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}}
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


def resolve(value: Any, template: Mapping[str, Any], stack_id: str) -> Any:
    """``value`` with CloudFormation's functions evaluated as a deploy would: pseudo
    parameters, a resource's ``Ref`` and ``Arn``-like attributes as plausible ids (the
    only values the jobs' requests take from other resources)."""
    pseudo = {
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": REGION,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackId": stack_id,
        "AWS::StackName": stack_id.split("/")[1],
    }

    def ref(name: str) -> str:
        if name in pseudo:
            return pseudo[name]
        resource = template["Resources"][name]
        if resource["Type"] == "AWS::IAM::Role":
            return f"{name.lower()}-role"
        return f"{name.lower()}-id"

    def get_att(name: str, attribute: str) -> str:
        resource = template["Resources"][name]
        if resource["Type"] == "AWS::IAM::Role" and attribute == "Arn":
            return f"arn:aws:iam::{ACCOUNT}:role/{ref(name)}"
        if attribute.endswith("Id"):  # a security group's GroupId...
            return f"{name.lower()}-{attribute.lower()}"
        if attribute.endswith("Arn"):
            service = resource["Type"].split("::")[1].lower()
            return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{name.lower()}/{ref(name)}"
        raise NotImplementedError(f"Fn::GetAtt {name}.{attribute}")

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            ((function, argument),) = node.items()
            if function == "Ref":
                return ref(argument)
            if function == "Fn::GetAtt":
                name, attribute = argument if isinstance(argument, list) else argument.split(".")
                return get_att(name, attribute)
            if function == "Fn::Join":
                separator, parts = argument
                return str(separator).join(str(walk(part)) for part in parts)
            if function == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                extra = {} if isinstance(argument, str) else walk(argument[1])
                return _SUB.sub(
                    lambda m: str(extra.get(m.group(1), walk({"Ref": m.group(1)}))), text
                )
            if function == "Fn::Select":
                index, items = argument
                return walk(items)[int(index)]
            if function == "Fn::Split":
                separator, text = argument
                return str(walk(text)).split(separator)
            if function == "Fn::FindInMap":
                name, key, member = (walk(part) for part in argument)
                return template["Mappings"][name][key][member]
            if function.startswith("Fn::"):
                raise NotImplementedError(function)
        return {key: walk(item) for key, item in node.items()}

    return walk(value)


@dataclass
class MotoStack:
    """One stack of a synthesized template in moto's CloudFormation, its jobs started
    by the handler on request."""

    name: str
    template: dict[str, Any]
    #: Construct paths by logical id (the assembly's metadata).
    paths: Mapping[str, str]
    #: AWS Batch, for queued jobs (moto has no service jobs): a client-like object.
    batch: Any = None
    stack_id: str = ""
    #: Logical id -> the physical id the handler answered (a job name, a service job).
    started: dict[str, str] = field(default_factory=dict)

    def create(self, status: str = "CREATE_IN_PROGRESS") -> MotoStack:
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        self.stack_id = cloudformation.create_stack(
            StackName=self.name, TemplateBody=json.dumps(_PLACEHOLDER)
        )["StackId"]
        stack = self._backend()
        stack.template = json.dumps(self.template)
        stack.status = status
        # The deploy began a while ago (moto keeps UTC times without a zone).
        stack.creation_time = _utcnow() - dt.timedelta(hours=1)
        return self

    def _backend(self) -> Any:
        return cloudformation_backends[ACCOUNT][REGION].stacks[self.stack_id]

    def set_status(self, status: str, *, began: dt.datetime | None = None) -> None:
        """The stack's status, and (``began``) when its last operation began (moto
        reports that as its creation time)."""
        stack = self._backend()
        stack.status = status
        if began is not None:
            stack.creation_time = began

    def answer(self, logical_id: str) -> None:
        """CloudFormation got the provider's answer for the resource: it holds the
        physical id the handler gave (what ListStackResources then lists)."""
        resources = self._backend().resource_map
        resource_type = self.template["Resources"][logical_id]["Type"]
        resources._resource_json_map[logical_id] = {"Type": resource_type}
        resources._parsed_resources[logical_id] = SimpleNamespace(
            logical_resource_id=logical_id,
            physical_resource_id=self.started[logical_id],
            cf_resource_type=resource_type,
        )

    @classmethod
    def of(cls, assembly: Path, name: str, **kwargs: Any) -> MotoStack:
        """The stack ``name`` of the cloud assembly in ``assembly``."""
        [source] = from_assembly(assembly, [name])
        assert source.template is not None
        return cls(name, dict(source.template), source.paths, **kwargs)

    def logical_id(self, path: str) -> str:
        """The logical id of the job resource at construct ``path``."""
        [logical_id] = [k for k, v in self.paths.items() if v == path and k in self.jobs()]
        return logical_id

    def jobs(self) -> list[str]:
        return [k for k, r in self.template["Resources"].items() if r["Type"].endswith("Job")]

    def start(self, path: str) -> str:
        """The Create of the job resource at ``path``, through the real handler; its
        physical id (what CloudFormation will hold once the wait ends)."""
        logical_id = self.logical_id(path)
        resource = self.template["Resources"][logical_id]
        properties = resolve(
            {k: v for k, v in resource["Properties"].items() if k != "ServiceToken"},
            self.template,
            self.stack_id,
        )
        event = {
            "RequestType": "Create",
            "StackId": self.stack_id,
            "RequestId": str(uuid.uuid4()),
            "LogicalResourceId": logical_id,
            "ResourceType": resource["Type"],
            "ResourceProperties": properties,
            "ResponseURL": "https://cloudformation-custom-resource-response.example/",
        }
        runtime = lifecycle.Runtime(
            sagemaker=boto3.client("sagemaker", region_name=REGION),
            batch_factory=lambda: self.batch,
        )
        physical = str(lifecycle.on_event(event, runtime)["PhysicalResourceId"])
        self.started[logical_id] = physical
        request = properties.get("TrainingJobRequest", {})
        if physical in sagemaker_backends[ACCOUNT][REGION].training_jobs:
            # moto puts a metric definition of its own in place of the request's.
            training_job(physical).algorithm_specification["MetricDefinitions"] = request[
                "AlgorithmSpecification"
            ].get("MetricDefinitions", [])
        return physical


def start_other_job(name: str) -> None:
    """A training job of the account that is none of a stack's (no library tags)."""
    boto3.client("sagemaker", region_name=REGION).create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/other",
        OutputDataConfig={"S3OutputPath": "s3://other/"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def training_job(name: str) -> Any:
    """moto's own object of the training job ``name`` (to set its state)."""
    return sagemaker_backends[ACCOUNT][REGION].training_jobs[name]


def tuning_job(name: str) -> Any:
    return sagemaker_backends[ACCOUNT][REGION].hyper_parameter_tuning_jobs[name]


def run_training(
    name: str,
    *,
    secondary: list[str],
    elapsed: float,
    metrics: Mapping[str, float] | None = None,
    status: str = "InProgress",
    reason: str | None = None,
    now: Callable[[], dt.datetime] = _utcnow,
) -> None:
    """Set moto's job ``name`` to what SageMaker says ``elapsed`` seconds into it:
    ``secondary`` its secondary statuses so far (each an equal share of the time).
    (moto keeps times in UTC without a time zone.)"""
    job = training_job(name)
    started = now() - dt.timedelta(seconds=elapsed)
    share = elapsed / max(1, len(secondary))
    job.training_job_status = status
    job.secondary_status = secondary[-1]
    job.creation_time = started
    job.training_start_time = started
    job.training_end_time = None if status == "InProgress" else now()
    job.secondary_status_transitions = [
        {
            "Status": step,
            "StartTime": started + dt.timedelta(seconds=share * index),
            **(
                {"EndTime": started + dt.timedelta(seconds=share * (index + 1))}
                if index < len(secondary) - 1 or status != "InProgress"
                else {}
            ),
            "StatusMessage": f"{step}...",
        }
        for index, step in enumerate(secondary)
    ]
    job.final_metric_data_list = [
        {"MetricName": metric, "Value": value, "Timestamp": now()}
        for metric, value in (metrics or {}).items()
    ]
    if reason is not None:
        job.failure_reason = reason
    if status != "Completed":
        job.billable_time_in_seconds = None
        job.model_artifacts = None


def write_log(stream: str, lines: list[str], group: str = LOG_GROUP) -> None:
    """SageMaker's log of an instance: ``lines`` in the stream ``stream`` (of the
    training jobs' log group, or ``group``)."""
    client = boto3.client("logs", region_name=REGION)
    if group not in logs_backends[ACCOUNT][REGION].groups:
        client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName=stream)
    start = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    client.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": start + index, "message": line} for index, line in enumerate(lines)
        ],
    )


@dataclass
class _ServiceJob:
    arn: str
    name: str
    queue: str
    params: dict[str, Any]
    created: int
    status: str = "RUNNABLE"
    attempt: str | None = None
    reason: str | None = None


class MotoBatch:
    """AWS Batch's service jobs (which moto lacks), their training jobs started on moto's
    SageMaker as Batch starts them (``AWSBatch<name><id>``, the service job's tags);
    every request and answer checked against botocore's Batch model."""

    def __init__(self) -> None:
        self.jobs: dict[str, _ServiceJob] = {}
        self._model = botocore.session.get_session().get_service_model("batch")

    def _check(self, operation: str, params: Mapping[str, Any], *, output: bool = False) -> None:
        validate(self._model.operation_model(operation), dict(params), output=output)

    def submit_service_job(self, **params: Any) -> dict[str, Any]:
        self._check("SubmitServiceJob", params)
        job_id = str(uuid.uuid4())
        arn = f"arn:aws:batch:{REGION}:{ACCOUNT}:service-job/{job_id}"
        created = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        self.jobs[arn] = _ServiceJob(arn, params["jobName"], params["jobQueue"], params, created)
        answer = {"jobArn": arn, "jobName": params["jobName"], "jobId": job_id}
        self._check("SubmitServiceJob", answer, output=True)
        return answer

    def start(self, arn: str) -> str:
        """Batch starts the job's training job on SageMaker; its name."""
        job = self.jobs[arn]
        payload = json.loads(job.params["serviceRequestPayload"])
        name = f"AWSBatch{job.name}"[:31] + uuid.uuid4().hex
        tags = [{"Key": k, "Value": v} for k, v in (job.params.get("tags") or {}).items()]
        boto3.client("sagemaker", region_name=REGION).create_training_job(
            **{**payload, "TrainingJobName": name, "Tags": tags}
        )
        job.attempt, job.status = name, "RUNNING"
        return name

    def _summary(self, job: _ServiceJob) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "jobArn": job.arn,
            "jobId": job.arn.rsplit("/", 1)[1],
            "jobName": job.name,
            "serviceJobType": "SAGEMAKER_TRAINING",
            "status": job.status,
            "createdAt": job.created,
        }
        if job.attempt:
            arn = training_job(job.attempt).arn
            summary["latestAttempt"] = {
                "serviceResourceId": {"name": "TrainingJobArn", "value": arn}
            }
        if job.reason:
            summary["statusReason"] = job.reason
        return summary

    def list_service_jobs(self, **params: Any) -> dict[str, Any]:
        self._check("ListServiceJobs", params)
        [name_filter] = params["filters"]
        assert name_filter["name"] == "JOB_NAME"
        [pattern] = name_filter["values"]
        found = [
            self._summary(job)
            for job in sorted(self.jobs.values(), key=lambda job: -job.created)
            if job.queue == params["jobQueue"] and job.name.startswith(pattern.rstrip("*"))
        ]
        answer = {"jobSummaryList": found}
        self._check("ListServiceJobs", answer, output=True)
        return answer

    def describe_service_job(self, **params: Any) -> dict[str, Any]:
        self._check("DescribeServiceJob", params)
        job = self.jobs[params["jobId"]]
        answer = {
            **self._summary(job),
            "jobQueue": job.queue,
            "startedAt": job.created,
            "isTerminated": False,
            "tags": dict(job.params.get("tags") or {}),
            "serviceRequestPayload": job.params["serviceRequestPayload"],
        }
        self._check("DescribeServiceJob", answer, output=True)
        return answer
