"""Fault-injection scenarios: every CloudFormation path leaves a known state.

Each scenario drives the handler through CloudFormation (``Resource``) and the
provider framework (``Framework``) against the model-validating fakes, on a
simulated clock. After each, the invariants hold: no job left InProgress, no model
artifact deleted, exactly the expected CreateTrainingJob calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from constructs_lib.handler import lifecycle
from constructs_lib.handler.properties import (
    NAME_PREFIX,
    OWNER_TAG,
    REMOVAL_POLICY,
    REPLACES_TAG,
    REQUEST,
    REQUEST_HASH_TAG,
    WAIT_TIMEOUT,
)
from tests.fakes import FakeEC2, FakeSageMaker, Plan
from tests.harness import CREATE_FAILED_MARKER, QUERY_INTERVAL, Framework, Resource
from tests.lambda_handler.test_handler_lifecycle import cfn_strings, request

VPC = {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-0123456789abcdef0"]}


class World:
    """The fakes, the framework and one resource, with the invariants to check."""

    def __init__(self) -> None:
        self.sagemaker = FakeSageMaker()
        self.ec2 = FakeEC2(self.sagemaker)
        self.framework = Framework(self.sagemaker, self.ec2)
        self.resource = Resource(self.framework)
        self.expected_jobs = 0

    def properties(
        self, removal: str = "retain", wait: int | None = 1800, **overrides: Any
    ) -> dict[str, Any]:
        props: dict[str, Any] = {
            REQUEST: request(**overrides),
            NAME_PREFIX: "ml-0a1b2c-train",
            REMOVAL_POLICY: removal,
        }
        if wait is not None:
            props[WAIT_TIMEOUT] = wait
        return cfn_strings(props)

    def creates(self) -> list[dict[str, Any]]:
        return self.sagemaker.calls_of("CreateTrainingJob")

    def check_invariants(self) -> None:
        running = [j.name for j in self.sagemaker.jobs.values() if j.status == "InProgress"]
        assert running == [], f"jobs left running: {running}"
        produced = {j.artifact for j in self.sagemaker.jobs.values() if j.status == "Completed"}
        assert produced <= self.sagemaker.artifacts, "a model artifact was deleted"
        created = self.sagemaker.created
        assert len(created) == self.expected_jobs, (
            f"expected {self.expected_jobs} jobs created, got {created}"
        )


@pytest.fixture
def world() -> Iterator[World]:
    world = World()
    yield world
    world.check_invariants()


def test_happy_path(world: World) -> None:
    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS"
    assert deployed.data["ModelArtifacts"] in world.sagemaker.artifacts
    assert world.resource.destroy().status == "SUCCESS"
    assert world.sagemaker.calls_of("StopTrainingJob") == []
    assert world.sagemaker.deleted == []  # RETAIN


def test_failed_job_fails_the_deploy_at_once(world: World) -> None:
    world.sagemaker.plan.final = "Failed"
    world.sagemaker.plan.failure_reason = "AlgorithmError: out of memory"

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert "AlgorithmError: out of memory" in deployed.reason
    assert deployed.polls == 3  # not at the timeout
    # The rollback's Delete found the job ended: nothing to stop.
    assert world.framework.responses[-1].request_type == "Delete"
    assert world.framework.responses[-1].status == "SUCCESS"


def test_stopped_job_fails_the_deploy(world: World) -> None:
    world.sagemaker.plan.final = "Stopped"

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert "ended Stopped" in deployed.reason


def test_duplicated_create_adopts_its_own_job(world: World) -> None:
    # Lambda retries on_event after CreateTrainingJob succeeded but before it answered.
    fw = world.framework
    event = fw.event("Create", world.properties(TrainingJobName="fixed-name"))
    lifecycle.on_event(event, fw.runtime)

    response = fw.run(event)
    world.expected_jobs = 1

    assert response.status == "SUCCESS"
    assert response.physical_id == "fixed-name"
    assert len(world.creates()) == 2  # the retry met ResourceInUse...
    assert len(world.sagemaker.jobs) == 1  # ...and adopted the job
    assert world.sagemaker.job("fixed-name").tags[OWNER_TAG] == event["RequestId"]


def test_name_taken_by_another_request_fails(world: World) -> None:
    fw = world.framework
    lifecycle.on_event(fw.event("Create", world.properties(TrainingJobName="taken")), fw.runtime)

    response = fw.create(world.properties(TrainingJobName="taken"))
    world.expected_jobs = 1
    fw.run(fw.event("Delete", world.properties(), PhysicalResourceId="taken"))

    assert response.status == "FAILED"
    assert "taken is already in use" in response.reason
    assert "did not start" in response.reason


@pytest.mark.parametrize(
    "operation",
    ["CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "ListTags", "AddTags"],
)
def test_throttling_on_every_call_once(world: World, operation: str) -> None:
    for op in ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob", "AddTags"):
        world.sagemaker.fail_next(op, "ThrottlingException", "Rate exceeded")
    world.sagemaker.fail_next(operation, "ThrottlingException", "Rate exceeded", times=2)
    world.sagemaker.plan.polls = 3

    deployed = world.resource.deploy(world.properties())
    tagged = world.resource.deploy(world.properties(Tags=[{"Key": "team", "Value": "x"}]))
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    assert tagged.status == "SUCCESS", tagged.reason
    assert world.resource.destroy().status == "SUCCESS"
    assert world.framework.clock.slept.count(1.0) >= 1  # backed off, then succeeded


def test_quota_busy_on_describe_is_retried(world: World) -> None:
    world.sagemaker.fail_next("DescribeTrainingJob", "ResourceLimitExceeded", "busy", times=3)

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS"
    assert world.framework.clock.slept[:3] == [1.0, 2.0, 4.0]  # exponential backoff


def test_quota_exceeded_on_create_names_the_quota(world: World) -> None:
    world.sagemaker.fail_next(
        "CreateTrainingJob",
        "ResourceLimitExceeded",
        "The account-level service limit 'ml.m5.xlarge for training job usage' is 0 Instances",
    )

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 0

    assert deployed.status == "FAILED"
    assert "'ml.m5.xlarge for training job usage'" in deployed.reason
    assert "Service Quotas" in deployed.reason
    assert len(world.creates()) == 1  # not retried


@pytest.mark.parametrize("operation", ["CreateTrainingJob", "DescribeTrainingJob"])
def test_throttled_for_150_seconds_is_waited_out_at_the_next_polls(
    world: World, operation: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # As hundreds of jobs deployed at once meet it: every call answered "Rate exceeded"
    # for two and a half minutes, far longer than one call's retries.
    world.sagemaker.throttle(operation, 150)
    world.sagemaker.plan.runtime = 600

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    if operation == "DescribeTrainingJob":
        assert len(world.creates()) == 1
    # Each invocation retried for seconds only, then left it to the next poll ...
    assert max(world.framework.clock.slept) <= 4
    # ... and said so in the function's log.
    logged = [line for line in capsys.readouterr().out.splitlines() if '"throttled"' in line]
    assert logged and all(operation in line and '"again in": 30' in line for line in logged)


def test_throttling_until_the_budget_ends_fails_naming_the_call(world: World) -> None:
    # Throttled past the budget (1800 s less 300 s of headroom), not for ever: the
    # rollback's delete then stops the job.
    world.sagemaker.throttle("DescribeTrainingJob", 1600)
    properties = {**world.properties(), "ServiceTimeout": "1800"}

    deployed = world.resource.deploy(properties)
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert "DescribeTrainingJob was throttled (ThrottlingException: Rate exceeded)" in (
        deployed.reason
    )
    assert "budget of 1500 s ran out" in deployed.reason
    # It gave up before CloudFormation's own ServiceTimeout would have, at a poll.
    assert 1500 - 30 <= world.framework.clock.seconds < 1800
    assert world.sagemaker.calls_of("StopTrainingJob")


def test_a_create_throttled_until_the_budget_ends_starts_no_job(world: World) -> None:
    world.sagemaker.throttle("CreateTrainingJob", 24 * 3600)

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 0

    assert deployed.status == "FAILED"
    assert deployed.physical_id == CREATE_FAILED_MARKER
    assert "CreateTrainingJob was throttled" in deployed.reason
    assert "budget of 3300 s ran out" in deployed.reason


def test_iam_propagation_delay_is_retried(world: World) -> None:
    message = "Could not assume role arn:aws:iam::123456789012:role/training"
    world.sagemaker.fail_next("CreateTrainingJob", "ValidationException", message, times=4)

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS"
    assert len(world.creates()) == 5
    # Twice in the first invocation (1 s, 2 s apart), then again at the next poll:
    # no invocation waits long for IAM.
    assert world.framework.clock.slept[:2] == [1.0, 2.0]
    assert max(world.framework.clock.slept) <= 4


def test_role_never_assumable_fails_with_advice(world: World) -> None:
    message = "Could not assume role arn:aws:iam::123456789012:role/training"
    world.sagemaker.fail_next("CreateTrainingJob", "ValidationException", message, times=1000)

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 0

    assert deployed.status == "FAILED"
    assert deployed.physical_id == CREATE_FAILED_MARKER
    assert "could not assume the execution role" in deployed.reason
    assert "even after retrying for 150 s" in deployed.reason
    assert "trust policy allows sagemaker.amazonaws.com" in deployed.reason
    # Tried at every poll for the propagation's budget, then given up.
    budget = lifecycle.ROLE_PROPAGATION_BUDGET_SECONDS
    assert budget <= world.framework.clock.seconds <= budget + 2 * QUERY_INTERVAL
    assert max(world.framework.clock.slept) <= 4


def test_update_in_place(world: World) -> None:
    world.sagemaker.plan.warm_pool = True
    first = world.resource.deploy(
        world.properties(
            ResourceConfig={
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
                "KeepAlivePeriodInSeconds": 600,
            }
        )
    )
    second = world.resource.deploy(
        world.properties(
            Tags=[{"Key": "team", "Value": "research"}],
            ResourceConfig={
                "InstanceType": "ml.m5.xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
                "KeepAlivePeriodInSeconds": 1200,
            },
            RemoteDebugConfig={"EnableRemoteDebug": True},  # no effect on an ended job
        )
    )
    world.expected_jobs = 1

    assert second.status == "SUCCESS", second.reason
    assert second.physical_id == first.physical_id
    job = world.sagemaker.job(first.physical_id)
    assert job.tags["team"] == "research"
    # The warm pool is still available: its keep-alive changes; debug would not apply.
    assert job.updates == [{"ResourceConfig": {"KeepAlivePeriodInSeconds": 1200}}]
    assert second.data["ModelArtifacts"] == first.data["ModelArtifacts"]


def test_update_in_place_of_a_running_job(world: World) -> None:
    # A job that still runs (e.g. a failed deploy's rollback is pending) gets the update.
    fw = world.framework
    world.sagemaker.plan.polls = 100
    old = world.properties()
    name = lifecycle.on_event(fw.event("Create", old), fw.runtime)["PhysicalResourceId"]
    new = world.properties(
        ProfilerConfig={"ProfilingIntervalInMilliseconds": 500},
        RemoteDebugConfig={"EnableRemoteDebug": True},
    )

    result = lifecycle.on_event(
        fw.event("Update", new, PhysicalResourceId=name, OldResourceProperties=old), fw.runtime
    )
    world.expected_jobs = 1
    fw.delete(name, new)

    assert result == {"PhysicalResourceId": name}
    assert world.sagemaker.job(name).updates == [
        {
            "ProfilerConfig": {"ProfilingIntervalInMilliseconds": 500},
            "RemoteDebugConfig": {"EnableRemoteDebug": True},
        }
    ]


def test_update_with_replacement(world: World) -> None:
    first = world.resource.deploy(world.properties(removal="destroy"))
    second = world.resource.deploy(
        world.properties(removal="destroy", HyperParameters={"num_round": "300"})
    )
    world.expected_jobs = 2

    assert second.status == "SUCCESS"
    assert second.physical_id != first.physical_id
    assert world.creates()[1]["HyperParameters"] == {"num_round": "300"}
    # The cleanup Delete of the old job followed its removal policy.
    assert world.sagemaker.deleted == [first.physical_id]
    assert first.data["ModelArtifacts"] in world.sagemaker.artifacts


def test_update_with_fixed_name_needing_replacement_fails(world: World) -> None:
    world.resource.deploy(world.properties(TrainingJobName="fixed"))

    response = world.resource.deploy(
        world.properties(TrainingJobName="fixed", HyperParameters={"num_round": "7"})
    )
    world.expected_jobs = 1

    assert response.status == "FAILED"
    assert "Change training_job_name" in response.reason
    assert world.resource.physical_id == "fixed"


def test_rollback_while_in_progress_stops_the_job(world: World) -> None:
    # Another resource of the stack fails while the job trains: CloudFormation
    # deletes this resource while the provider still polls the Create.
    world.sagemaker.plan.polls = 100
    world.sagemaker.plan.stop_polls = 2
    fw = world.framework
    create, _ = fw.start(fw.event("Create", world.properties()))
    assert fw.poll(create, 1) is None
    name = create["PhysicalResourceId"]

    deleted = fw.delete(name, world.properties())
    create_outcome = fw.poll(create, 2)
    world.expected_jobs = 1

    assert deleted.status == "SUCCESS"
    assert deleted.polls == 3  # waited through Stopping
    assert world.sagemaker.job(name).status == "Stopped"
    assert world.sagemaker.calls_of("StopTrainingJob") == [{"TrainingJobName": name}]
    assert create_outcome is not None and create_outcome.status == "FAILED"


def test_job_longer_than_the_wait_fails_clearly_and_is_stopped(world: World) -> None:
    world.sagemaker.plan.polls = 1000

    deployed = world.resource.deploy(world.properties(wait=600))
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert "still InProgress" in deployed.reason
    assert "longer than the deployment can wait (600 s)" in deployed.reason
    # The first poll past the limit (each poll's invocation delays the next wait a little).
    assert 600 // QUERY_INTERVAL + 1 <= deployed.polls <= 600 // QUERY_INTERVAL + 2
    job = next(iter(world.sagemaker.jobs.values()))
    assert job.status == "Stopped"  # by the rollback


def test_delete_after_failed_create(world: World) -> None:
    world.sagemaker.fail_next("CreateTrainingJob", "ValidationException", "bad image")

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 0

    assert deployed.status == "FAILED"
    assert deployed.physical_id == CREATE_FAILED_MARKER
    rollback = world.framework.responses[-1]
    assert (rollback.request_type, rollback.status) == ("Delete", "SUCCESS")
    assert [op for op, _ in world.sagemaker.calls] == ["CreateTrainingJob"]


def test_delete_of_already_deleted_job(world: World) -> None:
    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1
    world.sagemaker.jobs.pop(deployed.physical_id)  # deleted outside CloudFormation

    assert world.resource.destroy().status == "SUCCESS"


def test_vpc_enis_released_late(world: World) -> None:
    world.sagemaker.plan.eni_release_polls = 3
    deployed = world.resource.deploy(world.properties(removal="destroy", VpcConfig=VPC))
    world.expected_jobs = 1

    destroyed = world.resource.destroy()

    assert destroyed.status == "SUCCESS"
    # Polled until the interfaces were gone, and only then deleted the record.
    assert len(world.ec2.calls_of("DescribeNetworkInterfaces")) == 4
    assert destroyed.polls == 4
    assert world.sagemaker.deleted == [deployed.physical_id]
    filters = world.ec2.calls_of("DescribeNetworkInterfaces")[0]["Filters"]
    assert {"Name": "group-id", "Values": VPC["SecurityGroupIds"]} in filters


def test_vpc_eni_wait_is_bounded(world: World) -> None:
    world.sagemaker.plan.eni_release_polls = 10_000
    world.resource.deploy(world.properties(VpcConfig=VPC))
    world.expected_jobs = 1

    destroyed = world.resource.destroy()

    assert destroyed.status == "SUCCESS"
    limit = lifecycle.ENI_RELEASE_LIMIT.total_seconds()
    assert destroyed.polls <= limit // QUERY_INTERVAL + 2


# -- rollbacks (whole templates: tests/lambda_handler/test_update_rollback.py) ---------


def test_failed_replacement_rolls_back_to_the_old_job(world: World) -> None:
    first = world.resource.deploy(world.properties())
    world.sagemaker.plan = Plan(final="Failed", failure_reason="AlgorithmError: diverged")

    failed = world.resource.deploy(world.properties(HyperParameters={"num_round": "300"}))
    world.expected_jobs = 2  # the failed one, none in the rollback

    assert failed.status == "FAILED"
    assert failed.physical_id != first.physical_id  # the framework's isComplete path
    rollback = world.framework.responses[-2]
    assert (rollback.request_type, rollback.status) == ("Update", "SUCCESS")
    assert rollback.physical_id == first.physical_id
    assert rollback.data["ModelArtifacts"] == first.data["ModelArtifacts"]
    assert rollback.polls == 1  # answered at once
    assert world.resource.physical_id == first.physical_id
    # The cleanup Delete of the failed job left it as a record.
    cleanup = world.framework.responses[-1]
    assert (cleanup.request_type, cleanup.physical_id) == ("Delete", failed.physical_id)
    assert world.sagemaker.job(failed.physical_id).status == "Failed"


def _strip_library_tags(world: World, name: str) -> None:
    """Make ``name`` a job of release 0.1.0, which tagged only the request id."""
    tags = world.sagemaker.job(name).tags
    for key in (REQUEST_HASH_TAG, REPLACES_TAG):
        tags.pop(key, None)


@pytest.mark.parametrize("shape", ["previous", "response"])
def test_rollback_to_a_job_of_an_earlier_release(world: World, shape: str) -> None:
    old = world.properties()
    first = world.resource.deploy(old).physical_id
    _strip_library_tags(world, first)
    world.sagemaker.plan = Plan(final="Failed")
    new = world.properties(HyperParameters={"num_round": "300"})
    fw = world.framework
    failed = fw.run(fw.event("Update", new, PhysicalResourceId=first, OldResourceProperties=old))
    world.expected_jobs = 2

    physical_id = first if shape == "previous" else failed.physical_id
    rollback = world.resource.rollback(physical_id, failed=new, restored=old)

    assert rollback.status == "SUCCESS"
    assert rollback.physical_id == first
    assert len(world.creates()) == 2  # none in the rollback
    # Without the hash tag only the stack's status told the rollback.
    assert world.framework.cloudformation.calls_of("DescribeStacks") != []


def test_update_outside_a_rollback_still_replaces(world: World) -> None:
    # The job has no hash tag, and the stack is not rolling back: a real update.
    first = world.resource.deploy(world.properties()).physical_id
    _strip_library_tags(world, first)

    second = world.resource.deploy(world.properties(HyperParameters={"num_round": "300"}))
    world.expected_jobs = 2

    assert second.status == "SUCCESS"
    assert second.physical_id != first
    assert world.framework.cloudformation.calls_of("DescribeStacks") == [
        {"StackName": world.framework.event("Update", {})["StackId"]}
    ]


def test_rollback_to_a_job_deleted_outside_cloudformation_completes(world: World) -> None:
    old = world.properties()
    first = world.resource.deploy(old).physical_id
    world.sagemaker.plan = Plan(final="Failed")
    new = world.properties(HyperParameters={"num_round": "300"})
    failed = world.framework.update(first, old, new)
    world.expected_jobs = 2
    world.sagemaker.jobs.pop(first)  # deleted by hand

    rollback = world.resource.rollback(failed.physical_id, failed=new, restored=old)

    assert rollback.status == "SUCCESS"
    assert rollback.physical_id == first
    assert rollback.data["TrainingJobName"] == first


def test_stack_status_unreadable_fails_the_update_naming_the_permission(world: World) -> None:
    first = world.resource.deploy(world.properties()).physical_id
    world.framework.cloudformation.fail_next("DescribeStacks", "AccessDenied", "not authorized")

    response = world.resource.deploy(world.properties(HyperParameters={"num_round": "300"}))
    world.expected_jobs = 1

    assert response.status == "FAILED"
    assert "cloudformation:DescribeStacks" in response.reason
    assert world.resource.physical_id == first
