"""A processing job through CloudFormation's lifecycle, with the rigour of a training
job's: each scenario drives the handler through CloudFormation (``Resource``) and the
provider framework (``Framework``) against the model-validating fakes (SageMaker, and
S3 where the job writes its outputs and report), on a simulated clock, with the
resource properties a real ``ProcessingJob`` synthesizes. After each: no processing
job left InProgress, exactly the expected CreateProcessingJob calls."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import (
    Completion,
    EvaluationReport,
    MetricThreshold,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    TrainingImage,
)
from constructs_lib.handler import lifecycle, signal
from constructs_lib.handler.kinds import PROCESSING
from constructs_lib.handler.properties import (
    HANDLE_URL,
    OWNER_TAG,
    REPLACES_TAG,
    REQUEST_HASH_TAG,
)
from tests.deliver import resolved_properties
from tests.fakes import FakeS3, FakeSageMaker
from tests.harness import Framework, Resource, cfn_strings

BUCKET = "data-bucket"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/evaluate:1"
REPORT = {"regression_metrics": {"mse": {"value": 2.5}, "r2": {"value": 0.81}}}


def _properties() -> dict[str, dict[str, Any]]:
    """Each variant's resource properties, as a real ProcessingJob synthesizes them."""
    stack = Stack(App(), "Processed")
    bucket = s3.Bucket(stack, "Data")
    common: dict[str, Any] = {
        "image": TrainingImage.from_registry(IMAGE),
        "inputs": [ProcessingInput.from_bucket("test", bucket, "test/")],
        "outputs": [
            ProcessingOutput.to_bucket("evaluation", bucket, "evaluation"),
            ProcessingOutput.to_bucket("predictions", bucket, "predictions/"),
        ],
        "arguments": ["--threshold", "0.5"],
        "tags": {"team": "ml"},
    }
    report = EvaluationReport(
        output="evaluation",
        path="metrics/evaluation.json",
        metrics={"mse": "regression_metrics.mse.value", "r2": "regression_metrics.r2.value"},
    )
    ProcessingJob(stack, "Plain", **common)
    ProcessingJob(
        stack,
        "Gated",
        **common,
        report=report,
        quality_gate=[MetricThreshold("mse", at_most=3.0), MetricThreshold("r2", at_least=0.8)],
    )
    ProcessingJob(
        stack,
        "Waited",
        **common,
        report=report,
        quality_gate=[MetricThreshold("mse", at_most=3.0)],
        completion=Completion.wait_condition(),
    )
    resources = Template.from_stack(stack).to_json()["Resources"]

    def of(prefix: str, resource_type: str) -> dict[str, Any]:
        [found] = [
            r["Properties"]
            for logical_id, r in resources.items()
            if logical_id.startswith(prefix) and r["Type"] == resource_type
        ]
        return resolved_properties(
            found,
            ref=lambda logical_id: BUCKET if logical_id.startswith("Data") else "concrete-ref",
            get_att="arn:aws:iam::123456789012:role/execution",
        )

    return {
        "plain": of("Plain", PROCESSING.resource_type),
        "gated": of("Gated", PROCESSING.resource_type),
        "waited": of("Waited", PROCESSING.resource_type),
        "waited-result": of("Waited", PROCESSING.result_resource_type),
    }


@pytest.fixture(scope="module")
def synthesized() -> dict[str, dict[str, Any]]:
    return _properties()


