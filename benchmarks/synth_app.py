"""One synthesis, as `cdk synth` runs it:
``python -m benchmarks.synth_app JOBS [shared|anchor|tuning|processing]``.

JOBS = -1 synthesizes the bare app (one bucket, no TrainingJob); ``shared`` gives
every job the same execution role; ``anchor`` builds the peer instead: aws-cdk-lib's
Step Functions ``SageMakerCreateTrainingJob`` tasks, JOBS of them in one state
machine, with the same inputs (bucket, prefixes, image, hyperparameters); ``tuning``
builds JOBS hyperparameter tuning jobs of the same training inputs instead;
``processing`` JOBS processing jobs reading and writing the same prefixes.
"""

from __future__ import annotations

import sys
import tempfile

from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

#: The built-in k-means image in us-east-1, as the anchor names it.
KMEANS_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
#: The synthesized apps' outdirs: removed when the process exits.
_OUTDIRS = tempfile.TemporaryDirectory(prefix="bench-")


def build(
    jobs: int,
    shared_role: bool = False,
    anchor: bool = False,
    tuning: bool = False,
    processing: bool = False,
) -> App:
    app = App(outdir=tempfile.mkdtemp(prefix="bench-", dir=_OUTDIRS.name))
    stack = Stack(app, "Bench")
    bucket = s3.Bucket(stack, "Data")
    if jobs < 0:
        return app
    if anchor:
        _anchor(stack, bucket, jobs)
        return app
    if tuning:
        _tuning(stack, bucket, jobs)
        return app
    if processing:
        _processing(stack, bucket, jobs)
        return app
    # Imported here: the bare app must not pay for importing the library.
    from constructs_lib import TrainingImage, TrainingInput, TrainingJob, TrainingOutput

    role = (
        iam.Role(stack, "Shared", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
        if shared_role
        else None
    )
    image = TrainingImage.from_algorithm("kmeans")
    for index in range(max(jobs, 1)):
        TrainingJob(
            stack,
            f"Job{index}",
            image=image,
            inputs=[TrainingInput.from_bucket("train", bucket, f"data/{index}/")],
            output=TrainingOutput.to_bucket(bucket, f"models/{index}/"),
            hyperparameters={"k": "10", "feature_dim": "4"},
            role=role,
        )
    return app


def _tuning(stack: Stack, bucket: s3.IBucket, jobs: int) -> None:
    """``jobs`` tuning jobs of the same training inputs (the library imported here)."""
    from constructs_lib import (
        ContinuousRange,
        HyperparameterTuningJob,
        IntegerRange,
        TrainingDefinition,
        TrainingImage,
        TrainingInput,
        TrainingOutput,
        TuningObjective,
    )

    image = TrainingImage.from_algorithm("kmeans")
    for index in range(max(jobs, 1)):
        HyperparameterTuningJob(
            stack,
            f"Tuning{index}",
            training=TrainingDefinition(
                image=image,
                inputs=[TrainingInput.from_bucket("train", bucket, f"data/{index}/")],
                output=TrainingOutput.to_bucket(bucket, f"models/{index}/"),
                hyperparameters={"feature_dim": "4"},
            ),
            objective=TuningObjective.minimize("test:msd"),
            ranges=[ContinuousRange("init_method_eps", 0.1, 0.5), IntegerRange("k", 2, 20)],
            max_jobs=10,
            max_parallel_jobs=2,
        )


def _processing(stack: Stack, bucket: s3.IBucket, jobs: int) -> None:
    """``jobs`` processing jobs reading and writing what the training jobs do."""
    from constructs_lib import ProcessingInput, ProcessingJob, ProcessingOutput, TrainingImage

    image = TrainingImage.from_registry(KMEANS_IMAGE)
    for index in range(max(jobs, 1)):
        ProcessingJob(
            stack,
            f"Processing{index}",
            image=image,
            inputs=[ProcessingInput.from_bucket("train", bucket, f"data/{index}/")],
            outputs=[ProcessingOutput.to_bucket("prepared", bucket, f"models/{index}/")],
            arguments=["--k", "10"],
        )


def _anchor(stack: Stack, bucket: s3.IBucket, jobs: int) -> None:
    """The peer: one state machine of ``jobs`` training tasks, imported here only."""
    from aws_cdk import aws_stepfunctions as sfn
    from aws_cdk import aws_stepfunctions_tasks as tasks

    image = tasks.DockerImage.from_registry(KMEANS_IMAGE)
    chain: sfn.IChainable | None = None
    for index in range(max(jobs, 1)):
        task = tasks.SageMakerCreateTrainingJob(
            stack,
            f"Job{index}",
            training_job_name=f"job-{index}",
            algorithm_specification=tasks.AlgorithmSpecification(training_image=image),
            input_data_config=[
                tasks.Channel(
                    channel_name="train",
                    data_source=tasks.DataSource(
                        s3_data_source=tasks.S3DataSource(
                            s3_location=tasks.S3Location.from_bucket(bucket, f"data/{index}/")
                        )
                    ),
                )
            ],
            output_data_config=tasks.OutputDataConfig(
                s3_output_location=tasks.S3Location.from_bucket(bucket, f"models/{index}/")
            ),
            hyperparameters={"k": "10", "feature_dim": "4"},
        )
        chain = task if chain is None else chain.next(task)  # type: ignore[attr-defined]
    assert chain is not None
    sfn.StateMachine(stack, "Pipeline", definition_body=sfn.DefinitionBody.from_chainable(chain))


if __name__ == "__main__":
    count = int(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else ""
    build(
        count,
        shared_role=mode == "shared",
        anchor=mode == "anchor",
        tuning=mode == "tuning",
        processing=mode == "processing",
    ).synth()
