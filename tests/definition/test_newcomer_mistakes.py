"""What a second newcomer (from the SageMaker SDK and Pipelines, a three-stack PyTorch
app) did wrong that the library could see (issue 37, section 4): each is refused with
the construct's path, the prop, the value and the rule; or, where it may be meant, a
warning ending with its acknowledgement id; and a keyword of the SDK's, a string for a
typed value or a misspelt version gets the library's own message, not Python's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler

from constructs_lib import (
    CategoricalRange,
    Distribution,
    HyperparameterTuningJob,
    InstanceType,
    MetricDefinition,
    ModelPackageGroup,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TuningObjective,
)
from constructs_lib._shared.suggest import did_you_mean
from constructs_lib.definition._cautions import (
    BUCKET_KEY_WARNING_ID,
    HOSTS_WARNING_ID,
    IMMUTABLE_ROLE_WARNING_ID,
    OVERLAPPING_RUNS_WARNING_ID,
    SERVING_PROCESSOR_WARNING_ID,
    schedule_interval,
)
from constructs_lib.testing import warnings

EAST = Environment(account="123456789012", region="us-east-1")
WEST = Environment(account="123456789012", region="eu-west-1")
CODE = TrainingCode.from_directory("sample_app/code", entry_point="train.py")
TORCH = TrainingImage.from_framework("pytorch", "2.5.1", py_version="py311")
LOSS = MetricDefinition("loss", r"loss=([0-9.]+)")


def _stack(name: str = "Ml", env: Environment = EAST) -> tuple[Stack, s3.IBucket]:
    stack = Stack(App(), name, env=env)
    return stack, s3.Bucket(stack, "Data")


def _torch(stack: Stack, bucket: s3.IBucket, construct_id: str = "Job", **extra: Any) -> Any:
    props: dict[str, Any] = {
        "image": TORCH,
        "code": CODE,
        "output": TrainingOutput.to_bucket(bucket, "models/"),
        "instance_type": InstanceType.of("ml.g5.12xlarge"),
        **extra,
    }
    return TrainingJob(stack, construct_id, **props)


# -- refused ---------------------------------------------------------------------------


def test_a_categorical_range_of_one_string_is_refused() -> None:
    stack, bucket = _stack()
    with pytest.raises(ValueError) as raised:
        HyperparameterTuningJob(
            stack,
            "Tune",
            training=TrainingDefinition(
                image=TORCH,
                code=CODE,
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
                instance_type=InstanceType.of("ml.g5.xlarge"),
                metric_definitions=[LOSS],
            ),
            objective=TuningObjective.minimize("loss"),
            ranges=[CategoricalRange("batch-size", "64,128")],  # type: ignore[arg-type]
        )
    message = str(raised.value)
    assert message.startswith(
        "[Ml/Tune] HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges"
        "[0].Values (ranges): '64,128' is invalid: CategoricalRange('batch-size') takes a "
        "list of the values searched"
    )
    assert "character by character" in message


def test_a_volume_key_on_an_instance_with_local_storage_is_refused() -> None:
    stack, bucket = _stack()
    with pytest.raises(ValueError) as raised:
        _torch(stack, bucket, volume_encryption_key=kms.Key(stack, "Key"))
    message = str(raised.value)
    assert message.startswith("[Ml/Job] ResourceConfig.VolumeKmsKeyId (volume_encryption_key): ")
    assert "ml.g5.12xlarge store data on local NVMe volumes" in message
    assert "SageMaker refuses a volume key with them" in message
    # Without local storage, the key is taken.
    _torch(
        stack,
        bucket,
        "Fine",
        instance_type=InstanceType.of("ml.p3.2xlarge"),
        volume_encryption_key=kms.Key(stack, "Other"),
    )


def test_a_consumer_of_the_model_in_another_region_is_refused() -> None:
    app = App()
    trains = Stack(app, "Trains", env=EAST)
    serves = Stack(app, "Serves", env=WEST, cross_region_references=True)
    job = TrainingJob(
        trains,
        "Job",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        output=TrainingOutput.to_bucket(s3.Bucket(trains, "Data"), "models/"),
    )
    sagemaker.CfnModel(
        serves,
        "Model",
        execution_role_arn="arn:aws:iam::123456789012:role/serving",
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image=job.training_image_uri, model_data_url=job.model_data_url
        ),
    )
    with pytest.raises(RuntimeError) as raised:
        app.synth()
    assert (
        "[Serves/Model] reads model_data_url of Trains/Job: 'eu-west-1' is invalid: the "
        "model is in us-east-1"
    ) in str(raised.value)


# -- warned of -------------------------------------------------------------------------


class Warned:
    """One stack with each mistake the library warns of."""

    def __init__(self) -> None:
        self.stack, bucket = _stack()
        _torch(self.stack, bucket, "TwoHosts", instance_count=2)
        _torch(
            self.stack,
            bucket,
            "Distributed",
            instance_count=2,
            distribution=Distribution.torch_distributed(),
        )
        HyperparameterTuningJob(
            self.stack,
            "Tune",
            training=TrainingDefinition(
                image=TORCH,
                code=CODE,
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
                instance_type=InstanceType.of("ml.g5.xlarge"),
                instance_count=2,
                metric_definitions=[LOSS],
            ),
            objective=TuningObjective.minimize("loss"),
            ranges=[CategoricalRange("optimizer", ["adam", "sgd"])],
        )
        imported = s3.Bucket.from_bucket_name(self.stack, "Imported", "team-data")
        role = iam.Role.from_role_arn(
            self.stack, "Frozen", "arn:aws:iam::123456789012:role/ml", mutable=False
        )
        job = TrainingJob(
            self.stack,
            "Imports",
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            inputs=[TrainingInput.from_bucket("train", imported, "train/")],
            output=TrainingOutput.to_bucket(imported, "models/"),
            role=role,
            max_runtime=Duration.minutes(40),
        )
        job.retrain_on_schedule(scheduler.ScheduleExpression.rate(Duration.minutes(30)))
        served = _torch(self.stack, bucket, "Served")
        served.register_model(
            ModelPackageGroup(self.stack, "Registry"),
            container=served.inference_container(
                entry_point="train.py", instance_type="ml.m5.large"
            ),
            inference_instance_types=["ml.g5.xlarge"],
        )
        self.warnings = warnings(self.stack)

    def of(self, warning_id: str) -> list[str]:
        return [w for w in self.warnings if warning_id in w]


@pytest.fixture(scope="module")
def warned() -> Warned:
    return Warned()


def test_two_hosts_without_a_distribution_are_warned_of(warned: Warned) -> None:
    job, tune = warned.of(HOSTS_WARNING_ID)
    assert job.startswith("/Ml/TwoHosts: instance_count: 2 without distribution: the pytorch")
    assert "at 2 times the cost" in job and "Distribution.torch_distributed()" in job
    assert tune.startswith("/Ml/Tune: instance_count: 2 without distribution")
    assert not any("/Ml/Distributed:" in w for w in warned.warnings)


def test_a_bucket_imported_without_its_key_is_warned_of_once(warned: Warned) -> None:
    [warning] = warned.of(BUCKET_KEY_WARNING_ID)
    assert warning.startswith(
        "/Ml/Imports: output: the bucket 'team-data' is imported without its encryption key"
    )
    assert "from_bucket_attributes" in warning


def test_an_immutable_imported_role_is_warned_of(warned: Warned) -> None:
    [warning] = warned.of(IMMUTABLE_ROLE_WARNING_ID)
    assert warning.startswith("/Ml/Imports: role: Ml/Frozen is imported immutable (mutable=False)")


def test_a_schedule_more_frequent_than_a_run_is_warned_of(warned: Warned) -> None:
    [warning] = warned.of(OVERLAPPING_RUNS_WARNING_ID)
    assert warning.startswith(
        "/Ml/Imports: retrain_on_schedule: schedule: rate(30 minutes) starts a run every "
        "1800 s, and a run may take 2400 s"
    )


def test_a_cpu_serving_image_registered_for_gpu_instances_is_warned_of(warned: Warned) -> None:
    [warning] = warned.of(SERVING_PROCESSOR_WARNING_ID)
    assert warning.startswith(
        "/Ml/Served: register_model: inference_instance_types: ml.g5.xlarge need the GPU "
        "serving image"
    )
    assert "inference_container(instance_type='ml.g5.xlarge')" in warning


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(30 minutes)", 1800),
        ("rate(1 day)", 86400),
        ("cron(0 * * * ? *)", 3600),
        ("cron(*/15 * * * ? *)", 900),
        ("cron(0 */6 * * ? *)", 21600),
        ("cron(0 3,15 * * ? *)", 43200),
        ("cron(0 3 * * ? *)", None),
    ],
)
def test_a_schedules_interval_is_read_from_its_expression(
    expression: str, seconds: int | None
) -> None:
    assert schedule_interval(expression) == seconds


# -- the library's words ---------------------------------------------------------------


def _job(stack: Stack, bucket: s3.IBucket, **extra: Any) -> Any:
    return TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        **extra,
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s, b: _job(s, b, max_run=3600),
            "[Ml/Job] TrainingJob: max_run= is not a keyword of it: the SageMaker SDK's "
            "max_run= is max_runtime= (a Duration: Duration.minutes(40)) here",
        ),
        (
            lambda s, b: _job(s, b, use_spot_instances=True),
            "[Ml/Job] TrainingJob: use_spot_instances= is not a keyword of it: the SageMaker "
            "SDK's use_spot_instances= is spot_training=True here",
        ),
        (
            lambda s, b: _job(s, b, compute={"instance_type": "ml.g5.xlarge"}),
            "[Ml/Job] TrainingJob: compute= is not a keyword of it: the SageMaker SDK's "
            "compute= is instance_type=InstanceType.of(...) and instance_count= here",
        ),
        (
            lambda s, b: Distribution.torch_distributed(instance_count=2),  # type: ignore[call-arg]
            "Distribution.torch_distributed: instance_count= is not a keyword of it: the job "
            "has the instances: TrainingJob(instance_count=..., distribution=...)",
        ),
        (
            lambda s, b: TrainingDefinition(
                output=TrainingOutput.to_bucket(b, "m/"),
                keep_alive=Duration.minutes(10),  # type: ignore[call-arg]
            ),
            "TrainingDefinition: keep_alive= is not a keyword of it: a warm pool keeps",
        ),
        (
            lambda s, b: _job(s, b, max_runtme=Duration.minutes(5)),
            "[Ml/Job] TrainingJob: max_runtme= is not a keyword of it. Did you mean 'max_runtime'?",
        ),
        (
            lambda s, b: TrainingInput.from_bucket("train", "s3://team-data/train/"),  # type: ignore[arg-type]
            "[TrainingInput.from_bucket] bucket: 's3://team-data/train/' is invalid: expected "
            "IBucket, got str. A bucket is an s3.IBucket: s3.Bucket.from_bucket_name(",
        ),
        (
            lambda s, b: _job(s, b).register_model(
                ModelPackageGroup(s, "Registry"),
                approval="Approved",  # type: ignore[arg-type]
            ),
            "[Ml/Job] register_model: approval: 'Approved' is invalid: expected ModelApproval, "
            "got str. Write ModelApproval.APPROVED.",
        ),
        (
            lambda s, b: _job(s, b).retrain_on_schedule("cron(0 3 * * ? *)"),  # type: ignore[arg-type]
            "[Ml/Job] retrain_on_schedule: schedule: 'cron(0 3 * * ? *)' is invalid: expected "
            "ScheduleExpression, got str. Write ScheduleExpression.expression('cron(0 3 * * ? "
            "*)')",
        ),
        (
            lambda s, b: _job(s, b, tags={"team": b}),
            "[Ml/Job] tags: {'team': a Bucket (Ml/Data)} is invalid: expected Mapping[str, str] "
            "| None, got dict: its value for 'team', a Bucket (Ml/Data), is not str",
        ),
    ],
    ids=[
        "max_run",
        "use_spot_instances",
        "compute",
        "instance_count in a distribution",
        "keep_alive in a definition",
        "misspelt",
        "uri for a bucket",
        "approval string",
        "cron string",
        "bucket as a tag value",
    ],
)
def test_the_library_answers_in_its_own_words(
    call: Callable[[Stack, s3.IBucket], Any], message: str
) -> None:
    stack, bucket = _stack()
    with pytest.raises(TypeError) as raised:
        call(stack, bucket)
    assert str(raised.value).startswith(message), str(raised.value)


def test_a_version_suggestion_prefers_the_same_major_minor() -> None:
    stack, bucket = _stack()
    with pytest.raises(ValueError, match=r"Did you mean '2\.5\.1'\?$"):
        _torch(stack, bucket, image=TrainingImage.from_framework("pytorch", "2.5.0"))
    assert did_you_mean("1.7-2", ["1.7-1", "1.5-1", "1.2-2"]) == " Did you mean '1.7-1'?"
    assert did_you_mean("2.11.0", ["2.9.0", "2.10.0", "1.11.0"]) == " Did you mean '2.10.0'?"
