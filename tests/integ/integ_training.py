"""Integration test: a training job the deploy waits for. The built-in XGBoost trains
on the sample's data; after the deploy, SageMaker describes the job as Completed and
its model artifacts are in the bucket."""

from __future__ import annotations

from _support import disposable_bucket, expect_completed, expect_object, xgboost_job
from aws_cdk import App, Duration, Stack
from aws_cdk import integ_tests_alpha as integ

from constructs_lib import Completion

app = App()
stack = Stack(app, "ConstructsLibIntegTraining")
bucket = disposable_bucket(stack)
job = xgboost_job(stack, bucket, max_runtime=Duration.minutes(20), completion=Completion.wait())

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
