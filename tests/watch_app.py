"""A two-stack app as a user of the watch command has it: several training jobs (one
waited for by a wait condition), a tuning job and a queued job in one stack, a job, a
processing job and a transform job in another; synthesized once into a cloud assembly."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    Completion,
    ContinuousRange,
    HyperparameterTuningJob,
    InstanceType,
    MetricDefinition,
    ProcessingJob,
    ProcessingOutput,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TrainingQueue,
    TransformInput,
    TransformJob,
    TransformOutput,
    TuningObjective,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
QUEUE_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/ml-training"
STACK = "MlTraining"
OTHER_STACK = "MlOther"


def _job(
    stack: Stack, construct_id: str, bucket: s3.IBucket, role: iam.IRole, **extra: object
) -> TrainingJob:
    return TrainingJob(
        stack,
        construct_id,
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
        output=TrainingOutput.to_bucket(bucket, "models/"),
        instance_type=InstanceType.of("ml.m5.xlarge"),
        max_runtime=Duration.minutes(30),
        hyperparameters={"num_round": "50"},
        metric_definitions=[MetricDefinition("validation:rmse", r"validation-rmse:([0-9.]+)")],
        role=role,
        **extra,  # type: ignore[arg-type]
    )


def build(outdir: Path) -> Path:
    """The app, synthesized into ``outdir``; returns it."""
    # Path metadata in the templates, as the CDK CLI's synth writes them.
    app = App(outdir=str(outdir), context={"aws:cdk:enable-path-metadata": True})
    env = Environment(account=ACCOUNT, region=REGION)
    stack = Stack(app, STACK, env=env)
    bucket = s3.Bucket.from_bucket_name(stack, "Data", "ml-data")
    role = iam.Role.from_role_arn(
        stack, "Role", f"arn:aws:iam::{ACCOUNT}:role/training", mutable=False
    )
    _job(stack, "Train", bucket, role)
    _job(stack, "Long", bucket, role, completion=Completion.wait_condition())
    _job(
        stack,
        "Queued",
        bucket,
        role,
        queue=TrainingQueue.from_job_queue_arn(stack, "Queue", QUEUE_ARN),
    )
    HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            hyperparameters={"num_round": "50"},
            role=role,
            max_runtime=Duration.minutes(10),
        ),
        objective=TuningObjective.minimize("validation:rmse"),
        ranges=[ContinuousRange("eta", 0.05, 0.5)],
        max_jobs=4,
        max_parallel_jobs=2,
    )
    other = Stack(app, OTHER_STACK, env=env)
    other_bucket = s3.Bucket.from_bucket_name(other, "Data", "ml-data")
    other_role = iam.Role.from_role_arn(
        other, "Role", f"arn:aws:iam::{ACCOUNT}:role/training", mutable=False
    )
    _job(other, "Train", other_bucket, other_role)
    ProcessingJob(
        other,
        "Prepare",
        image=TrainingImage.from_registry(f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/prep:1"),
        outputs=[ProcessingOutput.to_bucket("train", other_bucket, "prepared/")],
        role=other_role,
    )
    TransformJob(
        other,
        "Score",
        model="house-prices",
        model_role=other_role,
        input=TransformInput.from_bucket(other_bucket, "test/"),
        output=TransformOutput.to_bucket(other_bucket, "predictions/"),
    )
    app.synth()
    return outdir
