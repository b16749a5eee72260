"""Integration test: a training job waited for through a wait condition (the mode of
jobs longer than CloudFormation's hour), signalled by the job's state-change event,
and a consumer of its model artifacts created after the signal. After the deploy,
SageMaker describes the job as Completed and its artifacts are in the bucket."""

from __future__ import annotations

from _support import disposable_bucket, expect_completed, expect_object, xgboost_job
from aws_cdk import App, CfnOutput, Duration, Stack
from aws_cdk import integ_tests_alpha as integ

from constructs_lib import Completion

app = App()
stack = Stack(app, "ConstructsLibIntegWaitCondition")
bucket = disposable_bucket(stack)
job = xgboost_job(
    stack,
    bucket,
    max_runtime=Duration.minutes(30),
    completion=Completion.wait_condition(timeout=Duration.hours(1)),
)
# Read through the wait condition's result resource: created once the job ended.
CfnOutput(stack, "ModelDataUrl", value=job.model_data_url)

test = integ.IntegTest(
    app, "TrainingJobWaitCondition", test_cases=[stack], stack_update_workflow=False
)
expect_completed(test, "training", job.training_job_name)
expect_object(test, bucket, f"models/{job.training_job_name}/output/model.tar.gz")
app.synth()