class World:
    """The fakes, the framework and one processing resource, with the invariants."""

    def __init__(self, synthesized: dict[str, dict[str, Any]]) -> None:
        self.synthesized = synthesized
        self.sagemaker = FakeSageMaker()
        self.s3 = self.sagemaker.s3 = FakeS3()
        self.framework = Framework(self.sagemaker)
        self.framework.resource_type = PROCESSING.resource_type
        self.resource = Resource(self.framework)
        self.expected_jobs = 0
        self.writes_report(REPORT)

    def writes_report(self, document: Any, *, path: str = "metrics/evaluation.json") -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.sagemaker.plan.writes = {
            "evaluation": {path: body},
            "predictions": {"part-0.csv": b"1,0\n"},
        }

    def properties(self, variant: str = "gated", **request_changes: Any) -> dict[str, Any]:
        props = copy.deepcopy(self.synthesized[variant])
        request = props[PROCESSING.request_property]
        for key, value in request_changes.items():
            request[key] = value
        return cfn_strings(props)

    def creates(self) -> list[dict[str, Any]]:
        return self.sagemaker.calls_of("CreateProcessingJob")

    def check_invariants(self) -> None:
        jobs = self.sagemaker.processing_jobs.values()
        running = [j.name for j in jobs if j.status == "InProgress"]
        assert running == [], f"processing jobs left running: {running}"
        assert len(self.sagemaker.created) == self.expected_jobs, self.sagemaker.created


@pytest.fixture
def world(synthesized: dict[str, dict[str, Any]]) -> Iterator[World]:
    world = World(synthesized)
    yield world
    world.check_invariants()


def test_each_job_writes_its_own_folders_and_exposes_them(world: World) -> None:
    deployed = world.resource.deploy(world.properties("plain"))
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    name = deployed.physical_id
    assert PROCESSING.is_name(name) and len(name) <= 63
    assert deployed.data["ProcessingJobArn"].endswith(f":processing-job/{name.lower()}")
    # <key prefix><job name>/<output name>, with or without the prefix's slash.
    assert deployed.data["Output.evaluation"] == f"s3://{BUCKET}/evaluation/{name}/evaluation"
    assert deployed.data["Output.predictions"] == f"s3://{BUCKET}/predictions/{name}/predictions"
    assert f"s3://{BUCKET}/predictions/{name}/predictions/part-0.csv" in world.s3.objects
    [sent] = world.creates()
    tags = {tag["Key"]: tag["Value"] for tag in sent["Tags"]}
    assert tags["team"] == "ml" and tags[OWNER_TAG] and tags[REQUEST_HASH_TAG]
    assert sent["AppSpecification"]["ContainerArguments"] == ["--threshold", "0.5"]
    # No report: nothing read from S3.
    assert world.s3.calls_of("GetObject") == []

    assert world.resource.destroy().status == "SUCCESS"
    assert world.sagemaker.calls_of("StopProcessingJob") == []
    assert world.sagemaker.deleted_processing == []  # RETAIN


def test_a_report_within_the_gate_gives_its_metrics(world: World) -> None:
    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    name = deployed.physical_id
    report = f"s3://{BUCKET}/evaluation/{name}/evaluation/metrics/evaluation.json"
    assert deployed.data["ReportUri"] == report
    assert float(deployed.data["Metric.mse"]) == 2.5
    assert float(deployed.data["Metric.r2"]) == 0.81
    assert world.s3.calls_of("GetObject") == [
        {"Bucket": BUCKET, "Key": f"evaluation/{name}/evaluation/metrics/evaluation.json"}
    ]


@pytest.mark.parametrize(
    ("document", "phrases"),
    [
        (
            {"regression_metrics": {"mse": {"value": 3.5}, "r2": {"value": 0.7}}},
            ["mse = 3.5, at most 3 allowed", "r2 = 0.7, at least 0.8 required"],
        ),
        (
            {"regression_metrics": {"mse": {"value": 1.0}}},
            ["lacks metrics", "r2 (regression_metrics.r2.value)", "has no key 'r2'"],
        ),
        (
            {"regression_metrics": {"mse": {"value": "n/a"}, "r2": {"value": 0.9}}},
            ['mse (regression_metrics.mse.value) is "n/a", not a number'],
        ),
        (b"{not json", ["is not JSON"]),
    ],
    ids=["misses-bounds", "lacks-a-metric", "not-a-number", "not-json"],
)
def test_a_report_that_fails_the_gate_fails_the_resource(
    world: World, document: Any, phrases: list[str]
) -> None:
    world.writes_report(document)

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert "evaluation report" in deployed.reason
    for phrase in phrases:
        assert phrase in deployed.reason, deployed.reason


