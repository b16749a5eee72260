"""The jobs of a stack that uses every feature, shared by the compliance gates: a VPC
job with KMS keys, spot, checkpoints, a debugger hook and a wait condition (so the
signaller and its queue exist), an ECR image with no wait, and a Docker asset image."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    Checkpoint,
    Completion,
    DebugHookConfig,
    S3Location,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: The construct ids of the jobs :func:`add_every_job` adds.
JOBS = ("Long", "Custom", "Built")


def add_every_job(stack: Stack, *, data: s3.IBucket, key: kms.IKey, vpc: ec2.IVpc) -> None:
    repository = ecr.Repository(stack, "Repo", image_scan_on_push=True)
    TrainingJob(
        stack,
        "Long",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        inputs=[
            TrainingInput.from_bucket("train", data, "train/"),
            TrainingInput.from_asset("validation", str(FIXTURES / "train.csv")),
        ],
        output=TrainingOutput.to_bucket(data, "models/", encryption_key=key),
        volume_encryption_key=key,
        vpc=vpc,
        instance_count=2,
        spot_training=True,
        max_runtime=Duration.hours(3),
        max_wait=Duration.hours(5),
        checkpoint=Checkpoint.to_bucket(data, "checkpoints/"),
        debug_hook=DebugHookConfig(output=S3Location.of(data, "debug/")),
        completion=Completion.wait_condition(),
    )
    TrainingJob(
        stack,
        "Custom",
        image=TrainingImage.from_ecr_repository(repository, "v1"),
        output=TrainingOutput.to_bucket(data, "custom/"),
        completion=Completion.none(),
    )
    TrainingJob(
        stack,
        "Built",
        image=TrainingImage.from_asset(str(FIXTURES / "image")),
        output=TrainingOutput.to_bucket(data, "built/"),
    )
