"""TrainingQueue and queued TrainingJobs at synth: the service environment, job queue
and fair-share policy Batch needs; the job's queue settings on its resource; the
provider's permissions on exactly the stack's queues; each mistake a clear error;
and the resource's properties driven through the real handler."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import (
    Completion,
    ContinuousRange,
    FairShare,
    HyperparameterTuningJob,
    TrainingDefinition,
    TrainingImage,
    TrainingJob,
    TrainingOutput,
    TrainingQueue,
    TuningObjective,
)
from constructs_lib.handler.properties import QUEUE, REQUEST
from constructs_lib.testing import warnings
from tests.deliver import concretize
from tests.harness import cfn_strings
from tests.lambda_handler.test_queued_lifecycle import QueuedWorld
from tests.nag import findings

QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/platform-gpus"


def _stack() -> Stack:
    return Stack(App(), "Queues", env=Environment(account="123456789012", region="us-east-1"))


def _job(stack: Stack, construct_id: str, **props: Any) -> TrainingJob:
    bucket = stack.node.try_find_child("Data") or s3.Bucket(stack, "Data")
    return TrainingJob(
        stack,
        construct_id,
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        output=TrainingOutput.to_bucket(bucket, "models/"),  # type: ignore[arg-type]
        **props,
    )


@pytest.fixture(scope="module")
def built() -> tuple[Stack, Template, TrainingJob, TrainingQueue]:
    stack = _stack()
    queue = TrainingQueue(
        stack,
        "Gpus",
        max_instances=8,
        priority=5,
        fair_share=FairShare(
            shares={"vision": 1, "nlp": 2.5}, decay=Duration.hours(1), compute_reservation=10
        ),
    )
    job = _job(
        stack,
        "Train",
        queue=queue,
        share="vision",
        scheduling_priority=20,
        completion=Completion.wait(),
    )
    platform = TrainingQueue.from_job_queue_arn(stack, "Platform", QUEUE_ARN, max_instances=4)
    _job(stack, "OnPlatform", queue=platform)
    submitter = iam.Role(stack, "Submitter", assumed_by=iam.AccountRootPrincipal())
    queue.grant_submit(submitter)
    return stack, Template.from_stack(stack), job, queue


def test_the_queue_is_a_service_environment_and_a_job_queue(built: Any) -> None:
    stack, template, _, queue = built
    template.has_resource_properties(
        "AWS::Batch::ServiceEnvironment",
        {
            "ServiceEnvironmentType": "SAGEMAKER_TRAINING",
            "CapacityLimits": [{"CapacityUnit": "NUM_INSTANCES", "MaxCapacity": 8}],
        },
    )
    template.has_resource_properties(
        "AWS::Batch::SchedulingPolicy",
        {
            "FairsharePolicy": {
                "ShareDecaySeconds": 3600,
                "ComputeReservation": 10,
                "ShareDistribution": [
                    {"ShareIdentifier": "nlp", "WeightFactor": 2.5},
                    {"ShareIdentifier": "vision", "WeightFactor": 1},
                ],
            }
        },
    )
    environment = stack.get_logical_id(queue.service_environment)
    policy = stack.get_logical_id(queue.scheduling_policy)
    template.has_resource_properties(
        "AWS::Batch::JobQueue",
        {
            "JobQueueType": "SAGEMAKER_TRAINING",
            "Priority": 5,
            "SchedulingPolicyArn": {"Fn::GetAtt": [policy, "Arn"]},
            "ServiceEnvironmentOrder": [
                {
                    "Order": 1,
                    "ServiceEnvironment": {"Fn::GetAtt": [environment, "ServiceEnvironmentArn"]},
                }
            ],
        },
    )


def test_the_job_carries_its_queue_settings(built: Any) -> None:
    stack, template, job, queue = built
    resource = template.to_json()["Resources"][
        stack.get_logical_id(job.resource.node.default_child)
    ]
    queue_id = stack.get_logical_id(queue.job_queue)
    assert resource["Properties"][QUEUE] == {
        "JobQueue": {"Fn::GetAtt": [queue_id, "JobQueueArn"]},
        "SchedulingPriority": 20,
        "ShareIdentifier": "vision",
    }
    assert "QuotaWaitSeconds" not in resource["Properties"]
    # A queued job's training job is named by Batch: its name is an attribute.
    assert stack.resolve(job.training_job_name) == {
        "Fn::GetAtt": [stack.get_logical_id(job.resource.node.default_child), "TrainingJobName"]
    }


def test_a_queued_job_waits_for_batchs_event_by_default(built: Any) -> None:
    """The time queued is unknown at synth: by default a wait condition of the
    longest wait (12 hours), signalled by the end of the job's service job."""
    stack, template, _, _ = built
    on_platform = stack.node.find_child("OnPlatform")
    assert isinstance(on_platform, TrainingJob) and on_platform.wait_condition is not None
    condition = template.to_json()["Resources"][stack.get_logical_id(on_platform.wait_condition)]
    assert condition["Properties"]["Timeout"] == "43200"
    job_id = stack.get_logical_id(on_platform.resource.node.default_child)
    rules = [
        r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("source") == ["aws.batch"]
    ]
    assert [r["EventPattern"] for r in rules] == [
        {
            "source": ["aws.batch"],
            "detail-type": ["Batch Service Job State Change"],
            "detail": {"jobArn": [{"Ref": job_id}], "status": ["SUCCEEDED", "FAILED"]},
        }
    ]
    resource = template.to_json()["Resources"][job_id]["Properties"]
    assert resource["CompletionMode"] == "created"