def test_a_job_that_writes_no_report_fails_saying_so(world: World) -> None:
    world.writes_report(REPORT, path="elsewhere.json")

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert "metrics/evaluation.json is absent: the script wrote no such file" in deployed.reason


def test_a_failed_job_names_the_reason_and_the_scripts_exit_message(world: World) -> None:
    world.sagemaker.plan.final = "Failed"
    world.sagemaker.plan.failure_reason = "AlgorithmError: See job logs for more information"
    world.sagemaker.plan.exit_message = "ValueError: could not convert string to float: 'x'"

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert deployed.polls == 3  # at once, not at the timeout
    assert "ended Failed: AlgorithmError: See job logs" in deployed.reason
    assert "Its exit message: ValueError: could not convert" in deployed.reason
    assert "/aws/sagemaker/ProcessingJobs" in deployed.reason
    assert world.s3.calls_of("GetObject") == []


def test_a_change_makes_a_new_job_and_a_failed_one_rolls_back_to_the_old(world: World) -> None:
    first = world.resource.deploy(world.properties())
    world.expected_jobs = 1
    assert first.status == "SUCCESS"
    old_report = first.data["ReportUri"]
    old_objects = dict(world.s3.objects)

    # A new argument: a new job, whose report misses the gate.
    world.writes_report({"regression_metrics": {"mse": {"value": 9.0}, "r2": {"value": 0.9}}})
    changed = world.properties(AppSpecification={"ImageUri": IMAGE, "ContainerArguments": ["-x"]})
    second = world.resource.deploy(changed)
    world.expected_jobs = 2

    assert second.status == "FAILED"
    assert "mse = 9, at most 3 allowed" in second.reason
    new_job = world.creates()[1]
    assert {t["Key"]: t["Value"] for t in new_job["Tags"]}[REPLACES_TAG] == first.physical_id
    # The rollback returned to the first job, with its report's metrics read again;
    # what it wrote is intact (the new job wrote to folders of its own).
    assert world.resource.physical_id == first.physical_id
    rollback = world.framework.responses[-2]
    assert rollback.request_type == "Update" and rollback.status == "SUCCESS"
    assert rollback.data["ReportUri"] == old_report
    assert float(rollback.data["Metric.mse"]) == 2.5
    assert all(world.s3.objects[uri] == body for uri, body in old_objects.items())


def test_a_tag_change_is_made_in_place(world: World) -> None:
    first = world.resource.deploy(world.properties())
    world.expected_jobs = 1
    retagged = world.properties(Tags=[{"Key": "team", "Value": "platform"}])

    second = world.resource.deploy(retagged)

    assert second.status == "SUCCESS" and second.physical_id == first.physical_id
    job = world.sagemaker.processing_job(first.physical_id)
    assert job.tags["team"] == "platform"


def test_delete_stops_a_running_job_and_waits(world: World) -> None:
    world.sagemaker.plan.polls = 1000
    world.sagemaker.plan.stop_polls = 3
    properties = world.properties("plain")
    properties = {**properties, "CompletionMode": "created"}
    properties.pop("WaitTimeoutSeconds", None)
    created = world.resource.deploy(properties)
    world.expected_jobs = 1
    assert created.status == "SUCCESS"

    deleted = world.resource.destroy()

    assert deleted.status == "SUCCESS"
    assert world.sagemaker.calls_of("StopProcessingJob") == [
        {"ProcessingJobName": created.physical_id}
    ]
    assert world.sagemaker.processing_job(created.physical_id).status == "Stopped"


