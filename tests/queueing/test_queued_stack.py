"""A stack with a TrainingQueue, a queued job in its default completion mode (a wait
condition, signalled by AWS Batch's state-change event) and a model serving its
artifacts, played by CloudFormation (tests/cloudformation.py) on the synthesized
template: the deploy waits through the queue, the model gets the artifacts of the
training job Batch started, a failed job fails the deploy with Batch's reason, and
the destroy leaves nothing running."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker

from constructs_lib import (
    FairShare,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TrainingQueue,
)
from constructs_lib.handler.properties import QUEUE, REPLACES_TAG
from tests.cloudformation import Engine
from tests.fakes import EPOCH, Plan

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def _template(num_round: str = "100") -> dict[str, Any]:
    app = App()
    stack = Stack(app, "fleet")
    bucket = s3.Bucket(stack, "Data")
    queue = TrainingQueue(
        stack, "Gpus", max_instances=4, fair_share=FairShare(shares={"vision": 1})
    )
    job = TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_registry(IMAGE),
        inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={"num_round": num_round},
        max_runtime=Duration.hours(2),
        queue=queue,
        share="vision",
        scheduling_priority=50,
    )
    role = iam.Role(stack, "ModelRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    job.grant_read_model_artifacts(role)
    sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=role.role_arn,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image=job.training_image_uri, model_data_url=job.model_data_url
        ),
    )
    return dict(app.synth().get_stack_artifact(stack.artifact_id).template)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _template()


@pytest.fixture(scope="module")
def retrained() -> dict[str, Any]:
    return _template(num_round="300")


def _engine() -> Engine:
    engine = Engine()
    engine.batch.plan.queued_polls = 40  # 20 minutes waiting for capacity
    engine.sagemaker.plan = Plan(runtime=3 * 3600.0)  # longer than a custom resource waits
    return engine


def test_the_deploy_waits_through_the_queue_and_serves_batchs_training_job(
    template: dict[str, Any],
) -> None:
    engine = _engine()

    assert engine.deploy(template) == "CREATE_COMPLETE", engine.failed()

    [service_job] = engine.batch.jobs.values()
    assert service_job.params["shareIdentifier"] == "vision"
    [trained] = service_job.attempts
    job = engine.sagemaker.job(trained)
    assert job.status == "Completed" and trained.startswith("AWSBatch")
    # The job resource answered at submission; Batch's event ended the wait; the model
    # was created after it, with the artifacts of the training job Batch started.
    model = engine.resources["Model"]
    assert model.properties["PrimaryContainer"]["ModelDataUrl"] == job.artifact
    [job_resource] = [
        s for s in engine.resources.values() if s.type == "Custom::SageMakerTrainingJob"
    ]
    assert job_resource.physical_id == service_job.arn
    assert QUEUE in job_resource.properties
    model_created = next(op for op in engine.operations if op.logical_id == "Model")
    assert job.ended is not None
    assert model_created.at >= (job.ended - EPOCH).total_seconds()

    [signals] = engine.signals.values()
    assert [s["Reason"] for s in signals.values()] == [
        f"Training job {service_job.name} completed (AWS Batch service job {service_job.arn})"
    ]

    assert engine.destroy() == "DELETE_COMPLETE", engine.failed()
    assert engine.batch.calls_of("TerminateServiceJob") == []  # it had ended


def test_a_failed_queued_job_fails_the_deploy_with_batchs_reason(
    template: dict[str, Any],
) -> None:
    engine = _engine()
    engine.sagemaker.plan = Plan(
        runtime=1800.0, final="Failed", failure_reason="AlgorithmError: nan loss"
    )

    assert engine.deploy(template) == "ROLLBACK_COMPLETE"

    reasons = " ".join(op.reason or "" for op in engine.failed())
    assert "failed in its AWS Batch queue (FAILED)" in reasons
    assert "AlgorithmError: nan loss" in reasons
    assert "Model" not in engine.resources or engine.resources["Model"].physical_id == ""
    # Nothing left running or waiting.
    assert all(job.status in ("SUCCEEDED", "FAILED") for job in engine.batch.jobs.values())


def _service_job_resource(engine: Engine) -> str:
    [found] = [s for s in engine.resources.values() if s.type == "Custom::SageMakerTrainingJob"]
    return found.physical_id


def test_retraining_through_the_queue_waits_for_the_new_job(
    template: dict[str, Any], retrained: dict[str, Any]
) -> None:
    engine = _engine()
    assert engine.deploy(template) == "CREATE_COMPLETE", engine.failed()
    first = _service_job_resource(engine)

    assert engine.deploy(retrained) == "UPDATE_COMPLETE", engine.failed()

    second = _service_job_resource(engine)
    assert second != first
    new = engine.batch.jobs[second.rsplit("/", 1)[1]]
    [trained] = new.attempts
    job = engine.sagemaker.job(trained)
    assert json.loads(new.params["serviceRequestPayload"])["HyperParameters"] == {
        "num_round": "300"
    }
    assert job.status == "Completed"
    assert new.params["tags"][REPLACES_TAG] == first
    # The model moved to the new artifacts once the new job completed; a new wait
    # condition waited for it (CloudFormation never evaluates one again).
    assert engine.resources["Model"].properties["PrimaryContainer"]["ModelDataUrl"] == job.artifact
    assert engine.unevaluated_waits == []
    assert engine.destroy() == "DELETE_COMPLETE", engine.failed()


@pytest.mark.parametrize("shape", ["previous", "response"])
def test_a_failed_retraining_rolls_back_without_submitting(
    template: dict[str, Any], retrained: dict[str, Any], shape: Any
) -> None:
    engine = _engine()
    engine.failed_physical_id = shape
    assert engine.deploy(template) == "CREATE_COMPLETE", engine.failed()
    first = _service_job_resource(engine)
    first_artifact = engine.resources["Model"].properties["PrimaryContainer"]["ModelDataUrl"]
    engine.sagemaker.plan = Plan(runtime=1800.0, final="Failed")

    assert engine.deploy(retrained) == "UPDATE_ROLLBACK_COMPLETE"

    assert engine.batch.calls_of("SubmitServiceJob")[2:] == []  # none while rolling back
    assert _service_job_resource(engine) == first
    model = engine.resources["Model"].properties["PrimaryContainer"]["ModelDataUrl"]
    assert model == first_artifact
    assert all(job.status in ("SUCCEEDED", "FAILED") for job in engine.batch.jobs.values())
