"""Training jobs through an AWS Batch queue, through CloudFormation's lifecycle: the
handler submits a service job (the CreateTrainingJob request as its payload, which
the fake Batch hands to the fake SageMaker, both validated against botocore's
models), waits through Batch's states, reads the attributes from the training job
Batch started, fails with Batch's reason, terminates on delete, and resubmits
nothing on a retried Create or during a rollback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from constructs_lib.handler import lifecycle, signal
from constructs_lib.handler.properties import QUEUE, REQUEST
from constructs_lib.handler.queued import SERVICE_JOB_ARN, client_token, training_job_names
from tests.fakes import FakeBatch, ModelValidationError
from tests.harness import Framework, Resource, cfn_strings
from tests.lambda_handler.test_lifecycle_harness import World

QUEUE_ARN = "arn:aws:batch:us-east-1:123456789012:job-queue/training"


class QueuedWorld(World):
    def __init__(self) -> None:
        super().__init__()
        self.batch = FakeBatch(self.sagemaker)
        self.framework = Framework(self.sagemaker, self.ec2, batch=self.batch)
        self.resource = Resource(self.framework)

    def queued(self, queue: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
        properties = self.properties(**overrides)
        properties[QUEUE] = cfn_strings(queue or {"JobQueue": QUEUE_ARN})
        return properties

    def submits(self) -> list[dict[str, Any]]:
        return self.batch.calls_of("SubmitServiceJob")


@pytest.fixture
def world() -> Iterator[QueuedWorld]:
    world = QueuedWorld()
    yield world
    world.check_invariants()
    running = [
        job.name for job in world.batch.jobs.values() if job.status not in ("SUCCEEDED", "FAILED")
    ]
    assert running == [], f"service jobs left waiting or running: {running}"


def test_a_queued_job_waits_for_capacity_then_completes(world: QueuedWorld) -> None:
    world.batch.plan.queued_polls = 5
    properties = world.queued(
        {"JobQueue": QUEUE_ARN, "SchedulingPriority": 10, "ShareIdentifier": "team-a"}
    )

    deployed = world.resource.deploy(properties)
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    [submitted] = world.submits()
    service_job = next(iter(world.batch.jobs.values()))
    assert deployed.physical_id == service_job.arn
    assert submitted["jobQueue"] == QUEUE_ARN
    assert submitted["serviceJobType"] == "SAGEMAKER_TRAINING"
    assert (submitted["schedulingPriority"], submitted["shareIdentifier"]) == (10, "team-a")
    # The payload is the rendered CreateTrainingJob request under the job's name; the
    # library's tags go on the service job, which gives them to the training job.
    payload = json.loads(submitted["serviceRequestPayload"])
    assert payload["TrainingJobName"] == submitted["jobName"]
    assert payload["AlgorithmSpecification"] == properties[REQUEST]["AlgorithmSpecification"]
    assert "Tags" not in payload
    assert "constructs-lib:cfn-request-id" in submitted["tags"]
    # Attributes from the training job Batch started, not the submitted name.
    [trained] = world.sagemaker.created
    assert trained.startswith("AWSBatch") and trained != submitted["jobName"]
    assert deployed.data["TrainingJobName"] == trained
    assert deployed.data["ModelArtifacts"] == world.sagemaker.jobs[trained].artifact
    assert deployed.data[SERVICE_JOB_ARN] == service_job.arn
    # It waited through SUBMITTED and RUNNABLE: described while queued, then running.
    assert service_job.describes > 5
    assert world.resource.destroy().status == "SUCCESS"
    assert world.batch.calls_of("TerminateServiceJob") == []  # it had ended


def test_a_failed_training_job_fails_the_deploy_with_batchs_reason(world: QueuedWorld) -> None:
    world.sagemaker.plan.final = "Failed"
    world.sagemaker.plan.failure_reason = "AlgorithmError: out of memory"

    deployed = world.resource.deploy(world.queued())
    world.expected_jobs = 1

    assert deployed.status == "FAILED"
    assert "failed in AWS Batch queue" in deployed.reason
    assert "Received status from SageMaker: AlgorithmError: out of memory" in deployed.reason
    assert "AlgorithmError: out of memory" in deployed.reason.split("Its training job:")[1]


@pytest.mark.parametrize("queued_polls", [50, 1])
def test_delete_terminates_a_waiting_or_running_job_and_waits(
    world: QueuedWorld, queued_polls: int
) -> None:
    """Delete while RUNNABLE (no training job yet) and while RUNNING (Batch stops the
    training job; the delete waits until it stopped)."""
    world.batch.plan.queued_polls = queued_polls
    world.sagemaker.plan.polls = 10_000
    world.sagemaker.plan.stop_polls = 3
    fw = world.framework
    event, failed = fw.start(fw.event("Create", world.queued()))
    assert failed is None
    for _ in range(4):
        answer = lifecycle.is_complete(dict(event), fw.runtime)
        # Not complete; the last status logged goes with the waiter's event.
        assert answer["IsComplete"] is False
        assert set(answer) == {"IsComplete", "Progress"}
    service_job = next(iter(world.batch.jobs.values()))
    started = bool(service_job.attempts)
    assert started == (queued_polls == 1)
    world.expected_jobs = 1 if started else 0

    deleted = fw.run(
        fw.event("Delete", world.queued(), PhysicalResourceId=event["PhysicalResourceId"])
    )

    assert deleted.status == "SUCCESS", deleted.reason
    [terminate] = world.batch.calls_of("TerminateServiceJob")
    assert terminate["jobId"] == service_job.arn
    assert service_job.status == "FAILED" and service_job.terminated
    if started:
        assert world.sagemaker.jobs[service_job.attempts[0]].status == "Stopped"


def test_a_retried_create_submits_with_the_same_token_and_keeps_one_job(
    world: QueuedWorld,
) -> None:
    fw = world.framework
    event = fw.event("Create", world.queued())
    first = lifecycle.on_event(dict(event), fw.runtime)
    again = lifecycle.on_event(dict(event), fw.runtime)  # Lambda retried the invocation

    assert first["PhysicalResourceId"] == again["PhysicalResourceId"]
    tokens = {call["clientToken"] for call in world.submits()}
    assert tokens == {client_token(event)} and len(world.submits()) == 2
    assert len(world.batch.jobs) == 1
    done = fw.run(
        fw.event("Delete", world.queued(), PhysicalResourceId=first["PhysicalResourceId"])
    )
    assert done.status == "SUCCESS"


def test_a_change_resubmits_and_a_rollback_submits_nothing(world: QueuedWorld) -> None:
    deployed = world.resource.deploy(world.queued())
    assert deployed.status == "SUCCESS", deployed.reason
    world.sagemaker.plan.final = "Failed"

    updated = world.resource.deploy(
        world.queued(
            ResourceConfig={
                "InstanceType": "ml.m5.2xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
            }
        )
    )
    world.expected_jobs = 2

    assert updated.status == "FAILED"
    # The update submitted one new job; the rollback returned to the first, submitting
    # nothing, and the failed one was deleted (it had ended).
    assert len(world.submits()) == 2
    assert world.resource.physical_id == deployed.physical_id
    assert len(world.batch.jobs) == 2


def test_a_change_in_place_updates_the_started_training_job(world: QueuedWorld) -> None:
    deployed = world.resource.deploy(world.queued())
    assert deployed.status == "SUCCESS", deployed.reason
    world.expected_jobs = 1

    retagged = world.resource.deploy(world.queued(Tags=[{"Key": "team", "Value": "vision"}]))

    assert retagged.status == "SUCCESS", retagged.reason
    assert retagged.physical_id == deployed.physical_id
    assert len(world.submits()) == 1
    trained = world.sagemaker.jobs[deployed.data["TrainingJobName"]]
    assert trained.tags["team"] == "vision"


def test_preempted_attempts_are_retried_and_the_last_decides(world: QueuedWorld) -> None:
    world.batch.plan.preemptions = 2

    deployed = world.resource.deploy(world.queued(removal="destroy"))
    world.expected_jobs = 3

    assert deployed.status == "SUCCESS", deployed.reason
    service_job = next(iter(world.batch.jobs.values()))
    names = training_job_names(world.batch.describe_service_job(jobId=service_job.arn))
    # ARNs carry names in lower case; SageMaker's names are unique regardless of case.
    assert len(names) == 3 and deployed.data["TrainingJobName"].lower() == names[-1]
    statuses = [world.sagemaker._job(n, "test").status for n in names]
    assert statuses == ["Stopped", "Stopped", "Completed"]
    assert world.resource.destroy().status == "SUCCESS"
    # DESTROY deletes every attempt's record.
    assert sorted(n.lower() for n in world.sagemaker.deleted) == sorted(names)


def test_a_retried_attempt_that_completes_decides(world: QueuedWorld) -> None:
    """Batch retried the job after its first training job failed (an internal
    error): the deploy succeeds on the second attempt's training job."""
    world.batch.plan.retries = 1

    deployed = world.resource.deploy(world.queued())
    world.expected_jobs = 2

    assert deployed.status == "SUCCESS", deployed.reason
    service_job = next(iter(world.batch.jobs.values()))
    first, second = service_job.attempts
    assert world.sagemaker.jobs[first].status == "Failed"
    assert deployed.data["TrainingJobName"] == second
    assert deployed.data["ModelArtifacts"] == world.sagemaker.jobs[second].artifact


