"""Retuning and rollbacks of a hyperparameter tuning job, played by CloudFormation
on the synthesized templates (:class:`~tests.cloudformation.Engine`): a stack with a
tuning job whose best model a ``CfnModel`` serves, deployed, then changed. A change
that replaces the tuning job waits for the new one in every mode that waits (in
wait_condition mode through its state-change event and the signaller) and the model
gets the new best artifacts only once it completed; a tag change stays in place; a
failed retune rolls back without starting a tuning job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker

from constructs_lib import (
    Completion,
    ContinuousRange,
    HyperparameterTuningJob,
    IntegerRange,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingOutput,
    TuningObjective,
)
from constructs_lib.handler.properties import REPLACES_TAG
from tests.cloudformation import Engine
from tests.fakes import EPOCH, FakeSageMaker, Plan

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
MODES = {"wait": Completion.wait, "wait_condition": Completion.wait_condition}
Mode = Literal["wait", "wait_condition"]
Shape = Literal["previous", "response"]
ROLLING_BACK = "UPDATE_ROLLBACK_IN_PROGRESS"
TYPE = "Custom::SageMakerHyperparameterTuningJob"
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "retune": {"eta_max": 0.9},
    "tagged": {"tags": {"team": "research"}},
}


def _stack(app: App, mode: Mode, variant: str) -> Stack:
    options = VARIANTS[variant]
    stack = Stack(app, "tuned")
    bucket = s3.Bucket(stack, "Data")
    tuning = HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=TrainingImage.from_registry(IMAGE),
            inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            hyperparameters={"num_round": "100"},
        ),
        objective=TuningObjective.minimize("validation:rmse"),
        ranges=[
            ContinuousRange("eta", 0.05, options.get("eta_max", 0.5)),
            IntegerRange("max_depth", 2, 8),
        ],
        max_jobs=4,
        max_parallel_jobs=2,
        tags=options.get("tags"),
        completion=MODES[mode](),
    )
    role = iam.Role(stack, "ModelRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    tuning.grant_read_model_artifacts(role)
    sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=role.role_arn,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image=tuning.training_image_uri, model_data_url=tuning.best_model_data_url
        ),
    )
    return stack


@pytest.fixture(scope="module")
def templates() -> dict[tuple[str, str], dict[str, Any]]:
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
    first: str

    @property
    def sagemaker(self) -> FakeSageMaker:
        return self.engine.sagemaker

    def tuning_job(self) -> str:
        [state] = [s for s in self.engine.resources.values() if s.type == TYPE]
        return state.physical_id

    def model_data_url(self) -> str:
        return str(self.engine.resources["Model"].properties["PrimaryContainer"]["ModelDataUrl"])

    def best_artifact(self, tuning_job: str) -> str:
        best = self.sagemaker.tuning_job(tuning_job).best
        assert best is not None
        return self.sagemaker.job(best).artifact


def _deploy_first(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode, shape: Shape = "response"
) -> Deployed:
    engine = Engine(failed_physical_id=shape)
    engine.sagemaker.plan = Plan(runtime=600.0)
    assert engine.deploy(templates[mode, "base"]) == "CREATE_COMPLETE", engine.failed()
    deployed = Deployed(engine, "")
    deployed.first = deployed.tuning_job()
    assert deployed.model_data_url() == deployed.best_artifact(deployed.first)
    return deployed


@pytest.mark.parametrize("mode", ["wait", "wait_condition"])
def test_retuning_waits_for_the_new_tuning_job_and_serves_its_best_model(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode
) -> None:
    deployed = _deploy_first(templates, mode)
    engine = deployed.engine
    # Longer than a custom resource can wait, where the mode allows it.
    deployed.sagemaker.plan = Plan(runtime=1200.0 if mode == "wait" else 2 * 3600.0)

    assert engine.deploy(templates[mode, "retune"]) == "UPDATE_COMPLETE", engine.failed()

    new = deployed.tuning_job()
    assert new != deployed.first and len(new) <= 32
    job = deployed.sagemaker.tuning_job(new)
    assert job.status == "Completed"
    assert job.tags[REPLACES_TAG] == deployed.first
    ranges = job.request["HyperParameterTuningJobConfig"]["ParameterRanges"]
    assert ranges["ContinuousParameterRanges"][0]["MaxValue"] == "0.9"
    assert deployed.model_data_url() == deployed.best_artifact(new)
    model_update = next(
        op
        for op in engine.of_phase("UPDATE_IN_PROGRESS")
        if op.logical_id == "Model" and op.action == "Update"
    )
    assert job.ended is not None
    assert model_update.at >= (job.ended - EPOCH).total_seconds()
    assert engine.unevaluated_waits == []
    if mode == "wait_condition":
        signals = [s for signals in engine.signals.values() for s in signals.values()]
        assert [s["UniqueId"] for s in signals] == [deployed.first, new]


def test_a_tag_change_stays_in_place_without_a_new_wait(
    templates: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployed = _deploy_first(templates, "wait_condition")
    engine = deployed.engine
    before = {lid: s.physical_id for lid, s in engine.resources.items()}

    assert engine.deploy(templates["wait_condition", "tagged"]) == "UPDATE_COMPLETE"

    assert deployed.tuning_job() == deployed.first
    assert deployed.sagemaker.tuning_job(deployed.first).tags["team"] == "research"
    assert len(deployed.sagemaker.calls_of("CreateHyperParameterTuningJob")) == 1
    assert {lid: s.physical_id for lid, s in engine.resources.items()} == before


@pytest.mark.parametrize("shape", ["previous", "response"])
@pytest.mark.parametrize("mode", ["wait", "wait_condition"])
def test_a_failed_retune_rolls_back_without_tuning(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode, shape: Shape
) -> None:
    deployed = _deploy_first(templates, mode, shape)
    deployed.sagemaker.plan = Plan(
        runtime=300.0, final="Failed", failure_reason="No training job succeeded"
    )

    status = deployed.engine.deploy(templates[mode, "retune"])

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert deployed.engine.sagemaker_calls(ROLLING_BACK, "CreateHyperParameterTuningJob") == []
    assert deployed.tuning_job() == deployed.first
    assert deployed.model_data_url() == deployed.best_artifact(deployed.first)
    failure = next(op for op in deployed.engine.operations if op.status == "FAILED")
    assert "No training job succeeded" in failure.reason
    running = [j for j in deployed.sagemaker.tuning_jobs.values() if j.status == "InProgress"]
    assert running == []


def test_destroy_leaves_nothing_tuning(templates: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployed = _deploy_first(templates, "wait")
    deployed.sagemaker.plan = Plan(runtime=10_000.0)
    deployed.engine.failures.add(("Model", "Update"))
    # A retune that is still tuning when another resource fails: the rollback's
    # cleanup stops it; then the stack is destroyed.
    deployed.engine.deploy(templates["wait", "retune"])

    assert deployed.engine.destroy() == "DELETE_COMPLETE"
    statuses = {j.name: j.status for j in deployed.sagemaker.tuning_jobs.values()}
    assert "InProgress" not in statuses.values(), statuses