def test_a_queued_jobs_state_change_rules_follow_its_service_job() -> None:
    """Batch names the training job at deploy: a user's rule on a queued job matches
    its service job's events, the training job's statuses mapped to Batch's."""
    stack = _stack()
    queue = TrainingQueue(stack, "Small", max_instances=2)
    job = _job(stack, "Job", queue=queue)
    job.on_failed("Failed")
    job.on_state_change("Running", statuses=["InProgress"])
    job.on_state_change("Any")
    job_id = stack.get_logical_id(job.resource.node.default_child)
    resources = Template.from_stack(stack).to_json()["Resources"]
    patterns = {
        name: resources[stack.get_logical_id(job.node.find_child(name).node.default_child)][
            "Properties"
        ]["EventPattern"]["detail"]
        for name in ("Failed", "Running", "Any")
    }
    assert patterns == {
        "Failed": {"jobArn": [{"Ref": job_id}], "status": ["FAILED"]},
        "Running": {"jobArn": [{"Ref": job_id}], "status": ["SCHEDULED", "STARTING", "RUNNING"]},
        "Any": {"jobArn": [{"Ref": job_id}]},
    }


def test_a_queued_job_polled_within_the_hour_is_warned_of_its_queue_room(built: Any) -> None:
    """With Completion.wait() the hour holds the queue and the run: a 45-minute run
    leaves 10 minutes; the default wait (Batch's event, 12 hours) is not warned of."""
    stack = built[0]
    found = [w for w in warnings(stack) if "constructs-lib:queued-wait" in w]
    assert [w.split(": ", 1)[0] for w in found] == ["/Queues/Train"]
    assert "its run may take 45, which leaves 10 minutes for the queue" in found[0]


def _provider_statements(stack: Stack, template: Template) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for resource in template.find_resources("AWS::IAM::Role").values():
        for policy in resource["Properties"].get("Policies", []):
            statements.extend(policy["PolicyDocument"]["Statement"])
    for resource in template.find_resources("AWS::IAM::Policy").values():
        statements.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    return statements


def test_the_provider_submits_to_exactly_the_stacks_queues(built: Any) -> None:
    stack, template, _, queue = built
    statements = _provider_statements(stack, template)
    submits = [s for s in statements if "batch:SubmitServiceJob" in str(s["Action"])]
    resources = [
        r
        for s in submits
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    queue_arn = {"Fn::GetAtt": [stack.get_logical_id(queue.job_queue), "JobQueueArn"]}
    # The provider's statement names both queues; the submitter's grant names one.
    assert resources.count(queue_arn) == 2 and QUEUE_ARN in resources
    assert all(r in (queue_arn, QUEUE_ARN) for r in resources)
    jobs = [s for s in statements if "batch:TerminateServiceJob" in str(s["Action"])]
    assert jobs and all("service-job/*" in str(s["Resource"]) for s in jobs)
    # The training jobs Batch starts for this stack's jobs, by their name prefix.
    training = [s for s in statements if "sagemaker:StopTrainingJob" in str(s["Action"])]
    assert any("training-job/AWSBatch" in str(s["Resource"]) for s in training)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"share": "vision"}, "share: 'vision' is invalid without a queue"),
        ({"queue": "small", "instance_count": 3}, "needs 3 instances, more than queue"),
        ({"queue": "fair"}, "share: (missing) is invalid: queue"),
        ({"queue": "small", "share": "vision"}, "has no fair-share policy"),
        (
            {"queue": "small", "scheduling_priority": 10_000},
            "scheduling_priority: 10000 is invalid",
        ),
        ({"queue": "small", "max_quota_wait": Duration.minutes(5)}, "max_quota_wait: a queued job"),
    ],
)
def test_mistakes_are_clear_errors(props: dict[str, Any], message: str) -> None:
    stack = _stack()
    queues = {
        "small": TrainingQueue(stack, "Small", max_instances=2),
        "fair": TrainingQueue(
            stack, "Fair", max_instances=2, fair_share=FairShare(shares={"a": 1})
        ),
    }
    if isinstance(props.get("queue"), str):
        props = {**props, "queue": queues[props["queue"]]}
    with pytest.raises(ValueError, match="Queues/Job") as raised:
        _job(stack, "Job", **props)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"max_instances": 0}, "max_instances: 0 must be a whole number of at least 1"),
        ({"max_instances": 1, "priority": 1001}, "priority: 1001 must be between 0 and 1000"),
        (
            {"max_instances": 1, "fair_share": FairShare(shares={"a": 0})},
            "fair_share.shares['a']: weight 0 must be between",
        ),
        (
            {"max_instances": 1, "fair_share": FairShare(shares={"a": 1}, decay=Duration.days(8))},
            "fair_share.decay: 691200 s is more than Batch's 7 days",
        ),
    ],
)
def test_queue_mistakes_are_clear_errors(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="Queues/Queue") as raised:
        TrainingQueue(_stack(), "Queue", **props)
    assert message in str(raised.value)