def test_a_payload_sagemaker_would_refuse_is_refused_by_the_fake(world: QueuedWorld) -> None:
    """The fake checks what the handler submits as SageMaker would check it."""
    with pytest.raises(ModelValidationError, match="CreateTrainingJob request"):
        world.batch.submit_service_job(
            jobName="x",
            jobQueue=QUEUE_ARN,
            serviceJobType="SAGEMAKER_TRAINING",
            serviceRequestPayload=json.dumps({"TrainingJobName": "x", "Bogus": 1}),
        )


def test_batchs_events_signal_only_their_own_jobs_end() -> None:
    """The signal function reads a queued job's events (Batch's): the job's own end
    signals (FAILED with Batch's reason), another job's or a running one's do not."""
    arn = "arn:aws:batch:us-east-1:123456789012:service-job/abc"
    url = "https://cloudformation-waitcondition-us-east-1.s3.amazonaws.com/h?sig=x"
    sent: list[dict[str, Any]] = []

    def event(detail: dict[str, Any]) -> dict[str, Any]:
        return {"handleUrl": url, "jobName": arn, "kind": "queued", "detail": detail}

    put = lambda _url, body: sent.append(body)  # noqa: E731
    other = {"jobArn": arn.replace("abc", "xyz"), "status": "SUCCEEDED"}
    assert signal.handle_event(event(other), put).startswith("ignored: the event is about")
    assert signal.handle_event(event({"jobArn": arn, "status": "RUNNING"}), put) == (
        "ignored: status 'RUNNING' is not an end"
    )
    failed = {"jobArn": arn, "jobName": "train-1", "status": "FAILED", "statusReason": "OOM"}
    assert signal.handle_event(event(failed), put) == f"signalled FAILURE for {arn} (FAILED)"
    [body] = sent
    assert body["Status"] == "FAILURE" and body["UniqueId"] == "train-1"
    assert "failed in its AWS Batch queue (FAILED): OOM" in body["Reason"]


