"""A full quota waits instead of failing: a job whose CreateTrainingJob (or
CreateHyperParameterTuningJob) meets ResourceLimitExceeded for a quota other jobs
use is started later by the provider's polls, within its budget; a request the quota
can never hold fails at once. One job per resource, whatever the retries; delete of a
job that never started stops nothing; a rollback starts nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import Completion, TrainingImage, TrainingJob, TrainingOutput
from constructs_lib.handler.lifecycle import Quota, parse_quota
from constructs_lib.handler.properties import COMPLETION, QUOTA_WAIT, REQUEST, WAIT_TIMEOUT
from tests.deliver import concretize
from tests.harness import QUERY_INTERVAL, cfn_strings
from tests.lambda_handler.test_lifecycle_harness import World
from tests.lambda_handler.test_tuning_lifecycle import World as TuningWorld
from tests.lambda_handler.test_tuning_lifecycle import _tuning_requests

BUSY = (
    "The account-level service limit 'ml.p5.48xlarge for training job usage' is 4 Instances, "
    "with current utilization of 4 Instances and a request delta of 1 Instances. Please use "
    "AWS Service Quotas to request an increase for this quota."
)
TOO_BIG = (
    "The account-level service limit 'ml.p5.48xlarge for training job usage' is 4 Instances, "
    "with current utilization of 0 Instances and a request delta of 8 Instances. Please use "
    "AWS Service Quotas to request an increase for this quota."
)


@pytest.fixture
def world() -> Iterator[World]:
    world = World()
    yield world
    world.check_invariants()


def _properties(world: World, budget: int | None = 1200, **extra: Any) -> dict[str, Any]:
    properties = world.properties()
    if budget is not None:
        properties[QUOTA_WAIT] = str(budget)
    properties.update(extra)
    return properties


def _busy(world: World, times: int) -> None:
    world.sagemaker.fail_next("CreateTrainingJob", "ResourceLimitExceeded", BUSY, times=times)


def test_the_quota_message_is_read() -> None:
    assert parse_quota(BUSY) == Quota("ml.p5.48xlarge for training job usage", 4, 4, 1)
    assert parse_quota(BUSY).can_fit  # type: ignore[union-attr]
    assert not parse_quota(TOO_BIG).can_fit  # type: ignore[union-attr]
    assert parse_quota("ResourceLimitExceeded") is None


def test_a_busy_quota_waits_then_the_job_starts_and_completes(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    _busy(world, times=4)  # the Create and three polls meet a full quota

    deployed = world.resource.deploy(_properties(world))
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    # Five attempts under one name: four refused, one accepted; one job.
    names = {call["TrainingJobName"] for call in world.creates()}
    assert len(world.creates()) == 5 and names == {deployed.physical_id}
    assert world.sagemaker.jobs[deployed.physical_id].status == "Completed"
    assert deployed.data["ModelArtifacts"]
    # One log line per refused attempt, with the quota's message.
    waits = [line for line in capsys.readouterr().out.splitlines() if "waiting for quota" in line]
    assert len(waits) == 4
    assert json.loads(waits[0])["waiting for quota"] == "ml.p5.48xlarge for training job usage"


def test_a_quota_that_never_frees_fails_at_the_end_of_the_wait(world: World) -> None:
    _busy(world, times=1000)

    deployed = world.resource.deploy(_properties(world, budget=600))
    world.expected_jobs = 0

    assert deployed.status == "FAILED"
    assert "waited" in deployed.reason and "(600 s, max_quota_wait)" in deployed.reason
    assert "no job was started" in deployed.reason
    # It tried every poll for the budget, then stopped trying.
    assert 600 / QUERY_INTERVAL <= len(world.creates()) <= 600 / QUERY_INTERVAL + 3
    # The rollback's delete had nothing to stop.
    assert world.sagemaker.calls_of("StopTrainingJob") == []


def test_a_request_larger_than_the_quota_fails_at_once(world: World) -> None:
    world.sagemaker.fail_next("CreateTrainingJob", "ResourceLimitExceeded", TOO_BIG, times=1)

    deployed = world.resource.deploy(_properties(world))
    world.expected_jobs = 0

    assert deployed.status == "FAILED"
    assert len(world.creates()) == 1
    assert (
        "can never fit the SageMaker quota 'ml.p5.48xlarge for training job usage': it is 4 "
        "and the job needs 8" in deployed.reason
    )
    assert "Service Quotas" in deployed.reason


def test_without_a_budget_a_full_quota_fails_at_once(world: World) -> None:
    _busy(world, times=1)

    deployed = world.resource.deploy(_properties(world, budget=None))
    world.expected_jobs = 0

    assert deployed.status == "FAILED"
    assert len(world.creates()) == 1
    assert "'ml.p5.48xlarge for training job usage'" in deployed.reason


def test_delete_while_waiting_stops_nothing_and_leaves_nothing(world: World) -> None:
    _busy(world, times=1000)
    fw = world.framework
    poll_event, failed = fw.start(fw.event("Create", _properties(world)))
    assert failed is None
    assert fw.poll(poll_event, 1) is None  # still waiting for a slot
    name = poll_event["PhysicalResourceId"]

    deleted = fw.delete(name, _properties(world))
    world.expected_jobs = 0

    assert deleted.status == "SUCCESS"
    assert world.sagemaker.calls_of("StopTrainingJob") == []
    assert world.sagemaker.jobs == {}


@pytest.mark.parametrize("mode", ["wait", "created"])
def test_each_completion_mode_waits_for_its_slot(world: World, mode: str) -> None:
    _busy(world, times=3)
    extra: dict[str, Any] = {} if mode == "wait" else {COMPLETION: "created"}
    properties = _properties(world, **extra)
    if mode == "created":
        properties.pop(WAIT_TIMEOUT, None)

    deployed = world.resource.deploy(properties)
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    job = world.sagemaker.jobs[deployed.physical_id]
    # Created: the resource completes once the job started (a wait condition or
    # nothing waits for the rest); waiting mode: once it completed.
    assert job.status == ("Completed" if mode == "wait" else "InProgress")
    if mode == "created":
        world.resource.destroy()  # the invariants want no job left running


def test_a_replacement_does_not_wait_and_its_rollback_starts_nothing(world: World) -> None:
    """A replacement that met a full quota fails at once, so that the rollback always
    finds the job it returns to (an update whose new job never started would leave a
    physical id naming no job)."""
    first = world.resource.deploy(_properties(world))
    world.expected_jobs = 1
    assert first.status == "SUCCESS", first.reason

    _busy(world, times=1000)
    retrain = _properties(world)
    retrain["TrainingJobRequest"]["HyperParameters"] = {"k": "5"}
    creates = len(world.creates())
    deployed = world.resource.deploy(retrain)

    assert deployed.status == "FAILED"
    assert "a replacement does not wait for a slot" in deployed.reason
    assert "('ml.p5.48xlarge for training job usage', 4 of 4 in use" in deployed.reason
    # One refused attempt, then the rollback returned to the first job, starting nothing.
    assert len(world.creates()) == creates + 1
    assert world.resource.physical_id == first.physical_id
    assert set(world.sagemaker.jobs) == {first.physical_id}


def test_a_tuning_job_waits_for_its_slot() -> None:
    world = TuningWorld(_tuning_requests())
    busy = (
        "The account-level service limit 'Number of concurrent hyperparameter tuning jobs' is "
        "100 Hyperparameter tuning jobs, with current utilization of 100 Hyperparameter tuning "
        "jobs and a request delta of 1 Hyperparameter tuning jobs."
    )
    world.sagemaker.fail_next(
        "CreateHyperParameterTuningJob", "ResourceLimitExceeded", busy, times=3
    )
    properties = world.properties()
    properties[QUOTA_WAIT] = "1200"

    deployed = world.resource.deploy(properties)
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    assert len(world.creates()) == 4
    assert deployed.data["BestModelArtifacts"]
    world.check_invariants()


# -- the construct's side -------------------------------------------------------------


def _resource_properties(**props: Any) -> dict[str, Any]:
    stack = Stack(App(), "Quota", env=Environment(account="123456789012", region="us-east-1"))
    bucket = s3.Bucket(stack, "Data")
    job = TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={"k": "3", "feature_dim": "4"},
        **props,
    )
    assert job.resource is not None
    template = Template.from_stack(stack).to_json()
    [properties] = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "Custom::SageMakerTrainingJob"
    ]
    return properties


def test_the_construct_gives_its_job_the_room_the_hour_leaves() -> None:
    properties = _resource_properties(max_runtime=Duration.minutes(20))
    # 3600 s less 20 min of run, 15 of start and upload, 5 of headroom: 20 min.
    assert properties["QuotaWaitSeconds"] == 1200
    assert properties["ServiceTimeout"] == "3600"
    capped = _resource_properties(
        max_runtime=Duration.minutes(20), max_quota_wait=Duration.minutes(5)
    )
    assert capped["QuotaWaitSeconds"] == 300
    # A job created for a wait condition waits in the creation's half hour.
    created = _resource_properties(completion=Completion.wait_condition())
    assert created["QuotaWaitSeconds"] == 1440
    # Zero: a full quota fails the deploy at once, as before.
    assert "QuotaWaitSeconds" not in _resource_properties(max_quota_wait=Duration.seconds(0))


def test_a_quota_wait_the_hour_cannot_hold_fails_at_synth() -> None:
    with pytest.raises(
        ValueError,
        match=r"^\[Quota/Train\] max_quota_wait \(max_quota_wait\): 1800 is invalid: the "
        r"deployment can wait at most 1200 s for a quota slot",
    ):
        _resource_properties(max_runtime=Duration.minutes(20), max_quota_wait=Duration.minutes(30))


def test_the_constructs_job_waits_through_the_real_handler(world: World) -> None:
    properties = _resource_properties(max_runtime=Duration.minutes(20))
    request = concretize(properties["TrainingJobRequest"])
    handler_properties = cfn_strings(
        {**{k: v for k, v in properties.items() if k != "ServiceToken"}, REQUEST: request}
    )
    _busy(world, times=10)  # five minutes of full quota

    deployed = world.resource.deploy(handler_properties)
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    assert len(world.creates()) == 11
