"""Retraining and rollbacks, played by CloudFormation on the synthesized templates.

Each scenario deploys real templates of a stack (a job in one completion mode and a
``CfnModel`` that serves its artifacts) through :class:`~tests.cloudformation.Engine`:
a first deploy, then a change. A change that replaces the job must wait for the new
job in every mode that waits, and the model must get the new artifacts only once the
new job completed; a change in place must not wait again. A failed update rolls back,
in both shapes of the rollback's physical id, without starting a training job, and the
rollback completes with the stack back on the old job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker

from constructs_lib import Completion, TrainingImage, TrainingInput, TrainingJob, TrainingOutput
from constructs_lib.handler.properties import REPLACES_TAG
from tests.cloudformation import Engine
from tests.fakes import EPOCH, FakeSageMaker, Plan

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MODES = {
    "wait": Completion.wait,
    "wait_condition": Completion.wait_condition,
    "none": Completion.none,
}
Mode = Literal["wait", "wait_condition", "none"]
Shape = Literal["previous", "response"]
ROLLING_BACK = "UPDATE_ROLLBACK_IN_PROGRESS"
# Every variant of a mode is the same stack, deployed after another.
VARIANTS = {
    "base": {},
    "retrain": {"num_round": "300"},
    "tagged": {"tags": {"team": "research"}},
    "renamed_bucket": {"bucket_name": "training-data-renamed"},
}


def _stack(app: App, mode: Mode, variant: str) -> Stack:
    """The stack ``ml``: a job in ``mode`` whose model a ``CfnModel`` serves."""
    options: dict[str, Any] = VARIANTS[variant]
    stack = Stack(app, "ml")
    bucket = s3.Bucket(stack, "Data", bucket_name=options.get("bucket_name"))
    job = TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_registry(IMAGE),
        inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={"num_round": options.get("num_round", "100")},
        tags=options.get("tags"),
        max_runtime=Duration.minutes(30) if mode == "wait" else Duration.hours(3),
        completion=MODES[mode](),
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
    return stack


@pytest.fixture(scope="module")
def templates() -> dict[tuple[str, str], dict[str, Any]]:
    """Every (mode, variant) template: each variant is the same stack (same
    construct path), so each is an app of its own."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for mode in MODES:
        for variant in VARIANTS:
            app = App()
            stack = _stack(app, mode, variant)  # type: ignore[arg-type]
            found[mode, variant] = dict(app.synth().get_stack_artifact(stack.artifact_id).template)
    return found


@dataclass
class Deployed:
    engine: Engine
    first_job: str

    @property
    def sagemaker(self) -> FakeSageMaker:
        return self.engine.sagemaker

    def job(self) -> str:
        """The job the stack's training job resource is."""
        found = [
            s for s in self.engine.resources.values() if s.type == "Custom::SageMakerTrainingJob"
        ]
        assert len(found) == 1
        return found[0].physical_id

    def model_data_url(self) -> str:
        model = self.engine.resources["Model"]
        return str(model.properties["PrimaryContainer"]["ModelDataUrl"])

    def artifact(self, job: str) -> str:
        return self.sagemaker.job(job).artifact

    def creates_during_rollback(self) -> list[dict[str, Any]]:
        return self.engine.sagemaker_calls(ROLLING_BACK, "CreateTrainingJob")


def _deploy_first(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode, shape: Shape = "response"
) -> Deployed:
    engine = Engine(failed_physical_id=shape)
    engine.sagemaker.plan = Plan(runtime=600.0)
    status = engine.deploy(templates[mode, "base"])
    assert status == "CREATE_COMPLETE", engine.failed()
    deployed = Deployed(engine, "")
    deployed.first_job = deployed.job()
    return deployed


# -- replacing and updating in place --------------------------------------------


@pytest.mark.parametrize("mode", ["wait", "wait_condition"])
def test_retraining_waits_for_the_new_job_and_serves_its_model(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode
) -> None:
    deployed = _deploy_first(templates, mode)
    engine = deployed.engine
    if mode == "wait_condition":
        assert deployed.model_data_url() == deployed.artifact(deployed.first_job)
    # A long job where the mode allows it: longer than any custom resource can wait.
    deployed.sagemaker.plan = Plan(runtime=1200.0 if mode == "wait" else 2 * 3600.0)

    assert engine.deploy(templates[mode, "retrain"]) == "UPDATE_COMPLETE", engine.failed()

    new_job = deployed.job()
    assert new_job != deployed.first_job
    job = deployed.sagemaker.job(new_job)
    assert job.status == "Completed"
    assert job.request["HyperParameters"] == {"num_round": "300"}
    assert job.tags[REPLACES_TAG] == deployed.first_job
    # The model was updated to the new artifacts, and only after the job completed.
    assert deployed.model_data_url() == deployed.artifact(new_job)
    model_update = next(
        op
        for op in engine.of_phase("UPDATE_IN_PROGRESS")
        if op.logical_id == "Model" and op.action == "Update"
    )
    assert job.ended is not None
    assert model_update.at >= (job.ended - EPOCH).total_seconds()
    assert engine.unevaluated_waits == []