def test_a_refused_describe_is_an_error_not_a_job_that_is_gone(world: QueuedWorld) -> None:
    """Delete must not call a job gone that Batch only refused to describe: a
    ClientException without 'not found' fails the delete (CloudFormation retries);
    Batch's 'not found' lets it complete."""
    fw = world.framework
    event, _ = fw.start(fw.event("Create", world.queued()))
    arn = event["PhysicalResourceId"]
    world.batch.fail_next("DescribeServiceJob", "ClientException", "Rate of requests exceeded")
    refused = fw.run(fw.event("Delete", world.queued(), PhysicalResourceId=arn))
    assert refused.status == "FAILED" and "Rate of requests exceeded" in refused.reason
    assert fw.run(fw.event("Delete", world.queued(), PhysicalResourceId=arn)).status == "SUCCESS"
    unknown = arn.replace("00000001", "99999999")
    assert (
        fw.run(fw.event("Delete", world.queued(), PhysicalResourceId=unknown)).status == "SUCCESS"
    )


@pytest.mark.parametrize("operation", ["SubmitServiceJob", "DescribeServiceJob"])
def test_batch_throttled_for_150_seconds_is_waited_out_at_the_next_polls(
    world: QueuedWorld, operation: str
) -> None:
    world.batch.throttle(operation, 150)

    deployed = world.resource.deploy(world.queued())
    world.expected_jobs = 1

    assert deployed.status == "SUCCESS", deployed.reason
    # Submitted again at each poll with the request's client token: one service job.
    assert len(world.batch.jobs) == 1
    assert len({s["clientToken"] for s in world.submits()}) == 1
    assert world.sagemaker.clock.seconds >= 150


def test_batch_throttled_until_the_budget_ends_fails_naming_the_call(
    world: QueuedWorld,
) -> None:
    world.batch.throttle("SubmitServiceJob", 24 * 3600)

    deployed = world.resource.deploy(world.queued())

    assert deployed.status == "FAILED"
    assert "SubmitServiceJob was throttled (ThrottlingException: Rate exceeded)" in (
        deployed.reason
    )
    assert "budget of 3300 s ran out" in deployed.reason
    assert world.batch.jobs == {}
