"""Props typed at the boundary, as aws-cdk-lib's constructs are: a value of the wrong
type is a TypeError naming the construct path, the prop, the value and the expected
type (never an AttributeError from inside); the library's InstanceType wherever an
instance type is asked; NumPy scalars as hyperparameters; 'Did you mean ...?' for a
misspelt choice; and Tags.of(scope) reaching every job."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aws_cdk import App, Environment, Stack, Tags, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import (
    ContinuousRange,
    HyperparameterTuningJob,
    InstanceType,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingJob,
    TrainingOutput,
    TrainingQueue,
    TuningObjective,
)

ENV = Environment(account="123456789012", region="us-east-1")


def _stack() -> tuple[Stack, s3.IBucket]:
    stack = Stack(App(), "Ml", env=ENV)
    return stack, s3.Bucket.from_bucket_name(stack, "Data", "ml-data")


def _job(stack: Stack, bucket: s3.IBucket, construct_id: str = "Job", **props: Any) -> TrainingJob:
    defaults: dict[str, Any] = {
        "image": TrainingImage.from_algorithm("kmeans"),
        "output": TrainingOutput.to_bucket(bucket, "models/"),
    }
    return TrainingJob(stack, construct_id, **{**defaults, **props})


@pytest.mark.parametrize(
    ("prop", "value", "message"),
    [
        ("max_runtime", 1800, r"max_runtime: 1800 is invalid: expected Duration \| None, got int"),
        ("volume_size", 30, r"volume_size: 30 is invalid: expected Size \| None, got int"),
        (
            "vpc_subnets",
            [],
            r"vpc_subnets: \[\] is invalid: expected SubnetSelection \| None, got list",
        ),
        ("vpc", "vpc-0123", r"vpc: 'vpc-0123' is invalid: expected IVpc \| None, got str"),
        (
            "output",
            {"bucket": "ml-data"},
            r"output: \{'bucket': 'ml-data'\} is invalid: expected TrainingOutput, got dict",
        ),
        ("tags", {"team": 7}, r"tags: \{'team': 7\} is invalid: expected Mapping\[str, str\]"),
        ("instance_count", "2", r"instance_count: '2' is invalid: expected int \| None, got str"),
        (
            "instance_type",
            "ml.m5.xlarge",
            r"instance_type: 'ml.m5.xlarge' is invalid: expected InstanceType \| None, got str",
        ),
    ],
)
def test_a_value_of_the_wrong_type_names_path_prop_value_and_type(
    prop: str, value: Any, message: str
) -> None:
    stack, bucket = _stack()
    with pytest.raises(TypeError, match=r"^\[Ml/Job\] " + message):
        _job(stack, bucket, **{prop: value})


def test_one_security_group_for_a_list_and_a_class_for_an_instance() -> None:
    stack, bucket = _stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=1, nat_gateways=0)
    group = ec2.SecurityGroup(stack, "Group", vpc=vpc)
    with pytest.raises(
        TypeError,
        match=r"^\[Ml/Job\] security_groups: .* is invalid: expected "
        r"Sequence\[ISecurityGroup\] \| None, got SecurityGroup$",
    ):
        _job(stack, bucket, vpc=vpc, security_groups=group)
    with pytest.raises(TypeError, match=r"security_groups: .* got the class SecurityGroup$"):
        _job(stack, bucket, "Other", vpc=vpc, security_groups=ec2.SecurityGroup)


def test_tokens_and_the_other_constructors_are_checked_alike() -> None:
    stack, bucket = _stack()
    # A number token (a parameter's value) is a float: fine for an int prop.
    _job(stack, bucket, instance_count=Token.as_number("2"))
    with pytest.raises(
        TypeError, match=r"^\[Ml/Tune\] objective: 'validation:rmse' is invalid: expected "
    ):
        HyperparameterTuningJob(
            stack,
            "Tune",
            training=TrainingDefinition(
                image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
            ),
            objective="validation:rmse",  # type: ignore[arg-type]
            ranges=[ContinuousRange("eta", 0.1, 0.5)],
        )
    with pytest.raises(
        TypeError, match=r"^\[TrainingDefinition\] max_runtime: 600 is invalid: expected Duration"
    ):
        TrainingDefinition(
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            max_runtime=600,  # type: ignore[arg-type]
        )
    with pytest.raises(
        TypeError, match=r"^\[Ml/Queue\] max_instances: '4' is invalid: expected int, got str"
    ):
        TrainingQueue(stack, "Queue", max_instances="4")  # type: ignore[arg-type]


def _framework_job(tmp_path: Path, **props: Any) -> tuple[Stack, TrainingJob]:
    (tmp_path / "train.py").write_text("print('loss=1')\n")
    stack, bucket = _stack()
    return stack, _job(
        stack,
        bucket,
        image=TrainingImage.from_framework("pytorch", "2.5", py_version="py311"),
        instance_type=InstanceType.of("ml.g5.xlarge"),
        code=TrainingCode.from_directory(str(tmp_path), entry_point="train.py"),
        **props,
    )


def test_instance_types_and_numpy_values_are_taken_as_they_come(tmp_path: Path) -> None:
    stack, job = _framework_job(
        tmp_path, hyperparameters={"epochs": np.int64(5), "lr": np.float32(0.5), "n": [np.int8(1)]}
    )
    hyperparameters = stack.resolve(job.request["HyperParameters"])
    assert {k: json.loads(hyperparameters[k]) for k in ("epochs", "lr", "n")} == {
        "epochs": 5,
        "lr": 0.5,
        "n": [1],
    }
    by_type = job.inference_container(
        entry_point="train.py", instance_type=InstanceType.of("ml.g5.xlarge")
    )
    by_name = job.inference_container(entry_point="train.py", instance_type="ml.g5.xlarge")
    assert stack.resolve(by_type.image) == stack.resolve(by_name.image)
    assert "-gpu-" in str(stack.resolve(by_type.image))
    with pytest.raises(TypeError, match=r"^\[Ml/Job\] instance_type: 5 is invalid"):
        job.inference_container(entry_point="train.py", instance_type=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: TrainingImage.from_algorithm("xgbost"),
            r"'xgbost' is invalid: SageMaker's built-in algorithms are .*\. Did you mean "
            r"'xgboost'\?",
        ),
        (
            lambda: TrainingImage.from_algorithm("xgboost", "1.7-2"),
            r"version '1.7-2' of 'xgboost' is invalid: .*Did you mean '1.7-1'\?",
        ),
    ],
)
def test_a_misspelt_choice_gets_a_suggestion(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_a_misspelt_instance_type_or_framework_gets_a_suggestion(tmp_path: Path) -> None:
    stack, bucket = _stack()
    with pytest.raises(
        ValueError,
        match=r"ResourceConfig\.InstanceType \(instance_type\): 'ml\.m5\.xlarg' is invalid: must "
        r"be one of .*Did you mean 'ml\.m5\.xlarge'\?",
    ):
        _job(stack, bucket, instance_type=InstanceType.of("ml.m5.xlarg"))
    with pytest.raises(ValueError, match=r"'pytorh' is invalid: .*Did you mean 'pytorch'\?"):
        _job(stack, bucket, "Other", image=TrainingImage.from_framework("pytorh", "2.5"))


def test_tags_of_a_scope_reach_every_kind_of_job() -> None:
    stack, bucket = _stack()
    own = _job(stack, bucket, "Own", tags={"team": "ml", "app": "churn"})
    _job(stack, bucket, "Plain")
    queued = _job(
        stack,
        bucket,
        "Queued",
        queue=TrainingQueue.from_job_queue_arn(
            stack, "Queue", "arn:aws:batch:us-east-1:123456789012:job-queue/q"
        ),
    )
    HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
        ),
        objective=TuningObjective.minimize("validation:rmse"),
        ranges=[ContinuousRange("eta", 0.1, 0.5)],
    )
    Tags.of(stack).add("cost-center", "42")
    Tags.of(own).add("team", "platform")  # a more specific Tags.of wins, as on any L1

    resources = Template.from_stack(stack).to_json()["Resources"]

    def tags(prefix: str) -> list[dict[str, str]]:
        [properties] = [
            r["Properties"]
            for k, r in resources.items()
            if k.startswith(prefix)
            and r["Type"].startswith("Custom::SageMaker")
            and r["Type"].endswith("Job")
        ]
        request = properties.get("TrainingJobRequest") or properties["TuningJobRequest"]
        found: list[dict[str, str]] = request["Tags"]
        return found

    assert tags("Own") == [
        {"Key": "app", "Value": "churn"},
        {"Key": "cost-center", "Value": "42"},
        {"Key": "team", "Value": "platform"},
    ]
    for prefix in ("Plain", "Tune"):
        assert tags(prefix) == [{"Key": "cost-center", "Value": "42"}]
    # The handler puts a queued job's request tags on its service job (and so on the
    # training job Batch starts).
    assert queued.tags.tag_values() == {"cost-center": "42"}
    assert tags("Queued") == [{"Key": "cost-center", "Value": "42"}]


def test_tags_of_a_scope_count_against_the_limit_at_synth() -> None:
    stack, bucket = _stack()
    _job(stack, bucket, tags={f"k{i:02d}": "v" for i in range(40)})
    for index in range(7):
        Tags.of(stack).add(f"org{index}", "x")
    with pytest.raises(
        RuntimeError,
        match=r"\[Ml/Job\] Tags \(tags, Tags\.of\): 47 is invalid: must have at most 46 tags",
    ):
        App.of(stack).synth()  # type: ignore[union-attr]
