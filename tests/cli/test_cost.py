"""A deploy's worst case in instance-hours (``preflight --cost``), read from a
synthesized template: each job's instances times its own limit (max runtime, a spot
job's max wait, a tuning job's jobs), never longer than the deploy waits for it, and a
job that nothing bounds said so."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import (
    Completion,
    ContinuousRange,
    HyperparameterTuningJob,
    InstanceType,
    ProcessingJob,
    ProcessingOutput,
    TrainingDefinition,
    TrainingImage,
    TrainingJob,
    TrainingOutput,
    TransformInput,
    TransformJob,
    TransformOutput,
    TuningObjective,
)
from constructs_lib.cli._cost import JobHours, job_hours, worst_case
from constructs_lib.handler.kinds import TRAINING

IMAGE = TrainingImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/p:1")


@pytest.fixture(scope="module")
def hours() -> dict[str, JobHours]:
    stack = Stack(App(), "Cost")
    bucket = s3.Bucket(stack, "Data")
    TrainingJob(
        stack,
        "Train",
        image=IMAGE,
        output=TrainingOutput.to_bucket(bucket, "models/"),
        instance_count=2,
        max_runtime=Duration.minutes(30),
    )
    TrainingJob(
        stack,
        "Spot",
        image=IMAGE,
        output=TrainingOutput.to_bucket(bucket, "spot/"),
        max_runtime=Duration.minutes(30),
        spot_training=True,
        max_wait=Duration.minutes(45),
    )
    for construct_id, jobs, parallel in (("Tune", 6, 3), ("Few", 2, 2)):
        HyperparameterTuningJob(
            stack,
            construct_id,
            training=TrainingDefinition(
                image=IMAGE,
                output=TrainingOutput.to_bucket(bucket, f"{construct_id}/"),
                instance_type=InstanceType.of("ml.c5.xlarge"),
                spot_training=True,
                max_runtime=Duration.minutes(30),
                max_wait=Duration.minutes(40),
            ),
            objective=TuningObjective.minimize("validation:rmse"),
            ranges=[ContinuousRange("eta", 0.1, 0.5)],
            max_jobs=jobs,
            max_parallel_jobs=parallel,
        )
    ProcessingJob(
        stack,
        "Prepare",
        image=IMAGE,
        instance_count=3,
        max_runtime=Duration.minutes(20),
        outputs=[ProcessingOutput.to_bucket("out", bucket, "prepared/")],
    )
    for construct_id, completion in (("Score", Completion.wait()), ("Loose", Completion.none())):
        TransformJob(
            stack,
            construct_id,
            model="existing-model",
            input=TransformInput.from_bucket(bucket, "in/"),
            output=TransformOutput.to_bucket(bucket, f"{construct_id}/"),
            completion=completion,
        )
    template: dict[str, Any] = Template.from_stack(stack).to_json()
    return {job.logical_id[:-8]: job for job in worst_case(template)}


def test_a_job_runs_its_instances_to_its_limit(hours: dict[str, JobHours]) -> None:
    train = hours["Train"]
    assert (train.instance_type, train.usage, train.instances) == (
        "ml.m5.xlarge",
        "training job",
        2,
    )
    assert train.instance_hours == 1.0
    assert train.bound == "2 instances for max runtime 30 min"
    prepare = hours["Prepare"]
    assert (prepare.usage, prepare.instance_hours) == ("processing job", 1.0)


def test_a_spot_job_is_bounded_by_its_max_wait(hours: dict[str, JobHours]) -> None:
    spot = hours["Spot"]
    assert (spot.usage, spot.instance_hours) == ("spot training job", 0.75)
    assert spot.bound == "1 instance for max wait 45 min"


def test_no_job_runs_longer_than_the_deploy_waits_for_it(hours: dict[str, JobHours]) -> None:
    # Synthesis refuses a wait shorter than the job's limit; a template written
    # otherwise: the rollback stops the job when the deploy gives up.
    request = {
        "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 18000},
    }
    (long,) = job_hours("Long", TRAINING, request, wait=7200)
    assert long.instance_hours == 2.0
    assert long.bound == "1 instance for the deploy's wait 2 h"
    # A transform has no limit of its own: the deploy's wait (its ServiceTimeout).
    score = hours["Score"]
    assert score.usage == "transform job"
    assert score.bound.startswith("1 instance for the deploy's wait ")
    assert score.instance_hours is not None and 0 < score.instance_hours <= 1.0


def test_a_job_nothing_bounds_is_said(hours: dict[str, JobHours]) -> None:
    loose = hours["Loose"]
    assert loose.instance_hours is None
    assert "unbounded" in loose.bound


def test_a_tuning_job_counts_each_of_its_training_jobs(hours: dict[str, JobHours]) -> None:
    few = hours["Few"]
    assert (few.instance_type, few.usage) == ("ml.c5.xlarge", "spot training job")
    # 2 jobs of 40 minutes (the max wait): fewer than its 2 parallel jobs for the
    # tuning job's whole 45 minutes.
    assert few.instance_hours == pytest.approx(4 / 3)
    assert few.bound == "2 jobs x 1 instance for max wait 40 min"
    # 6 jobs of 40 minutes would be 4 h: its 3 parallel jobs stop with the tuning job.
    tune = hours["Tune"]
    assert tune.instance_hours == pytest.approx(2.25)
    assert tune.bound == "3 parallel jobs x 1 instance for the tuning job's max runtime 45 min"
