"""What the integration tests (``integ_*.py``) share: the sample's data, a bucket the
destroy empties and deletes, and the assertions that call SageMaker and S3 after the
deploy (``integ-tests-alpha``), whose results the runner reads from the assertion
stack's outputs.

Each ``integ_*.py`` is an app in the CDK's convention: ``python tests/integ/integ_x.py``
synthesizes its test stacks and their ``DeployAssert`` stack; ``make integ-deploy``
deploys them on your account, reads the assertions' results and destroys them; ``make
test`` checks their committed snapshots offline (``tests/integ/test_snapshots.py``)."""

from __future__ import annotations

import sys
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import integ_tests_alpha as integ

from constructs_lib import (
    Completion,
    InstanceType,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
)

ROOT = Path(__file__).resolve().parents[2]
#: The sample's data: a small house-prices regression (train and validation CSVs).
DATA = ROOT / "sample_app" / "data"
#: The instance type every integration test trains, processes and transforms on.
INSTANCE_TYPE = "ml.m5.xlarge"


def import_sample_app() -> None:
    """Make ``sample_app`` importable when the app runs as ``python tests/integ/...``."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def disposable_bucket(stack: Stack, construct_id: str = "Data") -> s3.Bucket:
    """A bucket for the test's data and artifacts that the destroy empties and
    deletes."""
    return s3.Bucket(
        stack,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        removal_policy=RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )


def sample_inputs() -> list[TrainingInput]:
    """The sample's train and validation CSVs, as the stack's assets."""
    return [
        TrainingInput.from_asset(channel, str(DATA / f"{channel}.csv"), content_type="text/csv")
        for channel in ("train", "validation")
    ]


#: The built-in XGBoost, and the hyperparameters of a short regression.
XGBOOST = TrainingImage.from_algorithm("xgboost", "1.7-1")
XGBOOST_HYPERPARAMETERS = {"objective": "reg:squarederror", "num_round": "20"}


def xgboost_job(
    stack: Stack, bucket: s3.IBucket, *, max_runtime: Duration, completion: Completion
) -> TrainingJob:
    """The built-in XGBoost on the sample's data, its model under ``models/`` of
    ``bucket``, its record deleted with the stack."""
    return TrainingJob(
        stack,
        "Train",
        image=XGBOOST,
        inputs=sample_inputs(),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        instance_type=InstanceType.of(INSTANCE_TYPE),
        max_runtime=max_runtime,
        hyperparameters=XGBOOST_HYPERPARAMETERS,
        completion=completion,
        removal_policy=RemovalPolicy.DESTROY,
    )


#: Each job kind's Describe call and its status member.
_DESCRIBE = {
    "training": ("describeTrainingJob", "TrainingJobName", "TrainingJobStatus"),
    "tuning": (
        "describeHyperParameterTuningJob",
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobStatus",
    ),
    "processing": ("describeProcessingJob", "ProcessingJobName", "ProcessingJobStatus"),
    "transform": ("describeTransformJob", "TransformJobName", "TransformJobStatus"),
}


def expect_completed(test: integ.IntegTest, kind: str, name: str) -> integ.IApiCall:
    """After the deploy, SageMaker describes the job ``name`` of ``kind`` as
    ``Completed``."""
    api, member, status = _DESCRIBE[kind]
    call = test.assertions.aws_api_call("SageMaker", api, {member: name})
    call.expect(integ.ExpectedResult.object_like({status: "Completed"}))
    return call


def expect_object(
    test: integ.IntegTest, bucket: s3.IBucket, key: str, *, encryption_key: kms.IKey | None = None
) -> integ.IApiCall:
    """After the deploy, the object ``key`` of ``bucket`` exists (GetObjectAttributes
    answers its ETag; a missing object fails the call, and the assertion stack with
    it). ``encryption_key``: the KMS key the object may be encrypted with."""
    call = test.assertions.aws_api_call(
        "S3",
        "getObjectAttributes",
        {"Bucket": bucket.bucket_name, "Key": key, "ObjectAttributes": ["ETag"]},
    )
    call.expect(integ.ExpectedResult.object_like({"ETag": integ.Match.string_like_regexp(".+")}))
    # S3 also requires s3:GetObject for GetObjectAttributes.
    call.provider.add_to_role_policy(
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [bucket.arn_for_objects(key)]}
    )
    if encryption_key is not None:
        call.provider.add_to_role_policy(
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [encryption_key.key_arn]}
        )
    return call
