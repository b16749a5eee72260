"""A transform job through CloudFormation's lifecycle, with the rigour of the other
kinds': each scenario drives the handler through CloudFormation (``Resource``) and the
provider framework against the model-validating fake, on a simulated clock, with the
resource properties a real ``TransformJob`` synthesizes; and moto's SageMaker as a
third party's judge. After each: no transform left InProgress, exactly the expected
CreateTransformJob calls."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import SplitType, TransformInput, TransformJob, TransformOutput
from constructs_lib.handler import lifecycle
from constructs_lib.handler.kinds import TRANSFORM
from constructs_lib.handler.properties import OWNER_TAG, REPLACES_TAG
from tests.deliver import resolved_properties
from tests.fakes import FakeSageMaker
from tests.harness import Framework, Resource, cfn_strings

BUCKET = "data-bucket"


@pytest.fixture(scope="module")
def synthesized() -> dict[str, Any]:
    stack = Stack(App(), "Scored")
    bucket = s3.Bucket(stack, "Data")
    TransformJob(
        stack,
        "Score",
        model="house-prices",
        input=TransformInput.from_bucket(
            bucket, "test/", content_type="text/csv", split_type=SplitType.LINE
        ),
        output=TransformOutput.to_bucket(bucket, "predictions", accept="text/csv"),
        tags={"team": "ml"},
    )
    [resource] = Template.from_stack(stack).find_resources(TRANSFORM.resource_type).values()
    return resolved_properties(resource["Properties"], ref=lambda _: BUCKET)


class World:
    def __init__(self, synthesized: dict[str, Any]) -> None:
        self.synthesized = synthesized
        self.sagemaker = FakeSageMaker()
        self.framework = Framework(self.sagemaker)
        self.framework.resource_type = TRANSFORM.resource_type
        self.resource = Resource(self.framework)
        self.expected_jobs = 0

    def properties(self, **changes: Any) -> dict[str, Any]:
        properties = copy.deepcopy(self.synthesized)
        properties[TRANSFORM.request_property].update(changes)
        return cfn_strings(properties)

    def creates(self) -> list[dict[str, Any]]:
        return self.sagemaker.calls_of("CreateTransformJob")

    def check_invariants(self) -> None:
        running = [
            j.name for j in self.sagemaker.transform_jobs.values() if j.status == "InProgress"
        ]
        assert running == [], f"transform jobs left running: {running}"
        assert len(self.sagemaker.created) == self.expected_jobs, self.sagemaker.created


@pytest.fixture
def world(synthesized: dict[str, Any]) -> Iterator[World]:
    world = World(synthesized)
    yield world
    world.check_invariants()


def test_a_transform_writes_its_own_folder_and_exposes_it(world: World) -> None:
    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    name = deployed.physical_id
    assert TRANSFORM.is_name(name)
    assert deployed.data["OutputUri"] == f"s3://{BUCKET}/predictions/{name}/"
    assert deployed.data["TransformJobArn"].endswith(f":transform-job/{name.lower()}")
    [sent] = world.creates()
    assert sent["ModelName"] == "house-prices"
    assert {t["Key"]: t["Value"] for t in sent["Tags"]}["team"] == "ml"
    assert OWNER_TAG in {t["Key"] for t in sent["Tags"]}


def test_a_failed_transform_names_the_reason(world: World) -> None:
    world.sagemaker.plan.final = "Failed"
    world.sagemaker.plan.failure_reason = "ClientError: See job logs for more information"

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert deployed.polls == 3
    assert "Transform job" in deployed.reason
    assert "ended Failed: ClientError: See job logs" in deployed.reason
    assert "/aws/sagemaker/TransformJobs" in deployed.reason


def test_a_change_makes_a_new_transform_and_a_failed_one_rolls_back(world: World) -> None:
    first = world.resource.deploy(world.properties())
    world.expected_jobs = 1
    world.sagemaker.plan.final = "Failed"

    second = world.resource.deploy(world.properties(MaxConcurrentTransforms=4))
    world.expected_jobs = 2

    assert second.status == "FAILED"
    replacing = world.creates()[1]
    assert {t["Key"]: t["Value"] for t in replacing["Tags"]}[REPLACES_TAG] == first.physical_id
    # Its own folder: the first transform's predictions are where they were.
    assert replacing["TransformOutput"]["S3OutputPath"] != first.data["OutputUri"]
    assert world.resource.physical_id == first.physical_id
    rollback = world.framework.responses[-2]
    assert rollback.request_type == "Update" and rollback.status == "SUCCESS"
    assert rollback.data["OutputUri"] == first.data["OutputUri"]


def test_delete_stops_a_running_transform_and_keeps_its_record(world: World) -> None:
    world.sagemaker.plan.polls = 1000
    world.sagemaker.plan.stop_polls = 2
    properties = {**world.properties(), "CompletionMode": "created", "RemovalPolicy": "destroy"}
    properties.pop("WaitTimeoutSeconds", None)
    created = world.resource.deploy(properties)
    world.expected_jobs = 1

    assert world.resource.destroy().status == "SUCCESS"
    assert world.sagemaker.calls_of("StopTransformJob") == [
        {"TransformJobName": created.physical_id}
    ]
    # There is no DeleteTransformJob: the record stays whatever the policy says.
    assert world.sagemaker.transform_job(created.physical_id).status == "Stopped"


def test_a_retried_create_adopts_its_own_transform(world: World) -> None:
    event = world.framework.event("Create", world.properties())
    first = lifecycle.on_event(dict(event), world.framework.runtime)
    second = lifecycle.on_event(dict(event), world.framework.runtime)
    world.expected_jobs = 1

    assert first["PhysicalResourceId"] == second["PhysicalResourceId"]
    world.resource.physical_id = first["PhysicalResourceId"]
    world.resource.properties = world.properties()
    world.resource.destroy()


def test_a_busy_transform_quota_waits_then_the_job_starts(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    busy = (
        "The account-level service limit 'ml.m5.xlarge for transform job usage' is 1 "
        "Instances, with current utilization of 1 Instances and a request delta of 1 "
        "Instances. Please use AWS Service Quotas to request an increase for this quota."
    )
    world.sagemaker.fail_next("CreateTransformJob", "ResourceLimitExceeded", busy, times=2)

    deployed = world.resource.deploy({**world.properties(), "QuotaWaitSeconds": "600"})
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    waits = [line for line in capsys.readouterr().out.splitlines() if "waiting for quota" in line]
    assert json.loads(waits[0])["waiting for quota"] == "ml.m5.xlarge for transform job usage"


# -- moto's SageMaker, in-process ------------------------------------------------------


def test_moto_creates_and_describes_the_transform(synthesized: dict[str, Any]) -> None:
    import boto3  # noqa: PLC0415
    from moto import mock_aws  # noqa: PLC0415

    with mock_aws():
        runtime = lifecycle.Runtime(sagemaker=boto3.client("sagemaker", region_name="us-east-1"))
        framework = Framework(FakeSageMaker())
        framework.resource_type = TRANSFORM.resource_type
        properties = cfn_strings(synthesized)
        created = lifecycle.on_event(framework.event("Create", properties), runtime)
        name = created["PhysicalResourceId"]
        polled = framework.event(
            "Create", properties, PhysicalResourceId=name, Data=created["Data"]
        )

        answer = lifecycle.is_complete(polled, runtime)

    assert answer["IsComplete"] is True
    assert answer["Data"]["TransformJobName"] == name
    assert answer["Data"]["OutputUri"] == f"s3://{BUCKET}/predictions/{name}/"


def test_the_wait_condition_is_signalled_by_a_transforms_event() -> None:
    from constructs_lib.handler import signal  # noqa: PLC0415

    signalled: list[dict[str, Any]] = []
    detail = {
        "TransformJobName": "score-1",
        "TransformJobStatus": "Failed",
        "FailureReason": "ClientError: the model returned 500",
    }
    event = {
        "handleUrl": "https://handle",
        "jobName": "score-1",
        "kind": "transform",
        "detail": detail,
    }

    signal.handle_event(event, lambda _url, body: signalled.append(body))

    [body] = signalled
    assert body["Status"] == "FAILURE"
    assert body["Reason"].startswith("Transform job score-1 ended Failed: ClientError: the model")
    assert "/aws/sagemaker/TransformJobs, streams score-1/*" in body["Reason"]
