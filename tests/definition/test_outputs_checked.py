"""What synth can know of the library's own outputs, said at synth instead of after a
paid run: metric regexes SageMaker could not read a value with, a metric read that
the job never reports, a requirements.txt a job without network may not install,
buckets of another region, public subnets, and the artifacts of a job nobody waits
for (each naming the construct path, the prop, the value and the rule)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match

from constructs_lib import (
    Checkpoint,
    Completion,
    ContinuousRange,
    HyperparameterTuningJob,
    MetricDefinition,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TuningObjective,
)
from constructs_lib.definition._mistakes import PIP_WITHOUT_NETWORK_WARNING_ID
from constructs_lib.training._training_job import (
    PUBLIC_SUBNETS_WARNING_ID,
    UNFINISHED_ARTIFACTS_WARNING_ID,
)

ENV = Environment(account="123456789012", region="eu-west-1")


def _stack() -> tuple[Stack, s3.IBucket]:
    stack = Stack(App(), "Ml", env=ENV)
    return stack, s3.Bucket.from_bucket_name(stack, "Data", "ml-data")


def _job(stack: Stack, bucket: s3.IBucket, **props: Any) -> TrainingJob:
    defaults: dict[str, Any] = {
        "image": TrainingImage.from_registry("123456789012.dkr.ecr.eu-west-1.amazonaws.com/own:1"),
        "output": TrainingOutput.to_bucket(bucket, "models/"),
    }
    return TrainingJob(stack, "Job", **{**defaults, **props})


@pytest.mark.parametrize(
    ("regex", "rule"),
    [
        (r"rmse=[0-9.]+", r"has 0 capture groups: SageMaker reads rmse's value from exactly one"),
        (r"(rmse)=([0-9.]+)", r"has 2 capture groups"),
        (r"rmse=([0-9.]+", r"does not compile as a regex: missing \), unterminated subpattern"),
    ],
)
def test_a_metric_regex_must_give_one_value(regex: str, rule: str) -> None:
    stack, bucket = _stack()
    with pytest.raises(
        ValueError,
        match=r"^\[Ml/Job\] AlgorithmSpecification\.MetricDefinitions\[0\]\.Regex "
        r"\(metric_definitions\): '.*' is invalid: " + rule,
    ):
        _job(stack, bucket, metric_definitions=[MetricDefinition("rmse", regex)])


def test_a_tuning_definitions_metric_regex_too() -> None:
    stack, bucket = _stack()
    with pytest.raises(
        ValueError,
        match=r"^\[Ml/Tune\] TrainingJobDefinition\.AlgorithmSpecification\.MetricDefinitions"
        r"\[0\]\.Regex \(training\.metric_definitions\): 'loss' is invalid: has 0 capture",
    ):
        HyperparameterTuningJob(
            stack,
            "Tune",
            training=TrainingDefinition(
                image=TrainingImage.from_registry("1.dkr.ecr.eu-west-1.amazonaws.com/own:1"),
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
                metric_definitions=[MetricDefinition("loss", "loss")],
            ),
            objective=TuningObjective.minimize("loss"),
            ranges=[ContinuousRange("lr", 0.1, 0.5)],
        )


def test_a_metric_read_must_be_one_the_job_reports() -> None:
    stack, bucket = _stack()
    job = _job(
        stack, bucket, metric_definitions=[MetricDefinition("validation:rmse", r"rmse=(\S+)")]
    )
    assert job.metric("validation:rmse")
    with pytest.raises(
        ValueError,
        match=r"^\[Ml/Job\] metric: 'validation:rsme' is invalid: the job reports only the "
        r"metrics its metric_definitions capture from its log \('validation:rmse'\)\. Did you "
        r"mean 'validation:rmse'\? To read it, add MetricDefinition\('validation:rsme', ",
    ):
        job.metric("validation:rsme")
    # A built-in algorithm reports metrics of its own: any name may be read.
    stack, bucket = _stack()
    builtin = _job(stack, bucket, image=TrainingImage.from_algorithm("xgboost", "1.7-1"))
    assert builtin.metric("validation:auc")


def _code(folder: Path, requirements: str) -> TrainingCode:
    folder.mkdir()
    (folder / "train.py").write_text("print('loss=1')\n")
    (folder / "requirements.txt").write_text(requirements)
    return TrainingCode.from_directory(str(folder), entry_point="train.py")


def test_a_job_without_network_that_pip_installs_from_an_index_warns(tmp_path: Path) -> None:
    """A warning, not an error: what the container already has installs offline."""
    framework = TrainingImage.from_framework("sklearn", "1.2-1")
    for name, requirements, warned in [
        ("index", "pandas==2.2\n", True),
        # Wheels shipped in the code, installed without an index: fine.
        ("wheels", "--no-index\n--find-links wheels\npandas==2.2\n", False),
        ("comments", "# none\n\n", False),
    ]:
        stack, bucket = _stack()
        _job(
            stack,
            bucket,
            image=framework,
            code=_code(tmp_path / name, requirements),
            network_isolation=True,
        )
        found = Annotations.from_stack(stack).find_warning(
            "/Ml/Job", Match.string_like_regexp(PIP_WITHOUT_NETWORK_WARNING_ID)
        )
        assert len(found) == (1 if warned else 0), name
        if warned:
            assert str(found[0].entry.data).startswith(
                "network_isolation: the code's requirements.txt names packages pip installs "
                "from a package index, and a job without network access reaches none"
            )


@pytest.mark.parametrize("where", ["inputs", "output", "checkpoint"])
def test_a_bucket_of_another_region_is_refused(where: str) -> None:
    stack, bucket = _stack()
    far = s3.Bucket.from_bucket_attributes(stack, "Far", bucket_name="far-data", region="us-west-2")
    props: dict[str, Any] = {
        "inputs": {"inputs": [TrainingInput.from_bucket("train", far, "train/")]},
        "output": {"output": TrainingOutput.to_bucket(far, "models/")},
        "checkpoint": {"checkpoint": Checkpoint.to_bucket(far, "checkpoints/")},
    }[where]
    with pytest.raises(
        ValueError,
        match=rf"^\[Ml/Job\] .* \({where}\): 'far-data' is invalid: the bucket is in "
        r"us-west-2, the job in eu-west-1: SageMaker reads and writes S3 in the job's region",
    ):
        _job(stack, bucket, **props)


def test_public_subnets_and_unfinished_artifacts_warn() -> None:
    stack, bucket = _stack()
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=1)
    job = _job(
        stack,
        bucket,
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        completion=Completion.none(),
    )
    assert job.model_data_url
    assert job.model_data_url  # read twice: warned once
    annotations = Annotations.from_stack(stack)
    annotations.has_warning(
        "/Ml/Job",
        Match.string_like_regexp(
            r"The job runs in public subnets of Ml/Vpc: SageMaker gives training instances "
            rf"no public IP.*\[ack: {PUBLIC_SUBNETS_WARNING_ID}\]"
        ),
    )
    unfinished = annotations.find_warning(
        "/Ml/Job", Match.string_like_regexp(UNFINISHED_ARTIFACTS_WARNING_ID)
    )
    assert len(unfinished) == 1
    assert "created before the artifacts exist" in str(unfinished[0].entry.data)