@pytest.mark.parametrize("member", ["training_job_name", "training_job_arn", "model_data_url"])
def test_a_queued_job_not_waited_for_has_no_name_yet(member: str) -> None:
    stack = _stack()
    queue = TrainingQueue(stack, "Small", max_instances=2)
    job = _job(stack, "Job", queue=queue, completion=Completion.none())
    with pytest.raises(ValueError, match=rf"\[Queues/Job\] {member}: not available"):
        getattr(job, member)


def test_grant_submit_leaves_no_finding_of_its_own() -> None:
    """The service-job wildcard of grant_submit (Batch picks the ids) is acknowledged
    on the grantee, with the reason."""

    def build(app: App) -> None:
        stack = Stack(app, "Granted")
        queue = TrainingQueue(stack, "Queue", max_instances=2)
        role = iam.Role(stack, "Submitter", assumed_by=iam.AccountRootPrincipal())
        queue.grant_submit(role)

    found = [f for f in findings(build) if "/Submitter" in f]
    assert [f for f in found if "service-job" in f] == []
    # What remains is the packs' view of the user's own role (its default inline
    # policy): the packs ran, and the library acknowledges nothing of the user's.
    assert {f.split(" @ ")[0].split("-", 1)[1] for f in found} == {"IAMNoInlinePolicy"}


def test_a_tuning_job_cannot_be_queued() -> None:
    stack = _stack()
    bucket = s3.Bucket(stack, "Data")
    queue = TrainingQueue(stack, "Small", max_instances=2)
    with pytest.raises(ValueError, match=r"\[Queues/Tuning\] queue: Queues/Small is invalid"):
        HyperparameterTuningJob(
            stack,
            "Tuning",
            training=TrainingDefinition(
                image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
            ),
            objective=TuningObjective.minimize("validation:rmse"),
            ranges=[ContinuousRange("eta", 0.1, 0.5)],
            queue=queue,
        )


def test_an_imported_queue_needs_a_job_queue_arn() -> None:
    with pytest.raises(ValueError, match="job_queue_arn: 'arn:aws:batch:us-east-1:1:job/x'"):
        TrainingQueue.from_job_queue_arn(_stack(), "Bad", "arn:aws:batch:us-east-1:1:job/x")


def test_the_constructs_properties_run_through_the_handler(built: Any) -> None:
    stack, template, job, _ = built
    properties = template.to_json()["Resources"][
        stack.get_logical_id(job.resource.node.default_child)
    ]["Properties"]
    world = QueuedWorld()
    world.batch.plan.queued_polls = 3
    handler_properties = cfn_strings(
        {
            **{k: v for k, v in properties.items() if k not in ("ServiceToken", REQUEST, QUEUE)},
            REQUEST: concretize(properties[REQUEST]),
            QUEUE: {**properties[QUEUE], "JobQueue": QUEUE_ARN},
        }
    )

    deployed = world.resource.deploy(handler_properties)
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    [submitted] = world.submits()
    assert (submitted["schedulingPriority"], submitted["shareIdentifier"]) == (20, "vision")
    assert deployed.data["TrainingJobName"].startswith("AWSBatch")
    assert world.resource.destroy().status == "SUCCESS"
    world.check_invariants()
