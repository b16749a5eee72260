"""What synth accepts, the deploy runs: the handler ships the SageMaker model the
library validated requests with, and its clients and coercion read it ahead of the
Lambda runtime's older botocore (1.40, which lacks 29 CreateTrainingJob, 26
CreateHyperParameterTuningJob and 5 CreateProcessingJob request members of 1.44)."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Size, Stack
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    ContinuousRange,
    HyperparameterTuningJob,
    InstancePlacement,
    InstanceType,
    MlflowConfig,
    PlacementSpecification,
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
from constructs_lib._shared.schema import generate, load
from constructs_lib.handler.kinds import PROCESSING, TRAINING, TRANSFORM, TUNING
from constructs_lib.handler.properties import NAME_PREFIX, QUEUE
from tests.deliver import concretize
from tests.fakes import FakeSageMaker
from tests.harness import Framework, cfn_strings

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_PYTHON = ROOT / ".venv-lambda" / "bin" / "python"
MLFLOW = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/tracking"
PLACEMENT = {
    "EnableMultipleJobs": True,
    "PlacementSpecifications": [{"UltraServerId": "ultra-1", "InstanceCount": 2}],
}


def test_the_shipped_model_is_the_generators() -> None:
    """Regenerated from the botocore the library validates with: unchanged."""
    shipped = generate.handler_model_file()
    assert shipped.exists(), "run python -m constructs_lib._shared.schema.generate"
    assert gzip.decompress(shipped.read_bytes()) == gzip.decompress(
        generate.render_handler_model()
    ), "the handler's model is stale: run python -m constructs_lib._shared.schema.generate"


def test_the_shipped_model_and_the_synth_schema_come_from_one_botocore() -> None:
    """The schemas synth validates with, distilled from the shipped model, are the
    committed ones: member for member, limit for limit."""
    import botocore.loaders  # noqa: PLC0415
    import botocore.model  # noqa: PLC0415

    model = botocore.model.ServiceModel(
        json.loads(gzip.decompress(generate.handler_model_file().read_bytes())), "sagemaker"
    )
    for operation in (
        "CreateTrainingJob",
        "CreateHyperParameterTuningJob",
        "CreateProcessingJob",
        "CreateTransformJob",
    ):
        committed = load(operation)
        root = model.operation_model(operation).input_shape
        assert root is not None and root.name == committed["root"]
        for name, entry in committed["shapes"].items():
            shape = model.shape_for(name)
            assert shape.type_name == entry["type"], name
            for constraint in ("min", "max", "pattern", "enum"):
                assert shape.metadata.get(constraint) == entry.get(constraint), (name, constraint)
            if "members" in entry:
                members = {k: v.name for k, v in shape.members.items()}  # type: ignore[attr-defined]
                assert members == entry["members"], name


#: ``InstancePreferences`` (botocore 1.44, not 1.40): the first type with capacity.
PREFERENCES = [
    {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2},
    {"InstanceType": "ml.c5.2xlarge", "InstanceCount": 2},
]

QUEUED = {
    "JobQueue": "arn:aws:batch:us-east-1:123456789012:job-queue/gpus",
    "SchedulingPriority": 7,
    "ShareIdentifier": "vision",
}


def _events() -> list[dict[str, Any]]:
    """Create events of a training job and a tuning job whose requests hold members
    newer than botocore 1.40 (strings, booleans, integers), as CloudFormation sends
    them: every scalar a string."""
    stack = Stack(App(), "Newer")
    bucket = s3.Bucket(stack, "Data")
    training = TrainingJob(
        stack,
        "Train",
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        mlflow=MlflowConfig(resource_arn=MLFLOW, experiment_name="churn"),
        instance_placement=InstancePlacement(
            enable_multiple_jobs=True,
            specifications=[PlacementSpecification(ultra_server_id="ultra-1", instance_count=2)],
        ),
        hyperparameters={"k": "3", "feature_dim": "4"},
    )
    tuning = HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=TrainingImage.from_algorithm("kmeans"),
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            hyperparameters={"feature_dim": "4"},
        ),
        objective=TuningObjective.minimize("test:msd"),
        ranges=[ContinuousRange("init_method_weight", 0.1, 0.9)],
        additional_request={
            "TrainingJobDefinition": {"ResourceConfig": {"InstancePlacementConfig": PLACEMENT}}
        },
    )
    processing = ProcessingJob(
        stack,
        "Prepare",
        image=TrainingImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/p:1"),
        outputs=[ProcessingOutput.to_bucket("train", bucket, "prepared/")],
        additional_request={
            "ProcessingResources": {
                "ClusterConfig": {"InstanceType": None, "InstancePreferences": PREFERENCES}
            }
        },
    )
    # An instance type botocore 1.44 lists and 1.40 does not.
    transform = TransformJob(
        stack,
        "Score",
        model="house-prices",
        input=TransformInput.from_bucket(bucket, "test/"),
        output=TransformOutput.to_bucket(bucket, "predictions/"),
        instance_type=InstanceType.of("ml.g6.xlarge"),
        max_payload=Size.mebibytes(20),
    )
    events = []
    for job, kind, prefix in (
        (training, TRAINING, "stack-abc-job"),
        (tuning, TUNING, "stk-a-tune"),
        (processing, PROCESSING, "stack-abc-prepare"),
        (transform, TRANSFORM, "stack-abc-score"),
    ):
        resolved = Stack.of(job).resolve(job.request)
        properties = cfn_strings({kind.request_property: concretize(resolved), NAME_PREFIX: prefix})
        framework = Framework(FakeSageMaker())
        framework.resource_type = kind.resource_type
        events.append(framework.event("Create", properties))
    # The training job again, through an AWS Batch queue: its request is the payload.
    queued = {**events[0]["ResourceProperties"], QUEUE: cfn_strings(QUEUED)}
    events.insert(2, {**events[0], "ResourceProperties": queued})
    return events


def _probe(*arguments: str) -> dict[str, Any]:
    if not LAMBDA_PYTHON.exists():
        pytest.fail(f"{LAMBDA_PYTHON} is missing: run `make .venv-lambda/.installed`")
    result = subprocess.run(
        [str(LAMBDA_PYTHON), str(ROOT / "tests" / "lambda_probe.py"), *arguments],
        input=json.dumps(_events()),
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "constructs_lib"), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=True,
    )
    # The handler logs a JSON line per submission; the report is the last line.
    report: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return report


@pytest.fixture(scope="module")
def delivered() -> dict[str, Any]:
    return _probe()


def test_the_lambda_runtimes_botocore_is_older(delivered: dict[str, Any]) -> None:
    assert delivered["botocore"] == "1.40.0"


def test_newer_members_reach_sagemaker_intact_and_typed(delivered: dict[str, Any]) -> None:
    assert [r.get("error") for r in delivered["results"]] == [None] * 5
    training, tuning, queued, processing, transform = delivered["sent"]
    assert training["operation"] == "CreateTrainingJob"
    body = training["body"]
    assert body["MlflowConfig"] == {"MlflowResourceArn": MLFLOW, "MlflowExperimentName": "churn"}
    # CloudFormation's "true" and "2" are a boolean and an integer again.
    assert body["ResourceConfig"]["InstancePlacementConfig"] == PLACEMENT
    assert body["ResourceConfig"]["InstanceCount"] == 1
    assert tuning["operation"] == "CreateHyperParameterTuningJob"
    definition = tuning["body"]["TrainingJobDefinition"]
    assert definition["ResourceConfig"]["InstancePlacementConfig"] == PLACEMENT
    limits = tuning["body"]["HyperParameterTuningJobConfig"]["ResourceLimits"]
    assert limits["MaxNumberOfTrainingJobs"] == 10
    # Through the runtime's own batch client (botocore 1.40 has the service jobs): the
    # payload is the request typed by the shipped model, the priority an integer.
    assert queued["operation"] == "SubmitServiceJob"
    assert queued["body"]["schedulingPriority"] == 7
    assert queued["body"]["shareIdentifier"] == "vision"
    payload = json.loads(queued["body"]["serviceRequestPayload"])
    assert payload["MlflowConfig"] == body["MlflowConfig"]
    assert payload["ResourceConfig"]["InstancePlacementConfig"] == PLACEMENT
    # A processing job's newer members, typed: counts are integers again.
    assert processing["operation"] == "CreateProcessingJob"
    cluster = processing["body"]["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstancePreferences"] == PREFERENCES
    assert "InstanceType" not in cluster and cluster["VolumeSizeInGB"] == 30
    [output] = processing["body"]["ProcessingOutputConfig"]["Outputs"]
    assert output["AppManaged"] is False and output["OutputName"] == "train"
    # A transform on an instance type the runtime's botocore does not list, typed.
    assert transform["operation"] == "CreateTransformJob"
    resources = transform["body"]["TransformResources"]
    assert resources == {"InstanceCount": 1, "InstanceType": "ml.g6.xlarge"}
    assert transform["body"]["MaxPayloadInMB"] == 20


def test_the_runtimes_own_model_would_fail_the_deploy() -> None:
    """The same events through the runtime's models: what the shipped one prevents."""
    report = _probe("--runtime-models")
    [training, tuning, queued, processing, transform] = [r.get("error") for r in report["results"]]
    assert 'Unknown parameter in input: "MlflowConfig"' in str(training)
    assert "InstancePlacementConfig" in str(tuning)
    assert "InstancePreferences" in str(processing)
    # botocore validates no enum: the runtime's own model sends this one as it is.
    assert transform is None
    # Batch passes a payload through unvalidated: the queued job is submitted, but its
    # members unknown to the old model keep CloudFormation's strings ("true", "2"),
    # which SageMaker would refuse when Batch starts the job.
    submitted, transformed = report["sent"]
    assert transformed["operation"] == "CreateTransformJob"
    assert queued is None and submitted["operation"] == "SubmitServiceJob"
    payload = json.loads(submitted["body"]["serviceRequestPayload"])
    placement = payload["ResourceConfig"]["InstancePlacementConfig"]
    assert placement != PLACEMENT and placement["EnableMultipleJobs"] == "true"
