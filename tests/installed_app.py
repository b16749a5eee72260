"""Run by tests/test_dist.py with the Python of a fresh virtualenv that has only the
built wheel (and its runtime dependencies) installed, from a directory outside the
checkout: synthesizes what users build, and reports what it found as JSON.

Usage: ``python installed_app.py <checkout> <work dir> <report.json>``
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker

import constructs_lib
from constructs_lib import (
    Completion,
    ContinuousRange,
    FairShare,
    HyperparameterTuningJob,
    InstanceType,
    IntegerRange,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TrainingQueue,
    TuningObjective,
)


def build(app: App, work: Path) -> list[Stack]:
    """A stack per concern: every image kind, data assets, a VPC job with KMS keys,
    and each completion mode."""
    regional = Stack(app, "Regional", env=Environment(region="eu-west-1"))
    agnostic = Stack(app, "Agnostic")
    data = work / "train.csv"
    data.write_text("1,2,3\n4,5,6\n")
    docker = work / "image"
    docker.mkdir(exist_ok=True)
    (docker / "Dockerfile").write_text("FROM public.ecr.aws/docker/library/python:3.12-slim\n")

    buckets: dict[str, s3.Bucket] = {}

    def job(stack: Stack, construct_id: str, image: TrainingImage, **props: Any) -> TrainingJob:
        if stack.node.id not in buckets:
            buckets[stack.node.id] = s3.Bucket(stack, "Data")
        bucket = buckets[stack.node.id]
        return TrainingJob(
            stack,
            construct_id,
            image=image,
            output=TrainingOutput.to_bucket(bucket, "models/", **props.pop("output", {})),
            **props,
        )

    repository = ecr.Repository(regional, "Repository")
    job(regional, "Algorithm", TrainingImage.from_algorithm("xgboost", "1.7-1"))
    job(agnostic, "Algorithm", TrainingImage.from_algorithm("xgboost", "1.7-1"))
    job(regional, "Ecr", TrainingImage.from_ecr_repository(repository, "v1"))
    job(regional, "Docker", TrainingImage.from_asset(str(docker)))
    job(regional, "Registry", TrainingImage.from_registry("public.ecr.aws/acme/train:1"))
    job(
        regional,
        "DataAsset",
        TrainingImage.from_algorithm("linear-learner"),
        inputs=[TrainingInput.from_asset("train", str(data), content_type="text/csv")],
    )

    network = Stack(app, "Network", env=Environment(region="us-east-1"))
    vpc = ec2.Vpc(network, "Vpc", max_azs=2, nat_gateways=1)
    key = kms.Key(network, "Key", enable_key_rotation=True)
    job(
        network,
        "InVpc",
        TrainingImage.from_algorithm("xgboost", "1.7-1"),
        vpc=vpc,
        volume_encryption_key=key,
        output={"encryption_key": key},
    )

    modes = Stack(app, "Modes", env=Environment(region="us-east-1"))
    job(modes, "Wait", TrainingImage.from_algorithm("kmeans"), completion=Completion.wait())
    job(
        modes,
        "WaitCondition",
        TrainingImage.from_algorithm("kmeans"),
        completion=Completion.wait_condition(),
        max_runtime=Duration.hours(6),
    )
    job(
        modes,
        "None",
        TrainingImage.from_algorithm("kmeans"),
        completion=Completion.none(),
        max_runtime=Duration.days(3),
    )
    tuned = Stack(app, "Tuned", env=Environment(region="us-east-1"))
    tuning_bucket = s3.Bucket(tuned, "Data")
    HyperparameterTuningJob(
        tuned,
        "Tuning",
        training=TrainingDefinition(
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            inputs=[TrainingInput.from_bucket("train", tuning_bucket, "train/")],
            output=TrainingOutput.to_bucket(tuning_bucket, "tuning/"),
        ),
        objective=TuningObjective.minimize("validation:rmse"),
        ranges=[ContinuousRange("eta", 0.05, 0.5), IntegerRange("max_depth", 2, 8)],
        max_jobs=4,
        max_parallel_jobs=2,
    )
    queued = Stack(app, "Queued", env=Environment(region="us-east-1"))
    queue = TrainingQueue(
        queued, "Queue", max_instances=4, fair_share=FairShare(shares={"vision": 1})
    )
    job(
        queued,
        "Queued",
        TrainingImage.from_algorithm("xgboost", "1.7-1"),
        queue=queue,
        share="vision",
    )
    script = Stack(app, "Script", env=Environment(region="us-east-1"))
    code = work / "code"
    code.mkdir(exist_ok=True)
    (code / "train.py").write_text("print('training')\n")
    (code / "serve.py").write_text("def model_fn(model_dir):\n    return model_dir\n")
    trained = job(
        script,
        "Script",
        TrainingImage.from_framework("pytorch", "2.5", py_version="py311"),
        code=TrainingCode.from_directory(str(code), entry_point="train.py"),
        instance_type=InstanceType.of("ml.g5.xlarge"),
        hyperparameters={"epochs": 3, "lr": 0.01},
    )
    # PyTorch serves code from the model: a repack job, whose code the wheel ships.
    container = trained.inference_container(entry_point="serve.py", instance_type="ml.g5.xlarge")
    sagemaker.CfnModel(
        script,
        "Model",
        execution_role_arn="arn:aws:iam::123456789012:role/model",
        primary_container=container,
    )
    return [regional, agnostic, network, modes, tuned, queued, script]


def alpha_message(app: App) -> str:
    """What job.model_data says without the optional alpha package."""
    stack = Stack(app, "Alpha", env=Environment(region="us-east-1"))
    job = TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_framework("sklearn", "1.2-1"),
        output=TrainingOutput.to_bucket(s3.Bucket(stack, "Data"), "m/"),
    )
    try:
        job.model_data  # noqa: B018
    except ImportError as error:
        return str(error)
    return "no error"


def _members(archive: Path) -> list[str]:
    with tarfile.open(archive) as tar:
        return sorted(tar.getnames())


def main(checkout: Path, work: Path, report: Path) -> None:
    out = work / "cdk.out"
    app = App(outdir=str(out))
    stacks = build(app, work)
    alpha = alpha_message(App())
    assembly = app.synth()
    found: dict[str, Any] = {
        "version": constructs_lib.__version__,
        "package_file": constructs_lib.__file__,
        "sys_path": sys.path,
        # The checkout's own packages must not be importable here.
        "checkout_packages": [
            name for name in ("tests", "sample_app") if importlib.util.find_spec(name)
        ],
        "checkout": str(checkout),
        "templates": {
            stack.stack_name: assembly.get_stack_artifact(stack.artifact_id).template
            for stack in stacks
        },
        "alpha_message": alpha,
        "alpha_installed": importlib.util.find_spec("aws_cdk.aws_sagemaker_alpha") is not None,
        # The code archives staged (TrainingCode): their members.
        "archives": {path.name: _members(path) for path in out.glob("asset.*.gz")},
        "handler_assets": sorted(
            sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))
            for folder in out.glob("asset.*")
            if (folder / "handler" / "index.py").exists()
        ),
    }
    report.write_text(json.dumps(found))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