def test_retraining_in_wait_condition_mode_replaces_the_whole_wait(
    templates: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployed = _deploy_first(templates, "wait_condition")
    engine = deployed.engine
    old_wait = {lid for lid in engine.resources if lid.startswith("TrainWait")}

    engine.deploy(templates["wait_condition", "retrain"])

    new_wait = {lid for lid in engine.resources if lid.startswith("TrainWait")}
    assert len(old_wait) == len(new_wait) == 4  # handle, condition, signal check, result
    assert old_wait.isdisjoint(new_wait)
    created = {
        op.logical_id for op in engine.of_phase("UPDATE_IN_PROGRESS") if op.action == "Create"
    }
    assert created == new_wait
    cleaned = {
        op.logical_id
        for op in engine.of_phase("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        if op.action == "Delete"
    }
    assert old_wait <= cleaned
    # The new wait condition waited on the new job's signal.
    signals = [s for signals in engine.signals.values() for s in signals.values()]
    assert [s["UniqueId"] for s in signals] == [deployed.first_job, deployed.job()]


def test_change_in_place_keeps_the_wait(templates: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployed = _deploy_first(templates, "wait_condition")
    engine = deployed.engine
    before = {lid: s.physical_id for lid, s in engine.resources.items()}
    waited_until = engine.clock.seconds

    assert engine.deploy(templates["wait_condition", "tagged"]) == "UPDATE_COMPLETE"

    assert deployed.job() == deployed.first_job
    assert deployed.sagemaker.job(deployed.first_job).tags["team"] == "research"
    assert len(deployed.sagemaker.calls_of("CreateTrainingJob")) == 1
    updated = {op.logical_id for op in engine.of_phase("UPDATE_IN_PROGRESS")}
    assert {lid for lid in updated if not lid.startswith("Train")} == set()
    assert not any(lid.startswith("TrainWait") for lid in updated)
    assert {lid: s.physical_id for lid, s in engine.resources.items()} == before
    assert engine.clock.seconds - waited_until < 120  # no wait for a new job
    assert engine.unevaluated_waits == []


def test_replacement_made_at_deploy_time_waits_through_the_result(
    templates: dict[tuple[str, str], dict[str, Any]],
) -> None:
    # The bucket is replaced (new name), so the job's request changes value at deploy
    # time only: the template's wait stays, and the result resource waits instead.
    deployed = _deploy_first(templates, "wait_condition")
    engine = deployed.engine

    assert engine.deploy(templates["wait_condition", "renamed_bucket"]) == "UPDATE_COMPLETE"

    new_job = deployed.job()
    assert new_job != deployed.first_job
    assert deployed.sagemaker.job(new_job).status == "Completed"
    assert deployed.model_data_url() == deployed.artifact(new_job)
    result = [op for op in engine.of_phase("UPDATE_IN_PROGRESS") if "Result" in op.logical_id]
    assert [(op.action, op.status) for op in result] == [("Update", "COMPLETE")]
    job = deployed.sagemaker.job(new_job)
    assert job.ended is not None
    assert result[0].at >= (job.ended - EPOCH).total_seconds()


# -- rollbacks ----------------------------------------------------------------------


def _assert_rolled_back(deployed: Deployed, status: str) -> None:
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert deployed.creates_during_rollback() == []
    assert deployed.job() == deployed.first_job
    assert deployed.model_data_url() == deployed.artifact(deployed.first_job)
    # Nothing but the job rolled back to may still train (in none mode it may).
    running = [j.name for j in deployed.sagemaker.jobs.values() if j.status == "InProgress"]
    assert set(running) <= {deployed.first_job}


@pytest.mark.parametrize("shape", ["previous", "response"])
@pytest.mark.parametrize("mode", ["wait", "wait_condition"])
def test_failed_replacement_rolls_back_without_training(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode, shape: Shape
) -> None:
    deployed = _deploy_first(templates, mode, shape)
    deployed.sagemaker.plan = Plan(
        runtime=300.0, final="Failed", failure_reason="AlgorithmError: diverged"
    )

    status = deployed.engine.deploy(templates[mode, "retrain"])

    _assert_rolled_back(deployed, status)
    failed = [j for j in deployed.sagemaker.jobs.values() if j.status == "Failed"]
    assert len(failed) == 1  # left as a record, with its reason
    failure = next(op for op in deployed.engine.operations if op.status == "FAILED")
    assert "AlgorithmError: diverged" in failure.reason
    # The rollback answered at once: no wait for anything.
    rollback_ops = deployed.engine.of_phase(ROLLING_BACK)
    assert rollback_ops and rollback_ops[-1].at - rollback_ops[0].at < 120


@pytest.mark.parametrize("shape", ["previous", "response"])
@pytest.mark.parametrize("mode", ["wait", "wait_condition", "none"])
def test_rollback_after_another_resource_failed(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode, shape: Shape
) -> None:
    # The job was replaced successfully (in none mode it still trains); then the
    # model's update fails, and the stack rolls back.
    deployed = _deploy_first(templates, mode, shape)
    deployed.engine.failures.add(("Model", "Update"))

    status = deployed.engine.deploy(templates[mode, "retrain"])

    _assert_rolled_back(deployed, status)
    new_jobs = [j for j in deployed.sagemaker.jobs.values() if j.name != deployed.first_job]
    assert len(new_jobs) == 1
    # The cleanup deleted the replacement: stopped when it still ran.
    cleanup = deployed.engine.of_phase("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    assert [op.physical_id for op in cleanup if op.logical_id.startswith("Train")][:1] == [
        new_jobs[0].name
    ]
    expected = "Stopped" if mode == "none" else "Completed"
    assert new_jobs[0].status == expected


@pytest.mark.parametrize("mode", ["wait", "wait_condition", "none"])
def test_create_refused_rolls_back_without_training(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode
) -> None:
    deployed = _deploy_first(templates, mode)
    deployed.sagemaker.fail_next(
        "CreateTrainingJob", "ResourceLimitExceeded", "ml.m5.xlarge for training job usage is 0"
    )

    status = deployed.engine.deploy(templates[mode, "retrain"])

    _assert_rolled_back(deployed, status)
    assert len(deployed.sagemaker.jobs) == 1
