"""Quality gates (issue 31, section 1): a model whose final metrics miss the gate is
never used. Synth checks, and the scenarios CloudFormation plays on the synthesized
templates (``tests.cloudformation``): a job that meets its gate, misses it, does not
report a gated metric; a retraining that misses its gate rolled back in both shapes of
the rollback's physical id, the old model kept and no job started; a tuning job's best
training job; the wait-condition mode, where the result resource checks it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk.assertions import Template

from constructs_lib import (
    Completion,
    ContinuousRange,
    HyperparameterTuningJob,
    MetricDefinition,
    MetricThreshold,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TrainingQueue,
    TuningObjective,
)
from constructs_lib.handler.properties import QUALITY_GATE
from tests.cloudformation import Engine
from tests.fakes import FakeSageMaker, Plan

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
RMSE = MetricDefinition("validation:rmse", r"validation-rmse:([0-9.]+)")
GATE = [MetricThreshold("validation:rmse", at_most=0.5)]
Mode = Literal["wait", "wait_condition"]
Shape = Literal["previous", "response"]
MODES = {"wait": Completion.wait, "wait_condition": Completion.wait_condition}
ROLLING_BACK = "UPDATE_ROLLBACK_IN_PROGRESS"


def _stack(
    app: App,
    mode: Mode,
    num_round: str = "100",
    tuning: bool = False,
    gate: list[MetricThreshold] | None = None,
) -> Stack:
    """The stack ``ml``: a gated job (or tuning job) whose model a CfnModel serves."""
    stack = Stack(app, "ml")
    bucket = s3.Bucket(stack, "Data")
    inputs = [TrainingInput.from_bucket("train", bucket, "train/")]
    output = TrainingOutput.to_bucket(bucket, "models/")
    job: TrainingJob | HyperparameterTuningJob
    if tuning:
        job = HyperparameterTuningJob(
            stack,
            "Train",
            training=TrainingDefinition(
                image=TrainingImage.from_registry(IMAGE),
                inputs=inputs,
                output=output,
                hyperparameters={"num_round": num_round},
                metric_definitions=[RMSE],
            ),
            objective=TuningObjective.minimize("validation:rmse"),
            ranges=[ContinuousRange("eta", 0.05, 0.5)],
            max_jobs=2,
            completion=MODES[mode](),
            quality_gate=gate or GATE,
        )
        url = job.best_model_data_url
    else:
        job = TrainingJob(
            stack,
            "Train",
            image=TrainingImage.from_registry(IMAGE),
            inputs=inputs,
            output=output,
            hyperparameters={"num_round": num_round},
            metric_definitions=[RMSE],
            max_runtime=Duration.minutes(30) if mode == "wait" else Duration.hours(3),
            completion=MODES[mode](),
            quality_gate=gate or GATE,
        )
        url = job.model_data_url
    role = iam.Role(stack, "ModelRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    job.grant_read_model_artifacts(role)
    sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=role.role_arn,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image=job.training_image_uri, model_data_url=url
        ),
    )
    return stack


def _template(
    mode: Mode,
    num_round: str = "100",
    tuning: bool = False,
    gate: list[MetricThreshold] | None = None,
) -> dict[str, Any]:
    app = App()
    stack = _stack(app, mode, num_round, tuning, gate)
    return dict(app.synth().get_stack_artifact(stack.artifact_id).template)


@pytest.fixture(scope="module")
def templates() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (mode, variant): _template(mode, "300" if variant == "retrain" else "100")  # type: ignore[arg-type]
        for mode in MODES
        for variant in ("base", "retrain")
    }


@dataclass
class Deployed:
    engine: Engine

    @property
    def sagemaker(self) -> FakeSageMaker:
        return self.engine.sagemaker

    def job(self) -> str:
        [state] = [
            s for s in self.engine.resources.values() if s.type == "Custom::SageMakerTrainingJob"
        ]
        return state.physical_id

    def model_data_url(self) -> str:
        return str(self.engine.resources["Model"].properties["PrimaryContainer"]["ModelDataUrl"])


def _deploy(
    template: dict[str, Any], metrics: dict[str, float], shape: Shape = "response"
) -> tuple[Deployed, str]:
    engine = Engine(failed_physical_id=shape)
    engine.sagemaker.plan = Plan(runtime=600.0, metrics=metrics)
    return Deployed(engine), engine.deploy(template)


def _reasons(engine: Engine) -> str:
    return "\n".join(op.reason for op in engine.failed())


# -- synth ------------------------------------------------------------------------


def test_the_gate_goes_where_the_attributes_are_read(
    templates: dict[tuple[str, str], dict[str, Any]],
) -> None:
    gate = [{"Metric": "validation:rmse", "AtMost": 0.5}]
    waited = templates["wait", "base"]["Resources"]
    [job] = [r for r in waited.values() if r["Type"] == "Custom::SageMakerTrainingJob"]
    assert job["Properties"][QUALITY_GATE] == gate
    conditioned = templates["wait_condition", "base"]["Resources"]
    [job] = [r for r in conditioned.values() if r["Type"] == "Custom::SageMakerTrainingJob"]
    [result] = [
        r for r in conditioned.values() if r["Type"] == "Custom::SageMakerTrainingJobResult"
    ]
    assert QUALITY_GATE not in job["Properties"]
    assert result["Properties"][QUALITY_GATE] == gate


@pytest.mark.parametrize(
    ("gate", "props", "message"),
    [
        (
            [MetricThreshold("validation:rsme", at_most=0.5)],
            {},
            r"\[ml/Gated\] quality_gate: .*'validation:rsme'.*the job reports only the "
            r"metrics its metric_definitions capture \('validation:rmse'\)\. Did you mean "
            r"'validation:rmse'\?",
        ),
        ([MetricThreshold("validation:rmse")], {}, r"give at_most=, at_least= or both"),
        (
            [MetricThreshold("validation:rmse", at_most=0.2, at_least=0.5)],
            {},
            r"at_least \(0\.5\) is above at_most \(0\.2\)",
        ),
        ([MetricThreshold("validation:rmse", at_most=True)], {}, r"at_most must be a number"),
        (
            [
                MetricThreshold("validation:rmse", at_most=0.5),
                MetricThreshold("validation:rmse", at_least=0.1),
            ],
            {},
            r"the metric has one threshold",
        ),
        (
            GATE,
            {"completion": Completion.none()},
            r"\[ml/Gated\] quality_gate: \['validation:rmse'\] is invalid: with "
            r"Completion.none\(\) the deployment does not wait",
        ),
    ],
)
def test_a_gate_that_cannot_hold_fails_synth(
    gate: list[MetricThreshold], props: dict[str, Any], message: str
) -> None:
    stack = Stack(App(), "ml")
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "data")
    with pytest.raises(ValueError, match=message):
        TrainingJob(
            stack,
            "Gated",
            image=TrainingImage.from_registry(IMAGE),
            output=TrainingOutput.to_bucket(bucket, "models/"),
            metric_definitions=[RMSE],
            quality_gate=gate,
            **props,
        )


def test_a_built_in_algorithm_may_gate_the_metrics_it_reports() -> None:
    stack = Stack(App(), "ml")
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "data")
    TrainingJob(
        stack,
        "Gated",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        quality_gate=[MetricThreshold("validation:auc", at_least=0.9)],
    )
    Template.from_stack(stack).has_resource_properties(
        "Custom::SageMakerTrainingJob",
        {QUALITY_GATE: [{"Metric": "validation:auc", "AtLeast": 0.9}]},
    )


# -- deploys ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["wait", "wait_condition"])
def test_a_model_that_meets_its_gate_is_used(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode
) -> None:
    deployed, status = _deploy(templates[mode, "base"], {"validation:rmse": 0.25})
    assert status == "CREATE_COMPLETE", deployed.engine.failed()
    assert deployed.model_data_url() == deployed.sagemaker.job(deployed.job()).artifact


@pytest.mark.parametrize("mode", ["wait", "wait_condition"])
@pytest.mark.parametrize(
    ("metrics", "reason"),
    [
        ({"validation:rmse": 0.75}, "validation:rmse = 0.75, at most 0.5 allowed"),
        ({"train:rmse": 0.1}, "validation:rmse was not reported"),
    ],
)
def test_a_model_that_misses_its_gate_fails_the_deploy_naming_why(
    templates: dict[tuple[str, str], dict[str, Any]],
    mode: Mode,
    metrics: dict[str, float],
    reason: str,
) -> None:
    deployed, status = _deploy(templates[mode, "base"], metrics)
    assert status == "ROLLBACK_COMPLETE"
    reasons = _reasons(deployed.engine)
    assert "does not pass the quality gate" in reasons and reason in reasons
    # The model was never created on it.
    assert "Model" not in deployed.engine.resources
    [job] = deployed.sagemaker.jobs.values()
    assert job.status == "Completed"  # it trained (and was paid for): the gate judged it


@pytest.mark.parametrize("shape", ["previous", "response"])
@pytest.mark.parametrize("mode", ["wait", "wait_condition"])
def test_a_retraining_that_misses_its_gate_rolls_back_to_the_old_model(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode, shape: Shape
) -> None:
    deployed, status = _deploy(templates[mode, "base"], {"validation:rmse": 0.25}, shape)
    assert status == "CREATE_COMPLETE", deployed.engine.failed()
    first = deployed.job()
    served = deployed.model_data_url()
    deployed.sagemaker.plan = Plan(runtime=600.0, metrics={"validation:rmse": 0.9})

    status = deployed.engine.deploy(templates[mode, "retrain"])

    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert "validation:rmse = 0.9, at most 0.5 allowed" in _reasons(deployed.engine)
    # The old job and its model, and no job started while rolling back.
    assert deployed.job() == first
    assert deployed.model_data_url() == served == deployed.sagemaker.job(first).artifact
    assert deployed.engine.sagemaker_calls(ROLLING_BACK, "CreateTrainingJob") == []
    assert len(deployed.sagemaker.created) == 2


def test_a_tuning_jobs_gate_judges_its_best_training_job() -> None:
    template = _template("wait", tuning=True)
    deployed, status = _deploy(template, {"validation:rmse": 0.75})
    assert status == "ROLLBACK_COMPLETE"
    [tuning] = deployed.sagemaker.tuning_jobs.values()
    reasons = _reasons(deployed.engine)
    assert (
        f"Hyperparameter tuning job {tuning.name} (its best training job {tuning.best})" in reasons
    )
    assert "validation:rmse = 0.75, at most 0.5 allowed" in reasons

    met, status = _deploy(template, {"validation:rmse": 0.25})
    assert status == "CREATE_COMPLETE", met.engine.failed()


@pytest.mark.parametrize("mode", ["wait", "wait_condition"])
def test_a_changed_gate_rejudges_the_current_model_without_training(
    templates: dict[tuple[str, str], dict[str, Any]], mode: Mode
) -> None:
    deployed, status = _deploy(templates[mode, "base"], {"validation:rmse": 0.25})
    assert status == "CREATE_COMPLETE", deployed.engine.failed()
    first = deployed.job()

    tighter = _template(mode, gate=[MetricThreshold("validation:rmse", at_most=0.2)])
    assert deployed.engine.deploy(tighter) == "UPDATE_ROLLBACK_COMPLETE"
    assert "validation:rmse = 0.25, at most 0.2 allowed" in _reasons(deployed.engine)
    looser = _template(mode, gate=[MetricThreshold("validation:rmse", at_most=0.3)])
    assert deployed.engine.deploy(looser) == "UPDATE_COMPLETE", deployed.engine.failed()

    assert deployed.job() == first
    assert deployed.sagemaker.created == [first]


def _queued_template() -> dict[str, Any]:
    app = App()
    stack = Stack(app, "fleet")
    bucket = s3.Bucket(stack, "Data")
    TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_registry(IMAGE),
        inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
        output=TrainingOutput.to_bucket(bucket, "models/"),
        metric_definitions=[RMSE],
        max_runtime=Duration.hours(2),
        queue=TrainingQueue(stack, "Gpus", max_instances=4),
        quality_gate=GATE,
    )
    return dict(app.synth().get_stack_artifact(stack.artifact_id).template)


@pytest.mark.parametrize(
    ("metrics", "status"),
    [
        ({"validation:rmse": 0.25}, "CREATE_COMPLETE"),
        ({"validation:rmse": 0.75}, "ROLLBACK_COMPLETE"),
    ],
)
def test_a_queued_jobs_gate_judges_the_training_job_batch_ran(
    metrics: dict[str, float], status: str
) -> None:
    # Waited for through Batch's event; the result resource reads Batch's training job.
    template = _queued_template()
    [result] = [
        r
        for r in template["Resources"].values()
        if r["Type"] == "Custom::SageMakerTrainingJobResult"
    ]
    assert result["Properties"][QUALITY_GATE] == [{"Metric": "validation:rmse", "AtMost": 0.5}]
    engine = Engine()
    engine.sagemaker.plan = Plan(runtime=600.0, metrics=metrics)
    assert engine.deploy(template) == status, engine.failed()
    if status == "ROLLBACK_COMPLETE":
        [service_job] = engine.batch.jobs.values()
        [trained] = service_job.attempts
        reasons = _reasons(engine)
        assert f"Training job {trained} completed, but its model does not pass" in reasons
        assert "validation:rmse = 0.75, at most 0.5 allowed" in reasons