def test_a_retried_create_adopts_its_own_job(world: World) -> None:
    event = world.framework.event("Create", world.properties("plain"))
    first = lifecycle.on_event(dict(event), world.framework.runtime)
    second = lifecycle.on_event(dict(event), world.framework.runtime)
    world.expected_jobs = 1

    assert first["PhysicalResourceId"] == second["PhysicalResourceId"]
    assert len(world.creates()) == 2  # the retry was refused, and adopted the job
    world.resource.physical_id = first["PhysicalResourceId"]
    world.resource.properties = world.properties("plain")
    world.resource.destroy()


def test_the_wait_condition_mode_reads_the_report_after_the_wait(world: World) -> None:
    created = world.resource.deploy(world.properties("waited"))
    world.expected_jobs = 1
    assert created.status == "SUCCESS"
    assert set(created.data) >= {"ProcessingJobName", "ProcessingJobArn"}
    assert "ReportUri" not in created.data
    name = created.physical_id
    job = world.sagemaker.processing_job(name)
    world.sagemaker.plan.runtime = 0.0  # ends at the next look
    world.sagemaker.advance(job)
    assert job.status == "Completed"

    # The state-change event signals the wait condition...
    signalled: list[dict[str, Any]] = []
    detail = {"ProcessingJobName": name, "ProcessingJobStatus": "Completed"}
    event = {
        "handleUrl": "https://handle",
        "jobName": name,
        "kind": "processing",
        "detail": detail,
    }
    assert signal.handle_event(event, lambda _url, body: signalled.append(body)).startswith(
        "signalled SUCCESS"
    )
    assert signalled[0]["Reason"] == f"Processing job {name} completed"
    # ...then the result resource reads the report, gated.
    result = Framework(world.sagemaker)
    result.resource_type = PROCESSING.result_resource_type
    properties = copy.deepcopy(world.synthesized["waited-result"])
    properties[PROCESSING.name_property] = name
    answer = result.create(cfn_strings(properties))
    assert answer.status == "SUCCESS", answer.reason
    assert float(answer.data["Metric.mse"]) == 2.5
    assert HANDLE_URL not in properties


def test_a_failure_signal_names_the_exit_message() -> None:
    signalled: list[dict[str, Any]] = []
    detail = {
        "ProcessingJobName": "p-1",
        "ProcessingJobStatus": "Failed",
        "FailureReason": "AlgorithmError: boom",
        "ExitMessage": "KeyError: 'label'",
    }
    event = {
        "handleUrl": "https://handle",
        "jobName": "p-1",
        "kind": "processing",
        "detail": detail,
    }
    signal.handle_event(event, lambda _url, body: signalled.append(body))
    [body] = signalled
    assert body["Status"] == "FAILURE"
    assert "AlgorithmError: boom: KeyError: 'label'" in body["Reason"]
    assert "/aws/sagemaker/ProcessingJobs, streams p-1/*" in body["Reason"]


# -- moto's SageMaker and S3, in-process: a third party's judge ------------------------


@pytest.fixture
def moto_world() -> Iterator[lifecycle.Runtime]:
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield lifecycle.Runtime(
            sagemaker=boto3.client("sagemaker", region_name="us-east-1"),
            s3_factory=lambda: boto3.client("s3", region_name="us-east-1"),
        )


