"""What a stack runs at once per quota (the preflight's first question), read from a
synthesized template: jobs that wait for each other's end do not add up, jobs that
can run together do, a tuning job counts its parallel training jobs, and a job nothing
waits for overlaps what reads it."""

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
    ProcessingInput,
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
from constructs_lib.cli._needs import Need, queue_capacity, stack_needs, widest

IMAGE = TrainingImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/p:1")


@pytest.fixture(scope="module")
def needs() -> dict[str, Any]:
    stack = Stack(App(), "Needs")
    bucket = s3.Bucket(stack, "Data")

    def processing(construct_id: str, count: int = 1, **props: Any) -> ProcessingJob:
        return ProcessingJob(
            stack,
            construct_id,
            image=IMAGE,
            instance_count=count,
            outputs=[ProcessingOutput.to_bucket("out", bucket, f"{construct_id}/")],
            **props,
        )

    prepare = processing("Prepare")
    train = TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        inputs=[TrainingInput.from_processing_output("train", prepare, "out")],
        output=TrainingOutput.to_bucket(bucket, "models/"),
    )
    processing("Evaluate", inputs=[ProcessingInput.from_training_job("model", train)])
    processing("Other", count=2)
    # Nothing waits for this one: what reads its output may run beside it.
    loose = processing("Loose", completion=Completion.none(), max_runtime=Duration.hours(2))
    processing("Reader", inputs=[ProcessingInput.from_processing_output("in", loose, "out")])
    HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            instance_type=InstanceType.of("ml.c5.xlarge"),
            spot_training=True,
            max_wait=Duration.minutes(40),
            max_runtime=Duration.minutes(30),
        ),
        objective=TuningObjective.minimize("validation:rmse"),
        ranges=[ContinuousRange("eta", 0.1, 0.5)],
        max_jobs=6,
        max_parallel_jobs=3,
    )
    TransformJob(
        stack,
        "Score",
        model="existing-model",
        input=TransformInput.from_processing_output(prepare, "out"),
        output=TransformOutput.to_bucket(bucket, "predictions/"),
        instance_count=2,
    )
    template = Template.from_stack(stack).to_json()
    return {a.quota_name: a for a in stack_needs(template)}


def test_jobs_that_wait_for_each_other_do_not_add_up(needs: dict[str, Any]) -> None:
    processing = needs["ml.m5.xlarge for processing job usage"]
    # Prepare, then (after training) Evaluate: one of them at a time; Other's two, and
    # Loose beside Reader (nothing waits for Loose): 1 + 2 + 1 + 1.
    assert processing.instances == 5
    assert [i[:-8] for i in processing.logical_ids] == [
        "Evaluate",
        "Loose",
        "Other",
        "Prepare",
        "Reader",
    ]


def test_each_usage_is_its_own_quota(needs: dict[str, Any]) -> None:
    assert needs["ml.m5.xlarge for training job usage"].instances == 1
    # A tuning job: its parallel training jobs, on spot capacity.
    assert needs["ml.c5.xlarge for spot training job usage"].instances == 3
    assert needs["ml.m5.xlarge for transform job usage"].instances == 2
    assert set(needs) == {
        "ml.m5.xlarge for processing job usage",
        "ml.m5.xlarge for training job usage",
        "ml.c5.xlarge for spot training job usage",
        "ml.m5.xlarge for transform job usage",
    }


@pytest.mark.parametrize(
    ("weights", "order", "expected"),
    [
        ({"a": 2, "b": 3}, {"b": {"a"}}, 3),  # a chain: the heavier
        ({"a": 2, "b": 3}, {}, 5),  # together: both
        # a < b, a < c, b and c together: 4 + 5.
        ({"a": 7, "b": 4, "c": 5}, {"b": {"a"}, "c": {"a"}}, 9),
        # a < c, b < c, a and b together (3 + 3), heavier than c (5).
        ({"a": 3, "b": 3, "c": 5}, {"c": {"a", "b"}}, 6),
    ],
)
def test_the_widest_set_of_jobs_that_run_together(
    weights: dict[str, int], order: dict[str, set[str]], expected: int
) -> None:
    needs = [Need(job, "ml.m5.xlarge", "training job", n) for job, n in weights.items()]
    assert widest(needs, order) == expected


def test_queued_jobs_count_no_more_than_their_queue_runs() -> None:
    stack = Stack(App(), "Queued")
    bucket = s3.Bucket(stack, "Data")
    queue = TrainingQueue(stack, "Gpus", max_instances=2)
    gpu = InstanceType.of("ml.p3.2xlarge")
    for index in range(3):  # three jobs the queue runs two at a time
        TrainingJob(
            stack,
            f"Queued{index}",
            image=IMAGE,
            output=TrainingOutput.to_bucket(bucket, f"queued/{index}/"),
            instance_type=gpu,
            queue=queue,
        )
    TrainingJob(  # beside them, started by SageMaker at once
        stack,
        "Direct",
        image=IMAGE,
        output=TrainingOutput.to_bucket(bucket, "direct/"),
        instance_type=gpu,
    )
    template = Template.from_stack(stack).to_json()
    (needed,) = stack_needs(template)

    assert needed.quota_name == "ml.p3.2xlarge for training job usage"
    assert needed.instances == 3  # the queue's 2, and the direct job's 1
    assert len(needed.logical_ids) == 4
    resources = template["Resources"]
    job = next(i for i in needed.logical_ids if i.startswith("Queued0"))
    (job_queue,) = (i for i, r in resources.items() if r["Type"] == "AWS::Batch::JobQueue")
    assert queue_capacity(resources, job) == (job_queue, 2)
    direct = next(i for i in needed.logical_ids if i.startswith("Direct"))
    assert queue_capacity(resources, direct) is None
