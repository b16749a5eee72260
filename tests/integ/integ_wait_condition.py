"""Integration test: a training job waited for through a wait condition (the mode of
jobs longer than CloudFormation's hour), signalled by the job's state-change event,
and a consumer of its model artifacts created after the signal. After the deploy,
SageMaker describes the job as Completed and its artifacts are in the bucket."""

from __future__ import annotations

from _support import DATA, INSTANCE_TYPE, disposable_bucket, expect_completed, expect_object
from aws_cdk import App, CfnOutput, Duration, RemovalPolicy, Stack
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
stack = Stack(app, "ConstructsLibIntegWaitCondition")
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
    max_runtime=Duration.minutes(30),
    hyperparameters={"objective": "reg:squarederror", "num_round": "20"},
    completion=Completion.wait_condition(timeout=Duration.hours(1)),
    removal_policy=RemovalPolicy.DESTROY,
)
# Read through the wait condition's result resource: created once the job ended.
CfnOutput(stack, "ModelDataUrl", value=job.model_data_url)

test = integ.IntegTest(
    app, "TrainingJobWaitCondition", test_cases=[stack], stack_update_workflow=False
)
expect_completed(test, "training", job.training_job_name)
expect_object(test, bucket, f"models/{job.training_job_name}/output/model.tar.gz")
app.synth()
