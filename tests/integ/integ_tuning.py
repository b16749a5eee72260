"""Integration test: a hyperparameter tuning job the deploy waits for. Two training
jobs of the built-in XGBoost search eta on the sample's data; after the deploy,
SageMaker describes the tuning job and its best training job as Completed, and the
best model's artifacts are in the bucket."""

from __future__ import annotations

from _support import (
    INSTANCE_TYPE,
    XGBOOST,
    XGBOOST_HYPERPARAMETERS,
    disposable_bucket,
    expect_completed,
    expect_object,
    sample_inputs,
)
from aws_cdk import App, Duration, RemovalPolicy, Stack
from aws_cdk import integ_tests_alpha as integ

from constructs_lib import (
    ContinuousRange,
    HyperparameterTuningJob,
    InstanceType,
    TrainingDefinition,
    TrainingOutput,
    TuningObjective,
)

app = App()
stack = Stack(app, "ConstructsLibIntegTuning")
bucket = disposable_bucket(stack)
tuning = HyperparameterTuningJob(
    stack,
    "Tune",
    training=TrainingDefinition(
        image=XGBOOST,
        inputs=sample_inputs(),
        output=TrainingOutput.to_bucket(bucket, "tuning/"),
        instance_type=InstanceType.of(INSTANCE_TYPE),
        max_runtime=Duration.minutes(15),
        hyperparameters=XGBOOST_HYPERPARAMETERS,
    ),
    objective=TuningObjective.minimize("validation:rmse"),
    ranges=[ContinuousRange("eta", 0.1, 0.5)],
    max_jobs=2,
    max_parallel_jobs=2,
    removal_policy=RemovalPolicy.DESTROY,
)

test = integ.IntegTest(app, "TuningJobWaits", test_cases=[stack], stack_update_workflow=False)
expect_completed(test, "tuning", tuning.tuning_job_name)
expect_completed(test, "training", tuning.best_training_job_name)
expect_object(test, bucket, f"tuning/{tuning.best_training_job_name}/output/model.tar.gz")
app.synth()
