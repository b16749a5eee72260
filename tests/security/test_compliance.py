"""Compliance packs (cdk-nag 3: AwsSolutions, NIST 800-53 rev 5, HIPAA Security):
zero unacknowledged findings on the sample app, on a stack using every feature,
and on a user's stack with a default job and no acknowledgment of the user's."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Acknowledgment, Annotations, App, Duration, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler

from constructs_lib import (
    ContinuousRange,
    HyperparameterTuningJob,
    ModelPackageGroup,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TuningObjective,
)
from constructs_lib.definition._cautions import BUCKET_KEY_WARNING_ID
from sample_app.app import build_app
from tests.every_job import add_every_job
from tests.flags import FLAG_SETS
from tests.nag import findings

IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
#: Each gate runs on an app without feature flags and on one with those cdk init writes.
with_flags = pytest.mark.parametrize("flags", FLAG_SETS.values(), ids=FLAG_SETS.keys())


@with_flags
def test_sample_app_passes_all_packs(flags: dict[str, Any]) -> None:
    assert findings(build_app, context=flags) == []


@with_flags
def test_sample_app_in_two_stacks_passes_all_packs(flags: dict[str, Any]) -> None:
    assert findings(build_app, context={"sample:composition": "true", **flags}) == []


@with_flags
def test_sample_app_with_guardrails_passes_all_packs(flags: dict[str, Any]) -> None:
    assert findings(build_app, context={"sample:guardrails": "true", **flags}) == []


@with_flags
def test_sample_app_as_a_long_job_passes_all_packs(flags: dict[str, Any]) -> None:
    assert findings(build_app, context={"sample:completion": "wait_condition", **flags}) == []


@with_flags
def test_sample_app_tuning_passes_all_packs(flags: dict[str, Any]) -> None:
    assert findings(build_app, context={"sample:tuning": "true", **flags}) == []


@with_flags
def test_sample_app_training_its_own_script_passes_all_packs(flags: dict[str, Any]) -> None:
    assert findings(build_app, context={"sample:training": "script", **flags}) == []


@with_flags
def test_a_default_job_needs_no_acknowledgment_from_the_user(flags: dict[str, Any]) -> None:
    def build(app: App) -> None:
        stack = Stack(app, "User")
        data = s3.Bucket.from_bucket_name(stack, "Data", "my-training-data")
        Annotations.of(stack).acknowledge_warning(BUCKET_KEY_WARNING_ID, SSE_S3)
        TrainingJob(
            stack,
            "Train",
            image=TrainingImage.from_registry(IMAGE),
            inputs=[TrainingInput.from_bucket("train", data, "train/")],
            output=TrainingOutput.to_bucket(data, "models/"),
        )

    assert findings(build, packs=("AwsSolutions",), context=flags) == []
    assert findings(build, context=flags) == []


@with_flags
def test_tuning_jobs_need_no_acknowledgment_from_the_user(flags: dict[str, Any]) -> None:
    # A generated name, and a fixed one (its training jobs' names are '<name>-*').
    def build(app: App) -> None:
        stack = Stack(app, "User")
        data = s3.Bucket.from_bucket_name(stack, "Data", "my-training-data")
        Annotations.of(stack).acknowledge_warning(BUCKET_KEY_WARNING_ID, SSE_S3)
        for index, name in enumerate((None, "Fixed-Tuning")):
            HyperparameterTuningJob(
                stack,
                f"Tune{index}",
                training=TrainingDefinition(
                    image=TrainingImage.from_registry(IMAGE),
                    inputs=[TrainingInput.from_bucket("train", data, f"train/{index}/")],
                    output=TrainingOutput.to_bucket(data, f"tuning/{index}/"),
                ),
                objective=TuningObjective.minimize("validation:rmse"),
                ranges=[ContinuousRange("eta", 0.1, 0.5)],
                tuning_job_name=name,
            )

    assert findings(build, context=flags) == []


@with_flags
def test_jobs_sharing_a_role_need_no_acknowledgment_from_the_user(flags: dict[str, Any]) -> None:
    # Their grants are packed into the library's managed policies on the user's role.
    def build(app: App) -> None:
        stack = Stack(app, "User")
        data = s3.Bucket.from_bucket_name(stack, "Data", "my-training-data")
        Annotations.of(stack).acknowledge_warning(BUCKET_KEY_WARNING_ID, SSE_S3)
        role = iam.Role(stack, "Shared", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
        for index in range(3):
            TrainingJob(
                stack,
                f"Train{index}",
                image=TrainingImage.from_registry(IMAGE),
                inputs=[TrainingInput.from_bucket("train", data, f"train/{index}/")],
                output=TrainingOutput.to_bucket(data, f"models/{index}/"),
                role=role,
            )

    assert findings(build, context=flags) == []


#: How a user acknowledges the warning of a bucket imported without its key.
SSE_S3 = "my-training-data is encrypted with S3-managed keys: no KMS grant is needed"


def _compliant_bucket(stack: Stack, construct_id: str, key: kms.IKey) -> s3.Bucket:
    bucket = s3.Bucket(
        stack,
        construct_id,
        encryption_key=key,
        enforce_ssl=True,
        versioned=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
    )
    Validations.of(bucket).acknowledge(
        *(
            Acknowledgment(id=rule, reason="A test fixture: the user's bucket, not ours.")
            for rule in (
                "AwsSolutions-S1",
                "NIST.800.53.R5-S3BucketLoggingEnabled",
                "HIPAA.Security-S3BucketLoggingEnabled",
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "HIPAA.Security-S3BucketReplicationEnabled",
            )
        )
    )
    return bucket


@with_flags
def test_a_stack_using_every_feature_passes_all_packs(flags: dict[str, Any]) -> None:
    def build(app: App) -> None:
        stack = Stack(app, "Everything")
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        data = _compliant_bucket(stack, "Data", key)
        vpc = ec2.Vpc(
            stack,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="jobs", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
            ],
            flow_logs={"all": ec2.FlowLogOptions()},
        )
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        Validations.of(vpc).acknowledge(
            *(
                Acknowledgment(id=rule, reason="A test fixture: the user's VPC, not ours.")
                for rule in (
                    "NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
                    "HIPAA.Security-VPCDefaultSecurityGroupClosed",
                    "NIST.800.53.R5-IAMNoInlinePolicy",
                    "HIPAA.Security-IAMNoInlinePolicy",
                    "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
                    "HIPAA.Security-CloudWatchLogGroupEncrypted",
                )
            )
        )
        add_every_job(stack, data=data, key=key, vpc=vpc)

    assert findings(build, context=flags) == []


def test_the_gate_reports_what_is_not_acknowledged() -> None:
    """Proves the packs run and fail: a user bucket without logging is reported."""

    def build(app: App) -> None:
        stack = Stack(app, "Plain")
        s3.Bucket(stack, "Bucket", enforce_ssl=True)

    reported = findings(build, packs=("AwsSolutions",))
    assert "AwsSolutions-S1 @ Plain/Bucket/Resource" in reported


@with_flags
def test_sample_app_promoting_models_passes_all_packs(flags: dict[str, Any]) -> None:
    # A quality gate, the registry, the endpoint serving the version, nightly retraining.
    assert findings(build_app, context={"sample:promote": "true", **flags}) == []


@with_flags
def test_sample_app_pipeline_passes_all_packs(flags: dict[str, Any]) -> None:
    # Prepare and evaluate (processing jobs), the report's gate, the registry.
    assert findings(build_app, context={"sample:pipeline": "true", **flags}) == []


@with_flags
def test_a_registered_and_scheduled_job_needs_no_acknowledgment_from_the_user(
    flags: dict[str, Any],
) -> None:
    def build(app: App) -> None:
        stack = Stack(app, "User")
        data = s3.Bucket.from_bucket_name(stack, "Data", "my-training-data")
        Annotations.of(stack).acknowledge_warning(BUCKET_KEY_WARNING_ID, SSE_S3)
        group = ModelPackageGroup(stack, "Registry")
        job = TrainingJob(
            stack,
            "Train",
            image=TrainingImage.from_registry(IMAGE),
            inputs=[TrainingInput.from_bucket("train", data, "train/")],
            output=TrainingOutput.to_bucket(data, "models/"),
        )
        job.register_model(group)
        job.retrain_on_schedule(scheduler.ScheduleExpression.rate(Duration.days(1)), register=group)

    assert findings(build, context=flags) == []
