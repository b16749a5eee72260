"""Integration test: a training job the deploy waits for. The built-in XGBoost trains
on the sample's data; after the deploy, SageMaker describes the job as Completed and
its model artifacts are in the bucket."""

from __future__ import annotations

from _support import DATA, INSTANCE_TYPE, disposable_bucket, expect_completed, expect_object
from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import integ_tests_alpha as integ

from constructs_lib import (
    Completion,
    InstanceType,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
)

app = App()
stack = Stack(app, "ConstructsLibIntegTraining")
bucket = disposable_bucket(stack)
job = TrainingJob(
    stack,
    "Train",
    image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
    inputs=[
        TrainingInput.from_asset(channel, str(DATA / f"{channel}.csv"), content_type="text/csv")
        for channel in ("train", "validation")
    ],
    output=TrainingOutput.to_bucket(bucket, "models/"),
    instance_type=InstanceType.of(INSTANCE_TYPE),
    max_runtime=Duration.minutes(20),
    hyperparameters={"objective": "reg:squarederror", "num_round": "20"},
    completion=Completion.wait(),
    removal_policy=RemovalPolicy.DESTROY,
)

test = integ.IntegTest(
    app,
    "TrainingJobWaits",
    test_cases=[stack],
    # Each deploy trains: no second deploy of a previous snapshot first.
    stack_update_workflow=False,
)
expect_completed(test, "training", job.training_job_name)
expect_object(test, bucket, f"models/{job.training_job_name}/output/model.tar.gz")
app.synth()