def _moto_event(request_type: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    framework = Framework(FakeSageMaker())
    framework.resource_type = PROCESSING.resource_type
    return framework.event(request_type, properties, **extra)


def test_moto_runs_the_job_and_the_handler_reads_its_report(
    moto_world: lifecycle.Runtime, synthesized: dict[str, dict[str, Any]]
) -> None:
    from moto.sagemaker import sagemaker_backends  # noqa: PLC0415

    properties = cfn_strings(synthesized["gated"])
    created = lifecycle.on_event(_moto_event("Create", properties), moto_world)
    name = created["PhysicalResourceId"]
    job = sagemaker_backends["123456789012"]["us-east-1"].processing_jobs[name]
    # What the script wrote, where SageMaker uploads it: the job's own folder.
    [evaluation] = [
        o["S3Output"]["S3Uri"]
        for o in job.processing_output_config["Outputs"]
        if o["OutputName"] == "evaluation"
    ]
    assert evaluation == f"s3://{BUCKET}/evaluation/{name}/evaluation"
    moto_world.s3.put_object(
        Bucket=BUCKET,
        Key=f"evaluation/{name}/evaluation/metrics/evaluation.json",
        Body=json.dumps(REPORT).encode(),
    )
    polled = _moto_event("Create", properties, PhysicalResourceId=name, Data=created["Data"])

    answer = lifecycle.is_complete(polled, moto_world)

    assert answer["IsComplete"] is True
    assert float(answer["Data"]["Metric.mse"]) == 2.5
    assert answer["Data"]["Output.evaluation"] == evaluation

    # A report that misses the gate fails the resource, naming metric, value and bound.
    moto_world.s3.put_object(
        Bucket=BUCKET,
        Key=f"evaluation/{name}/evaluation/metrics/evaluation.json",
        Body=json.dumps({"regression_metrics": {"mse": {"value": 4}, "r2": {"value": 1}}}),
    )
    with pytest.raises(lifecycle.TrainingJobError, match="mse = 4, at most 3 allowed"):
        lifecycle.is_complete(polled, moto_world)


def test_moto_stops_a_running_job_on_delete(
    moto_world: lifecycle.Runtime, synthesized: dict[str, dict[str, Any]]
) -> None:
    from moto.sagemaker import sagemaker_backends  # noqa: PLC0415

    properties = cfn_strings(synthesized["plain"])
    name = lifecycle.on_event(_moto_event("Create", properties), moto_world)["PhysicalResourceId"]
    job = sagemaker_backends["123456789012"]["us-east-1"].processing_jobs[name]
    job.processing_job_status = "InProgress"
    deleting = _moto_event("Delete", properties, PhysicalResourceId=name)

    lifecycle.on_event(deleting, moto_world)

    assert job.processing_job_status == "Stopped"
    assert lifecycle.is_complete(deleting, moto_world) == {"IsComplete": True}


BUSY = (
    "The account-level service limit 'ml.m5.xlarge for processing job usage' is 2 Instances, "
    "with current utilization of 2 Instances and a request delta of 1 Instances. Please use "
    "AWS Service Quotas to request an increase for this quota."
)


def test_a_busy_processing_quota_waits_then_the_job_starts(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.sagemaker.fail_next("CreateProcessingJob", "ResourceLimitExceeded", BUSY, times=3)
    properties = {**world.properties("plain"), "QuotaWaitSeconds": "600"}

    deployed = world.resource.deploy(properties)
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    names = {call["ProcessingJobName"] for call in world.creates()}
    assert len(world.creates()) == 4 and names == {deployed.physical_id}
    waits = [line for line in capsys.readouterr().out.splitlines() if "waiting for quota" in line]
    assert json.loads(waits[0])["waiting for quota"] == "ml.m5.xlarge for processing job usage"


def test_a_quota_without_a_wait_fails_naming_the_processing_quota(world: World) -> None:
    world.sagemaker.fail_next("CreateProcessingJob", "ResourceLimitExceeded", "Limit", times=1)

    deployed = world.resource.deploy(world.properties("plain"))

    assert deployed.status == "FAILED"
    assert "'ml.m5.xlarge for processing job usage'" in deployed.reason


def test_throttling_is_waited_out(world: World) -> None:
    world.sagemaker.throttle("DescribeProcessingJob", 90)

    deployed = world.resource.deploy(world.properties("plain"))
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    assert len(world.sagemaker.calls_of("DescribeProcessingJob")) > 3


def test_a_report_s3_refuses_to_read_says_what_it_may_mean(world: World) -> None:
    world.s3.fail_next("GetObject", "AccessDenied", "Access Denied")

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert "cannot be read (AccessDenied: Access Denied): it is absent, or the provider" in (
        deployed.reason
    )
