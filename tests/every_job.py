"""The jobs of a stack that uses every feature, shared by the compliance gates: a VPC
job with KMS keys, spot, checkpoints, a debugger hook and a wait condition (so the
signaller and its queue exist), an ECR image with no wait, a Docker asset image, and
a hyperparameter tuning job in the VPC with KMS keys and a wait condition whose best
model another construct reads, a script-mode job (your code on a framework image,
distributed, without network access, in the VPC) served through a repack job, and a
processing job in the VPC with KMS keys and a wait condition that evaluates the tuning
job's best model, its report gated."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    CategoricalRange,
    Checkpoint,
    Completion,
    ContinuousRange,
    DebugHookConfig,
    Distribution,
    EvaluationReport,
    FairShare,
    HyperparameterTuningJob,
    InstanceType,
    IntegerRange,
    MetricThreshold,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    S3Location,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TrainingQueue,
    TuningObjective,
)
from constructs_lib.definition._mistakes import PIP_WITHOUT_NETWORK_WARNING_ID

FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: The construct ids of the jobs :func:`add_every_job` adds.
JOBS = ("Long", "Custom", "Built", "Tuned", "Script", "Queue", "Queued", "Evaluated")


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
    tuned = HyperparameterTuningJob(
        stack,
        "Tuned",
        training=TrainingDefinition(
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            inputs=[
                TrainingInput.from_bucket("train", data, "train/"),
                TrainingInput.from_bucket("validation", data, "validation/"),
            ],
            output=TrainingOutput.to_bucket(data, "tuning/", encryption_key=key),
            volume_encryption_key=key,
            vpc=vpc,
            hyperparameters={"objective": "reg:squarederror", "num_round": "50"},
        ),
        objective=TuningObjective.minimize("validation:rmse"),
        ranges=[
            ContinuousRange("eta", 0.05, 0.5),
            IntegerRange("max_depth", 2, 8),
            CategoricalRange("booster", ["gbtree", "dart"]),
        ],
        max_jobs=4,
        max_parallel_jobs=2,
        max_runtime=Duration.hours(4),
        completion=Completion.wait_condition(),
    )
    script = TrainingJob(
        stack,
        "Script",
        image=TrainingImage.from_framework("pytorch", "2.5", py_version="py311"),
        code=TrainingCode.from_directory(str(FIXTURES / "script"), entry_point="train.py"),
        inputs=[TrainingInput.from_bucket("train", data, "train/")],
        output=TrainingOutput.to_bucket(data, "script/", encryption_key=key),
        # (No local NVMe storage: a volume key is taken.)
        instance_type=InstanceType.of("ml.p3.2xlarge"),
        instance_count=2,
        distribution=Distribution.torch_distributed(),
        hyperparameters={"epochs": 3, "learning-rate": 0.05},
        volume_encryption_key=key,
        vpc=vpc,
        network_isolation=True,
    )
    # Its requirements.txt names numpy, which the PyTorch container has: pip finds it
    # satisfied without network access. Acknowledged as a user would.
    Annotations.of(script).acknowledge_warning(
        PIP_WITHOUT_NETWORK_WARNING_ID,
        "numpy is in the PyTorch container already: pip finds it satisfied offline",
    )
    # PyTorch serves code from the model: the repack job is one more library job.
    script.inference_container(entry_point="serve.py", instance_type="ml.g5.xlarge")
    # A queue with fair share, and a VPC job with keys through it (waiting for Batch).
    queue = TrainingQueue(
        stack, "Queue", max_instances=4, fair_share=FairShare(shares={"vision": 1, "nlp": 2})
    )
    TrainingJob(
        stack,
        "Queued",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        inputs=[TrainingInput.from_bucket("train", data, "train/")],
        output=TrainingOutput.to_bucket(data, "queued/", encryption_key=key),
        volume_encryption_key=key,
        vpc=vpc,
        instance_count=2,
        queue=queue,
        share="vision",
        scheduling_priority=10,
    )
    # An evaluation of the tuned model: two instances in the VPC, keys, a gated report.
    ProcessingJob(
        stack,
        "Evaluated",
        image=TrainingImage.from_framework("sklearn", "1.2-1"),
        code=TrainingCode.from_directory(str(FIXTURES / "script"), entry_point="train.py"),
        inputs=[
            ProcessingInput.from_training_job("model", tuned),
            ProcessingInput.from_bucket("test", data, "test/"),
        ],
        outputs=[ProcessingOutput.to_bucket("evaluation", data, "evaluation/")],
        output_encryption_key=key,
        volume_encryption_key=key,
        vpc=vpc,
        instance_count=2,
        report=EvaluationReport(
            output="evaluation", path="evaluation.json", metrics={"mse": "mse.value"}
        ),
        quality_gate=[MetricThreshold("mse", at_most=4.0)],
        completion=Completion.wait_condition(),
    )
