"""Mistakes a new user makes that synth used to accept (rendering nonsense, failing
at deploy) or answer with aws-cdk-lib's bare jsii error, or answer twice: each is one
``ValueError`` naming the construct path, the prop, the value and the rule, or a
synth warning where the value is legal but almost surely a mistake."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Size, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match

from constructs_lib import (
    Checkpoint,
    Completion,
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
from constructs_lib.tuning._tuning_job import RUNTIME_WARNING_ID

ENV = Environment(account="123456789012", region="eu-west-1")


def _job(**props: Any) -> TrainingJob:
    stack = Stack(App(), "Ml", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    defaults: dict[str, Any] = {
        "image": TrainingImage.from_algorithm("kmeans"),
        "output": TrainingOutput.to_bucket(bucket, "models/"),
    }
    for name, make in list(props.items()):
        if callable(make) and name != "image":
            props[name] = make(stack, bucket)
    return TrainingJob(stack, "Job", **{**defaults, **props})


def _isolated_vpc(stack: Stack) -> ec2.Vpc:
    return ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {
                "inputs": lambda _, b: [
                    TrainingInput.from_bucket("train", b, "s3://churn-data/train/")
                ]
            },
            r"^\[Ml/Job\] InputDataConfig\[0\]\.DataSource\.S3DataSource\.S3Uri \(inputs\): "
            r"'s3://churn-data/train/' is invalid: is a key prefix in the bucket, e\.g\. "
            r"'train/': not an s3:// URI, and without a leading /$",
        ),
        (
            {"inputs": lambda _, b: [TrainingInput.from_bucket("train", b, "/train/")]},
            r"S3Uri \(inputs\): '/train/' is invalid: is a key prefix in the bucket",
        ),
        (
            {"output": lambda _, b: TrainingOutput.to_bucket(b, "s3://models/")},
            r"^\[Ml/Job\] OutputDataConfig\.S3OutputPath \(output\): 's3://models/' is invalid",
        ),
        (
            {"checkpoint": lambda _, b: Checkpoint.to_bucket(b, "/checkpoints/")},
            r"^\[Ml/Job\] CheckpointConfig\.S3Uri \(checkpoint\): '/checkpoints/' is invalid",
        ),
        (
            {
                "volume_encryption_key": lambda s, _: kms.Key.from_key_arn(
                    s,
                    "Other",
                    "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                )
            },
            r"^\[Ml/Job\] ResourceConfig\.VolumeKmsKeyId \(volume_encryption_key\): "
            r"'arn:aws:kms:us-east-1:.*' is invalid: the key is in us-east-1, the job in "
            r"eu-west-1: SageMaker encrypts with keys of the job's region",
        ),
        (
            {"completion": Completion.wait(poll_interval=Duration.seconds(5))},
            r"^\[Ml/Job\] completion\.poll_interval \(completion\): 5 is invalid: the provider "
            r"queries a job every 30 seconds: the poll interval must be a multiple of 30 "
            r"seconds, from 30 to 2700",
        ),
        (
            {"completion": Completion.wait(poll_interval=Duration.seconds(45))},
            r"completion\.poll_interval \(completion\): 45 is invalid",
        ),
        (
            {"volume_size": Size.mebibytes(500)},
            r"^\[Ml/Job\] ResourceConfig\.VolumeSizeInGB \(volume_size\): '500 MiB' is invalid: "
            r"SageMaker sizes volumes in whole GiB: use Size\.gibibytes\(\.\.\.\)$",
        ),
        (
            {
                "vpc": lambda s, _: _isolated_vpc(s),
                "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            },
            r"^\[Ml/Job\] vpc_subnets: SubnetSelection\(subnet_type=PRIVATE_WITH_EGRESS\) is "
            r"invalid: Ml/Vpc cannot provide it: There are no 'Private' subnet groups in this "
            r"VPC\. Available types: Isolated",
        ),
        (
            {
                "vpc": lambda s, _: _isolated_vpc(s),
                "vpc_subnets": ec2.SubnetSelection(subnet_group_name="training"),
            },
            r"^\[Ml/Job\] vpc_subnets: SubnetSelection\(subnet_group_name='training'\) is invalid: "
            r"Ml/Vpc cannot provide it: There are no subnet groups with name 'training' in this "
            r"VPC\. Available names: data$",
        ),
    ],
)
def test_mistakes_fail_naming_path_prop_value_and_rule(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _job(**props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"instance_count": -3},
            r"^\[Ml/Job\] ResourceConfig\.InstanceCount \(instance_count\): -3 is invalid: must "
            r"be at least 1$",
        ),
        (
            {"tags": {f"k{i}": "v" for i in range(60)}},
            r"^\[Ml/Job\] Tags \(tags\): 60 is invalid: must have at most 46 tags \(SageMaker "
            r"allows 50; the library adds 4 to recognise its jobs\)$",
        ),
    ],
)
def test_one_mistake_gives_one_message(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _job(**props)


def _tuning(**props: Any) -> HyperparameterTuningJob:
    stack = Stack(App(), "Ml", env=ENV)
    bucket = s3.Bucket(stack, "Data")
    training = props.pop("training", {})
    return HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            inputs=[TrainingInput.from_bucket("train", bucket, training.pop("prefix", "train/"))],
            **training,
        ),
        objective=TuningObjective.minimize("validation:rmse"),
        ranges=[ContinuousRange("eta", 0.1, 0.5)],
        **props,
    )


def test_a_tuning_definitions_prefix_mistake_names_its_prop() -> None:
    with pytest.raises(
        ValueError,
        match=r"^\[Ml/Tune\] TrainingJobDefinition\.InputDataConfig\[0\]\.DataSource\."
        r"S3DataSource\.S3Uri \(training\.inputs\): 's3://data/train/' is invalid",
    ):
        _tuning(training={"prefix": "s3://data/train/"})


def test_a_default_tuning_runtime_its_jobs_outlast_warns() -> None:
    # 30 jobs of up to 30 minutes, one at a time, in the default 45 minutes.
    tuning = _tuning(max_jobs=30, training={"max_runtime": Duration.minutes(30)})
    Annotations.from_stack(Stack.of(tuning)).has_warning(
        "/Ml/Tune",
        Match.string_like_regexp(
            r"max_runtime: the default \(2700 s, what WAIT waits\) cannot fit the training "
            r"jobs: 30 jobs, 1 at a time, up to 1800 s each, may need 54000 s.*\[ack: "
            + RUNTIME_WARNING_ID
        ),
    )
    # A max runtime the user chose is theirs: no warning.
    chosen = _tuning(
        max_jobs=30,
        max_runtime=Duration.minutes(45),
        training={"max_runtime": Duration.minutes(30)},
    )
    Annotations.from_stack(Stack.of(chosen)).has_no_warning("*", Match.any_value())


def test_metric_definitions_take_name_and_regex_in_order() -> None:
    metric = MetricDefinition("validation:rmse", r"rmse=([0-9.]+)")
    assert metric.render() == {"Name": "validation:rmse", "Regex": r"rmse=([0-9.]+)"}
