"""A hyperparameter tuning job through CloudFormation's lifecycle, with the same
rigour as a training job's: each scenario drives the handler through CloudFormation
(``Resource``) and the provider framework (``Framework``) against the model-validating
fake, on a simulated clock, with the request a real HyperparameterTuningJob renders.
After each: no tuning job left InProgress, no model artifact deleted, exactly the
expected CreateHyperParameterTuningJob calls."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    CategoricalRange,
    ContinuousRange,
    HyperparameterTuningJob,
    IntegerRange,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingOutput,
    TuningObjective,
)
from constructs_lib.handler import lifecycle, signal
from constructs_lib.handler.kinds import TUNING
from constructs_lib.handler.properties import (
    COMPLETION,
    HANDLE_URL,
    NAME_PREFIX,
    OWNER_TAG,
    REMOVAL_POLICY,
    REPLACES_TAG,
    REQUEST_HASH_TAG,
    WAIT_TIMEOUT,
)
from tests.deliver import concretize
from tests.fakes import FakeEC2, FakeSageMaker, runtime
from tests.harness import CREATE_FAILED_MARKER, Framework, Resource, cfn_strings

PREFIX = "ml-0a1b2c-tuning"


def _tuning_requests() -> dict[str, dict[str, Any]]:
    """The requests real constructs render (resolved, intrinsics made concrete)."""
    app = App()
    stack = Stack(app, "Tuned")
    bucket = s3.Bucket(stack, "Data")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=1,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)

    def tuning(construct_id: str, **training: Any) -> HyperparameterTuningJob:
        return HyperparameterTuningJob(
            stack,
            construct_id,
            training=TrainingDefinition(
                image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
                inputs=[
                    TrainingInput.from_bucket("train", bucket, "train/"),
                    TrainingInput.from_bucket("validation", bucket, "validation/"),
                ],
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
                hyperparameters={"objective": "reg:squarederror", "num_round": "50"},
                role=role,
                **training,
            ),
            objective=TuningObjective.minimize("validation:rmse"),
            ranges=[
                ContinuousRange("eta", 0.05, 0.5),
                IntegerRange("max_depth", 2, 8),
                CategoricalRange("booster", ["gbtree", "dart"]),
            ],
            max_jobs=6,
            max_parallel_jobs=2,
            tags={"team": "ml"},
        )

    jobs = {"plain": tuning("Tuning"), "vpc": tuning("InVpc", vpc=vpc)}
    return {name: concretize(stack.resolve(job.request)) for name, job in jobs.items()}


@pytest.fixture(scope="module")
def requests() -> dict[str, dict[str, Any]]:
    return _tuning_requests()


class World:
    """The fakes, the framework and one tuning resource, with the invariants."""

    def __init__(self, requests: dict[str, dict[str, Any]]) -> None:
        self.requests = requests
        self.sagemaker = FakeSageMaker()
        self.ec2 = FakeEC2(self.sagemaker)
        self.framework = Framework(self.sagemaker, self.ec2)
        self.framework.resource_type = TUNING.resource_type
        self.resource = Resource(self.framework)
        self.expected_jobs = 0

    def properties(
        self,
        removal: str = "retain",
        wait: int | None = 3300,
        variant: str = "plain",
        **changes: Any,
    ) -> dict[str, Any]:
        request = copy.deepcopy(self.requests[variant])
        for path, value in changes.items():
            *parents, last = path.split("__")
            target = request
            for parent in parents:
                target = target[parent]
            target[last] = value
        props: dict[str, Any] = {
            TUNING.request_property: request,
            NAME_PREFIX: PREFIX,
            REMOVAL_POLICY: removal,
        }
        if wait is not None:
            props[WAIT_TIMEOUT] = wait
        return cfn_strings(props)

    def creates(self) -> list[dict[str, Any]]:
        return self.sagemaker.calls_of("CreateHyperParameterTuningJob")

    def check_invariants(self) -> None:
        tunings = self.sagemaker.tuning_jobs.values()
        running = [j.name for j in tunings if j.status == "InProgress"]
        assert running == [], f"tuning jobs left running: {running}"
        produced = {j.artifact for j in self.sagemaker.jobs.values() if j.status == "Completed"}
        assert produced <= self.sagemaker.artifacts, "a model artifact was deleted"
        created = self.sagemaker.created
        assert len(created) == self.expected_jobs, (
            f"expected {self.expected_jobs} tuning jobs created, got {created}"
        )


@pytest.fixture
def world(requests: dict[str, dict[str, Any]]) -> Iterator[World]:
    world = World(requests)
    yield world
    world.check_invariants()


def test_happy_path_exposes_the_best_training_job(world: World) -> None:
    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS"
    name = deployed.physical_id
    assert len(name) <= 32 and TUNING.is_name(name) and name.startswith(f"{PREFIX}-")
    best = world.sagemaker.jobs[deployed.data["BestTrainingJobName"]]
    assert best.name.startswith(f"{name}-")
    assert deployed.data["BestModelArtifacts"] == best.artifact
    assert deployed.data["BestModelArtifacts"] in world.sagemaker.artifacts
    assert deployed.data["BestObjectiveMetric"] == "validation:rmse"
    assert float(deployed.data["BestObjectiveValue"]) == 0.25
    assert deployed.data["BestHyperParameter.eta"] == "0.21"
    assert deployed.data["HyperParameterTuningJobArn"].endswith(f"/{name.lower()}")
    [sent] = world.creates()
    tags = {tag["Key"]: tag["Value"] for tag in sent["Tags"]}
    assert tags["team"] == "ml" and tags[OWNER_TAG] and tags[REQUEST_HASH_TAG]
    # The best job's description was read for its artifacts.
    assert world.sagemaker.calls_of("DescribeTrainingJob") == [{"TrainingJobName": best.name}]

    assert world.resource.destroy().status == "SUCCESS"
    assert world.sagemaker.calls_of("StopHyperParameterTuningJob") == []
    assert world.sagemaker.deleted_tuning == []  # RETAIN


@pytest.mark.parametrize("final", ["Failed", "Stopped"])
def test_a_tuning_job_that_ends_without_completing_fails_the_deploy(
    world: World, final: str
) -> None:
    world.sagemaker.plan.final = final
    world.sagemaker.plan.failure_reason = "No training job succeeded after 5 attempts"

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert f"ended {final}" in deployed.reason
    assert deployed.polls == 3  # at once, not at the timeout
    if final == "Failed":
        assert "No training job succeeded after 5 attempts" in deployed.reason
        assert "6 failed" in deployed.reason
    assert "/aws/sagemaker/TrainingJobs" in deployed.reason
    assert world.framework.responses[-1].request_type == "Delete"
    assert world.framework.responses[-1].status == "SUCCESS"


def test_completed_without_a_best_training_job_fails_naming_the_objective(world: World) -> None:
    world.sagemaker.plan.best_job = False

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert "without a best training job" in deployed.reason
    assert "metric definition" in deployed.reason


def test_a_retried_create_adopts_its_own_tuning_job(world: World) -> None:
    event = world.framework.event("Create", world.properties())
    first = lifecycle.on_event(dict(event), world.framework.runtime)
    # The framework retries the same request (e.g. after a Lambda timeout).
    second = lifecycle.on_event(dict(event), world.framework.runtime)
    world.expected_jobs = 1

    assert first["PhysicalResourceId"] == second["PhysicalResourceId"]
    assert len(world.creates()) == 2  # the retry was refused, and adopted the job
    # Leave nothing running.
    world.resource.physical_id = first["PhysicalResourceId"]
    world.resource.properties = world.properties()
    world.resource.destroy()


def test_a_name_taken_by_another_job_fails_with_the_fix(world: World) -> None:
    properties = world.properties(HyperParameterTuningJobName="fixed-tuning")
    world.sagemaker.create_hyper_parameter_tuning_job(
        **{**lifecycle.render_request(properties, world.sagemaker, TUNING), "Tags": []}
    )
    world.sagemaker.tuning_jobs["fixed-tuning"].status = "Completed"

    deployed = world.resource.deploy(properties)
    world.expected_jobs = 1  # the other one; this deploy's attempt was refused

    assert deployed.status == "FAILED"
    assert "fixed-tuning is already in use" in deployed.reason
    assert "tuning_job_name" in deployed.reason


@pytest.mark.parametrize(("removal", "deleted"), [("retain", []), ("destroy", [True])])
def test_delete_stops_a_running_tuning_job_and_waits(
    world: World, removal: str, deleted: list[bool]
) -> None:
    world.sagemaker.plan.polls = 1000  # still tuning when the stack is deleted
    world.sagemaker.plan.stop_polls = 3
    properties = world.properties(removal=removal, wait=None)
    properties[COMPLETION] = "created"
    created = world.resource.deploy(properties)
    world.expected_jobs = 1
    assert created.status == "SUCCESS"
    assert {"HyperParameterTuningJobName", "HyperParameterTuningJobArn"} <= set(created.data)
    assert not [key for key in created.data if key.startswith("Best")]

    destroyed = world.resource.destroy()

    assert destroyed.status == "SUCCESS"
    name = created.physical_id
    assert world.sagemaker.calls_of("StopHyperParameterTuningJob") == [
        {"HyperParameterTuningJobName": name}
    ]
    assert destroyed.polls >= 3  # waited for Stopping to end
    assert (world.sagemaker.deleted_tuning == [name]) == bool(deleted)
    if not deleted:
        assert world.sagemaker.tuning_job(name).status == "Stopped"


def test_tags_change_in_place(world: World) -> None:
    first = world.resource.deploy(world.properties())
    changed = world.properties(Tags=[{"Key": "team", "Value": "research"}])

    updated = world.resource.deploy(changed)
    world.expected_jobs = 1

    assert updated.status == "SUCCESS"
    assert updated.physical_id == first.physical_id
    [added] = world.sagemaker.calls_of("AddTags")
    assert added["Tags"] == [{"Key": "team", "Value": "research"}]
    assert "hyper-parameter-tuning-job/" in added["ResourceArn"]


def test_a_changed_range_replaces_the_tuning_job(world: World) -> None:
    first = world.resource.deploy(world.properties())
    ranges = copy.deepcopy(
        world.requests["plain"]["HyperParameterTuningJobConfig"]["ParameterRanges"]
    )
    ranges["ContinuousParameterRanges"][0]["MaxValue"] = "0.9"

    updated = world.resource.deploy(
        world.properties(HyperParameterTuningJobConfig__ParameterRanges=ranges)
    )
    world.expected_jobs = 2

    assert updated.status == "SUCCESS"
    assert updated.physical_id != first.physical_id
    new = world.sagemaker.tuning_job(updated.physical_id)
    assert new.tags[REPLACES_TAG] == first.physical_id
    # CloudFormation's cleanup Delete of the replaced (ended) job: nothing to stop.
    assert world.sagemaker.calls_of("StopHyperParameterTuningJob") == []


def test_a_failed_replacement_rolls_back_to_the_old_job_without_starting_one(
    world: World,
) -> None:
    first = world.resource.deploy(world.properties())
    world.sagemaker.plan.final = "Failed"

    updated = world.resource.deploy(
        world.properties(HyperParameterTuningJobConfig__ResourceLimits__MaxParallelTrainingJobs=3)
    )
    world.expected_jobs = 2  # the first, and the replacement that failed

    assert updated.status == "FAILED"
    assert world.resource.physical_id == first.physical_id
    rollback = world.framework.responses[-2]
    assert rollback.request_type == "Update" and rollback.status == "SUCCESS"
    assert rollback.data["BestModelArtifacts"] in world.sagemaker.artifacts


def test_a_fixed_name_that_would_need_replacing_fails_with_the_fix(world: World) -> None:
    fixed = world.resource.deploy(world.properties(HyperParameterTuningJobName="fixed-one"))
    world.expected_jobs = 1
    assert fixed.physical_id == "fixed-one"

    updated = world.resource.deploy(
        world.properties(
            HyperParameterTuningJobName="fixed-one",
            HyperParameterTuningJobConfig__ResourceLimits__MaxParallelTrainingJobs=3,
        )
    )

    assert updated.status == "FAILED"
    assert "only tags change in place" in updated.reason
    assert "tuning_job_name" in updated.reason


def test_the_deadline_fails_the_deploy_and_the_rollback_stops_the_job(world: World) -> None:
    world.sagemaker.plan.polls = 1000

    deployed = world.resource.deploy(world.properties(wait=600))
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert "longer than the deployment can wait" in deployed.reason
    assert world.sagemaker.calls_of("StopHyperParameterTuningJob")


def test_throttling_and_role_propagation_are_retried(world: World) -> None:
    world.sagemaker.fail_next(
        "CreateHyperParameterTuningJob",
        "ValidationException",
        "Could not assume role arn:aws:iam::123456789012:role/x",
        times=2,
    )
    world.sagemaker.fail_next("DescribeHyperParameterTuningJob", "ThrottlingException", times=2)

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS"
    assert len(world.sagemaker.calls_of("CreateHyperParameterTuningJob")) == 3


def test_a_vpc_tuning_job_delete_waits_for_its_network_interfaces(world: World) -> None:
    world.sagemaker.plan.eni_release_polls = 2
    deployed = world.resource.deploy(world.properties(variant="vpc"))
    world.expected_jobs = 1
    assert deployed.status == "SUCCESS"

    destroyed = world.resource.destroy()

    assert destroyed.status == "SUCCESS"
    assert len(world.ec2.calls_of("DescribeNetworkInterfaces")) == 3
    assert destroyed.polls == 3


def test_many_tuned_hyperparameters_stay_within_the_response_limit(world: World) -> None:
    world.sagemaker.plan.tuned = {f"h{index:03d}": "x" * 40 for index in range(100)}

    deployed = world.resource.deploy(world.properties())  # the harness checks < 4 KB
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS"
    kept = [key for key in deployed.data if key.startswith("BestHyperParameter.")]
    assert 0 < len(kept) < 100


def test_a_create_failing_before_a_job_exists_deletes_cleanly(world: World) -> None:
    world.sagemaker.fail_next("CreateHyperParameterTuningJob", "ResourceLimitExceeded", times=1)

    deployed = world.resource.deploy(world.properties())
    world.expected_jobs = 0  # refused

    assert deployed.status == "FAILED"
    assert deployed.physical_id == CREATE_FAILED_MARKER
    assert "Service Quotas" in deployed.reason
    assert world.framework.responses[-1].status == "SUCCESS"


# -- wait_condition mode: the result and signal resources of a tuning job -----------


def test_result_and_signal_resources_of_a_tuning_job(world: World) -> None:
    properties = world.properties(wait=None)
    properties[COMPLETION] = "created"
    created = world.resource.deploy(properties)
    world.expected_jobs = 1
    name = created.physical_id
    puts: list[tuple[str, dict[str, Any]]] = []
    world.framework.runtime.put = lambda url, body: puts.append((url, body))
    fw = world.framework

    fw.resource_type = TUNING.signal_resource_type
    url = "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/handle"
    early = fw.run(fw.event("Create", {TUNING.name_property: name, HANDLE_URL: url}))
    assert early.status == "SUCCESS" and puts == []  # still tuning: the rule will signal

    fw.resource_type = TUNING.result_resource_type
    result = fw.run(fw.event("Create", {TUNING.name_property: name, WAIT_TIMEOUT: "3300"}))
    assert result.status == "SUCCESS"
    assert result.data["BestModelArtifacts"] in world.sagemaker.artifacts

    fw.resource_type = TUNING.signal_resource_type
    late = fw.run(fw.event("Create", {TUNING.name_property: name, HANDLE_URL: url}))
    assert late.status == "SUCCESS"
    [(sent_url, body)] = puts
    assert sent_url == url and body["Status"] == "SUCCESS" and body["UniqueId"] == name
    assert body["Reason"] == f"Hyperparameter tuning job {name} completed"


def test_the_signaller_reads_tuning_state_change_events() -> None:
    puts: list[dict[str, Any]] = []
    url = "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/handle"
    detail = {
        "HyperParameterTuningJobName": "ml-0a1b2c-tun-0123456789ab",
        "HyperParameterTuningJobStatus": "Failed",
        "FailureReason": "No training job succeeded",
    }
    event = {"handleUrl": url, "jobName": detail["HyperParameterTuningJobName"], "kind": "tuning"}

    outcome = signal.handle_event({**event, "detail": detail}, lambda _u, body: puts.append(body))
    training_shaped = signal.handle_event(
        {**event, "kind": None, "detail": detail}, lambda _u, body: puts.append(body)
    )

    assert outcome.startswith("signalled FAILURE")
    assert "No training job succeeded" in puts[0]["Reason"]
    assert "streams ml-0a1b2c-tun-0123456789ab-*" in puts[0]["Reason"]
    assert training_shaped.startswith("ignored")  # read as a training job's event
    assert len(puts) == 1


def test_the_requests_the_constructs_render_pass_botocore(requests: dict[str, Any]) -> None:
    sagemaker = FakeSageMaker()
    framework = Framework(sagemaker)
    framework.resource_type = TUNING.resource_type
    for rendered in requests.values():
        properties = cfn_strings({TUNING.request_property: rendered, NAME_PREFIX: PREFIX})
        lifecycle.on_event(framework.event("Create", properties), runtime(sagemaker))
    sent = sagemaker.calls_of("CreateHyperParameterTuningJob")
    assert len(sent) == len(requests)
    definition = sent[1]["TrainingJobDefinition"]
    assert definition["VpcConfig"]["Subnets"] and definition["StaticHyperParameters"]
    assert sent[0]["HyperParameterTuningJobConfig"]["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": 6,
        "MaxParallelTrainingJobs": 2,
        "MaxRuntimeInSeconds": 2700,
    }


def test_a_prefix_without_usable_characters_falls_back_to_the_kinds_default() -> None:
    name = lifecycle.generated_name(
        "!!!",
        stack_id="s",
        logical_id="l",
        request_id="r",
        max_length=TUNING.max_name_length,
        default_prefix=TUNING.default_prefix,
    )
    assert name.startswith("tuning-") and TUNING.is_name(name)
