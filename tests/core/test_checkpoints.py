"""Checkpoints per job: a checkpoint location holds a folder per job, named after it when
the job is created (as ``sagemaker_job_name`` is), so a retraining, a replacement or a
scheduled run never resumes an earlier job's checkpoints; a tuning job's folder is named
after the tuning job. The template says so (``JobNameLocations``); the request, its hash
and what replaces a job stay as they were. ``shared=True`` keeps one location for all,
with a warning."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler

from constructs_lib import (
    Checkpoint,
    ContinuousRange,
    HyperparameterTuningJob,
    MetricDefinition,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TuningObjective,
)
from constructs_lib.core._job import SHARED_CHECKPOINT_WARNING_ID
from constructs_lib.handler.properties import NAMED_LOCATIONS, REQUEST, TUNING_REQUEST
from constructs_lib.testing import warnings
from tests.cloudformation import Engine
from tests.fakes import Plan

ENV = Environment(account="123456789012", region="us-east-1")


def _app(eta: float) -> tuple[dict[str, Any], Stack]:
    app = App()
    stack = Stack(app, "ml", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    job = TrainingJob(
        stack,
        "Spot",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={"eta": eta, "num_round": 50},
        spot_training=True,
        max_wait=Duration.minutes(40),
        max_runtime=Duration.minutes(30),
        checkpoint=Checkpoint.to_bucket(bucket, "checkpoints/"),
    )
    job.retrain_on_schedule(scheduler.ScheduleExpression.rate(Duration.days(7)))
    TrainingJob(
        stack,
        "Shared",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
        output=TrainingOutput.to_bucket(bucket, "shared-models/"),
        checkpoint=Checkpoint.to_bucket(bucket, "shared/", shared=True),
    )
    HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            metric_definitions=[MetricDefinition("validation:rmse", r"rmse:([0-9.]+)")],
            checkpoint=Checkpoint.to_bucket(bucket, "tuning-checkpoints"),
        ),
        objective=TuningObjective.minimize("validation:rmse"),
        ranges=[ContinuousRange("eta", 0.1, 0.5)],
    )
    template = dict(app.synth().get_stack_artifact(stack.artifact_id).template)
    return template, stack


class Deployed:
    def __init__(self) -> None:
        self.template, self.stack = _app(0.2)
        self.engine = Engine()
        self.engine.sagemaker.plan = Plan(runtime=300.0)
        assert self.engine.deploy(self.template) == "CREATE_COMPLETE", self.engine.failed()
        self.bucket = self.engine.resources[self._logical("AWS::S3::Bucket", "Data")].physical_id

    def _logical(self, type_: str, start: str) -> str:
        [logical] = [
            k
            for k, r in self.template["Resources"].items()
            if r["Type"] == type_ and k.startswith(start)
        ]
        return logical

    def properties(self, construct: str, type_: str = "Custom::SageMakerTrainingJob") -> Any:
        return self.template["Resources"][self._logical(type_, construct)]["Properties"]

    def job(self, construct: str) -> str:
        return self.engine.resources[
            self._logical("Custom::SageMakerTrainingJob", construct)
        ].physical_id


@pytest.fixture(scope="module")
def deployed() -> Deployed:
    return Deployed()


def test_the_template_says_each_job_gets_a_folder_named_after_it(deployed: Deployed) -> None:
    spot = deployed.properties("Spot")
    # The request keeps the location under which the folders go ...
    assert spot[REQUEST]["CheckpointConfig"]["S3Uri"]["Fn::Join"][1][-1] == "/checkpoints/"
    # ... and the control property says the job's name is filled in below it.
    location = spot[NAMED_LOCATIONS]["CheckpointConfig.S3Uri"]
    assert location["Prefix"]["Fn::Join"][1][-1] == "/checkpoints/"
    assert location["Suffix"] == "/"
    tune = deployed.properties("Tune", "Custom::SageMakerHyperparameterTuningJob")
    [path] = tune[NAMED_LOCATIONS]
    assert path == "TrainingJobDefinition.CheckpointConfig.S3Uri"
    # A prefix without its slash gets one: 'ck' would also sync 'ck-10'.
    assert tune[NAMED_LOCATIONS][path]["Prefix"]["Fn::Join"][1][-1] == "/tuning-checkpoints/"
    assert tune[TUNING_REQUEST]["TrainingJobDefinition"]["CheckpointConfig"]["S3Uri"]
    assert NAMED_LOCATIONS not in deployed.properties("Shared")


def test_a_shared_checkpoint_is_a_warning_naming_what_it_risks(deployed: Deployed) -> None:
    [warning] = [w for w in warnings(deployed.stack) if SHARED_CHECKPOINT_WARNING_ID in w]
    assert warning.startswith("/ml/Shared: checkpoint: shared=True: every job of this construct")
    assert "resumes the last one's" in warning


def test_each_deployed_job_syncs_its_own_folder(deployed: Deployed) -> None:
    jobs = deployed.engine.sagemaker.jobs
    spot = deployed.job("Spot")
    assert jobs[spot].request["CheckpointConfig"]["S3Uri"] == (
        f"s3://{deployed.bucket}/checkpoints/{spot}/"
    )
    shared = deployed.job("Shared")
    assert jobs[shared].request["CheckpointConfig"]["S3Uri"] == f"s3://{deployed.bucket}/shared/"
    [tuning] = deployed.engine.sagemaker.tuning_jobs.values()
    assert tuning.request["TrainingJobDefinition"]["CheckpointConfig"]["S3Uri"] == (
        f"s3://{deployed.bucket}/tuning-checkpoints/{tuning.name}/"
    )


def test_a_scheduled_run_syncs_a_folder_named_after_the_run(deployed: Deployed) -> None:
    [schedule] = [
        r
        for k, r in deployed.engine.resources.items()
        if r.type == "AWS::Scheduler::Schedule" and k.startswith("Spot")
    ]
    run = json.loads(schedule.properties["Target"]["Input"])
    name = run["TrainingJobName"]
    assert name.endswith("-<aws.scheduler.execution-id>")
    assert run["CheckpointConfig"]["S3Uri"] == f"s3://{deployed.bucket}/checkpoints/{name}/"


def test_a_retraining_starts_from_no_checkpoint_of_the_job_it_replaces(deployed: Deployed) -> None:
    first = deployed.job("Spot")
    template, _ = _app(0.3)  # a changed hyperparameter: a new job
    assert deployed.engine.deploy(template) == "UPDATE_COMPLETE", deployed.engine.failed()
    deployed.template = template
    second = deployed.job("Spot")
    assert second != first
    folders = {
        deployed.engine.sagemaker.jobs[name].request["CheckpointConfig"]["S3Uri"]
        for name in (first, second)
    }
    assert folders == {
        f"s3://{deployed.bucket}/checkpoints/{first}/",
        f"s3://{deployed.bucket}/checkpoints/{second}/",
    }
