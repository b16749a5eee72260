"""What ships: the pinned CLI synthesizes the sample app, and the Lambda asset holds
only the handler, importing nothing but the standard library and boto3/botocore."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from constructs_lib.handler import index, lifecycle, waiter
from constructs_lib.handler.properties import (
    LOGICAL_ID_TAG,
    OWNER_TAG,
    REQUEST_HASH_TAG,
    request_hash,
)

ROOT = Path(__file__).resolve().parent.parent
HANDLER_DIR = ROOT / "constructs_lib" / "handler"
ALLOWED_IMPORTS = set(sys.stdlib_module_names) | {"boto3", "botocore"}


def _cli_synth(out: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``cdk synth`` of the sample app with the pinned CLI (and cdk.json)."""
    cdk = ROOT / "node_modules" / ".bin" / "cdk"
    assert cdk.exists(), "node_modules is missing: run `make test` (it runs npm ci)"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "CDK_DISABLE_VERSION_CHECK": "1",
    }
    result = subprocess.run(
        [str(cdk), "synth", "--no-notices", "--output", str(out), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def cli_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cdk.out")
    result = _cli_synth(out)
    # cdk.json carries every flag cdk init writes: none is reported missing.
    assert "feature flags are not configured" not in result.stderr + result.stdout
    return out


@pytest.mark.cli
def test_pinned_cli_synthesizes_the_long_job_variant(tmp_path: Path) -> None:
    _cli_synth(tmp_path, "--quiet", "-c", "sample:completion=wait_condition")
    template = json.loads((tmp_path / "TrainAndServe.template.json").read_text())
    types = [resource["Type"] for resource in template["Resources"].values()]
    assert types.count("AWS::CloudFormation::WaitCondition") == 1
    assert types.count("Custom::SageMakerTrainingJobResult") == 1


@pytest.mark.cli
def test_pinned_cli_synthesizes_the_tuning_variant(tmp_path: Path) -> None:
    _cli_synth(tmp_path, "--quiet", "-c", "sample:tuning=true")
    template = json.loads((tmp_path / "TrainAndServe.template.json").read_text())
    types = [resource["Type"] for resource in template["Resources"].values()]
    assert types.count("Custom::SageMakerHyperparameterTuningJob") == 1
    assert types.count("Custom::SageMakerTrainingJob") == 0


@pytest.mark.cli
def test_pinned_cli_synthesizes_the_script_variant(tmp_path: Path) -> None:
    _cli_synth(tmp_path, "--quiet", "-c", "sample:training=script")
    template = json.loads((tmp_path / "TrainAndServe.template.json").read_text())
    jobs = [
        resource["Properties"]["TrainingJobRequest"]
        for resource in template["Resources"].values()
        if resource["Type"] == "Custom::SageMakerTrainingJob"
    ]
    # The training job of the app's code, and the job that repacks it for serving.
    assert sorted(json.loads(j["HyperParameters"]["sagemaker_program"]) for j in jobs) == [
        "repack.py",
        "train.py",
    ]
    # The code's archive is staged with the assembly.
    assets = json.loads((tmp_path / "TrainAndServe.assets.json").read_text())["files"]
    assert any(asset["source"]["path"].endswith(".tar.gz") for asset in assets.values())


@pytest.mark.cli
def test_pinned_cli_synthesizes_the_promote_variant(tmp_path: Path) -> None:
    """``-c sample:promote=true``: a gated job, its model registered, the endpoint's
    model serving the registered version, nightly retraining into the group."""
    _cli_synth(tmp_path, "--quiet", "-c", "sample:promote=true")
    template = json.loads((tmp_path / "TrainAndServe.template.json").read_text())
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in template["Resources"].values():
        by_type.setdefault(resource["Type"], []).append(resource)
    [job] = by_type["Custom::SageMakerTrainingJob"]
    assert job["Properties"]["QualityGate"] == [{"Metric": "validation:rmse", "AtMost": 5}]
    [package] = by_type["AWS::SageMaker::ModelPackage"]
    assert package["Properties"]["ModelApprovalStatus"] == "Approved"
    [model] = by_type["AWS::SageMaker::Model"]
    served = model["Properties"]["PrimaryContainer"]["ModelPackageName"]
    assert served["Fn::GetAtt"][1] == "ModelPackageArn"
    [schedule] = by_type["AWS::Scheduler::Schedule"]
    assert schedule["Properties"]["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert len(by_type["AWS::SageMaker::ModelPackageGroup"]) == 1


@pytest.mark.cli
def test_pinned_cli_synthesizes_the_pipeline_variant(tmp_path: Path) -> None:
    """``-c sample:pipeline=true``: prepare, train on what it prepared, evaluate with a
    gated report, register with the report; the processing code staged as assets (the
    archive and its runproc.sh, for each of the two jobs)."""
    _cli_synth(tmp_path, "--quiet", "-c", "sample:pipeline=true")
    template = json.loads((tmp_path / "TrainAndServe.template.json").read_text())
    processing = [
        r for r in template["Resources"].values() if r["Type"] == "Custom::SageMakerProcessingJob"
    ]
    assert len(processing) == 2
    assert [p["Properties"].get("QualityGate") for p in processing].count(None) == 1
    assets = json.loads((tmp_path / "TrainAndServe.assets.json").read_text())["files"]
    scripts = [a for a in assets.values() if a["source"]["path"].endswith(".sh")]
    assert len(scripts) == 2  # prepare's and evaluate's runproc.sh


@pytest.mark.cli
def test_pinned_cli_synthesizes_the_sample_app(cli_out: Path) -> None:
    template = json.loads((cli_out / "TrainAndServe.template.json").read_text())
    types = [resource["Type"] for resource in template["Resources"].values()]
    assert types.count("Custom::SageMakerTrainingJob") == 1


@pytest.mark.cli
def test_lambda_asset_holds_only_the_handler(cli_out: Path) -> None:
    assets = json.loads((cli_out / "TrainAndServe.assets.json").read_text())["files"]
    handler_assets = []
    for asset in assets.values():
        folder = cli_out / asset["source"]["path"]
        if (folder / "handler" / "index.py").exists():
            handler_assets.append(folder)
    assert len(handler_assets) == 1
    shipped = sorted(str(p.relative_to(handler_assets[0])) for p in handler_assets[0].rglob("*"))
    # The handler's modules and the service models it ships.
    expected = sorted(
        [
            "handler",
            *(f"handler/{p.name}" for p in HANDLER_DIR.glob("*.py")),
            "handler/models",
            *(f"handler/{p.relative_to(HANDLER_DIR)}" for p in (HANDLER_DIR / "models").rglob("*")),
        ]
    )
    assert shipped == expected
    assert any(name.endswith("sagemaker/2017-07-24/service-2.json.gz") for name in shipped)


def _runtime_imports(path: Path) -> set[str]:
    """Imports outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    return _imports_of_tree(tree)


def _imports_of_tree(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", sorted(p.name for p in HANDLER_DIR.glob("*.py")))
def test_handler_imports_only_stdlib_and_boto3(module: str) -> None:
    imported = _runtime_imports(HANDLER_DIR / module)
    assert imported <= ALLOWED_IMPORTS, imported - ALLOWED_IMPORTS


def test_lambda_entry_point_with_a_real_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """index.handle, the service token, with boto3's own clients answered by botocore's
    Stubber (which checks requests and responses against the service models): the
    Create's request coerced and tagged, the first poll, and, with little of the
    job not done, the hand-over to an execution of the waiting state machine (named
    after the function), the execution named after the event."""
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
    client = boto3.client("sagemaker", region_name="us-east-1", **credentials)
    starter = boto3.client("stepfunctions", region_name="us-east-1", **credentials)
    monkeypatch.setattr(index, "_runtime", lifecycle.Runtime(sagemaker=client))

    class _Session:
        def client(self, service: str, **_: Any) -> Any:
            assert service == "stepfunctions"
            return starter

    monkeypatch.setattr(index, "_boto", _Session)
    monkeypatch.setattr(index, "_starter", None)
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:ml-sagemaker-jobs-waiting"

    class Context:
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:ml-sagemaker-jobs"

    answered: list[dict[str, Any]] = []
    monkeypatch.setattr(
        waiter.LambdaServices, "respond", lambda _, url, body: answered.append(body)
    )
    request: dict[str, Any] = {
        "TrainingJobName": "fixed-job",
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::123456789012:role/training",
        "OutputDataConfig": {"S3OutputPath": "s3://b/models/"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": "1",
            "VolumeSizeInGB": "10",
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": "600"},
    }
    expected_request = {
        **request,
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    expected = {
        **expected_request,
        "Tags": [
            {"Key": OWNER_TAG, "Value": "r1"},
            {"Key": REQUEST_HASH_TAG, "Value": request_hash(expected_request)},
            {"Key": LOGICAL_ID_TAG, "Value": "Train"},
        ],
    }
    event = {
        "RequestType": "Create",
        "ResponseURL": "https://cloudformation-custom-resource-response.example/r1",
        "StackId": "stack",
        "RequestId": "r1",
        "LogicalResourceId": "Train",
        "ResourceProperties": {"TrainingJobRequest": request},
    }
    arn = "arn:aws:sagemaker:us-east-1:123456789012:training-job/fixed-job"
    started: list[dict[str, Any]] = []

    with Stubber(client) as stub, Stubber(starter) as start:
        stub.add_response("create_training_job", {"TrainingJobArn": arn}, expected)
        stub.add_response(
            "describe_training_job",
            {
                "TrainingJobName": "fixed-job",
                "TrainingJobArn": arn,
                "ModelArtifacts": {"S3ModelArtifacts": ""},
                "TrainingJobStatus": "InProgress",
                "SecondaryStatus": "Starting",
                "StoppingCondition": {"MaxRuntimeInSeconds": 600},
                "CreationTime": "2026-12-02T00:00:00Z",
            },
            {"TrainingJobName": "fixed-job"},
        )
        start.add_response(
            "start_execution",
            {"executionArn": f"{machine}:r1", "startDate": "2026-12-02T00:00:00Z"},
            {"stateMachineArn": machine, "name": "r1", "input": ANY},
        )
        starter.meta.events.register(
            "provide-client-params.states.StartExecution",
            lambda params, **_: started.append(params),
        )
        outcome = index.handle(event, Context())
        stub.assert_no_pending_responses()
        start.assert_no_pending_responses()
    assert outcome == {"Outcome": "waiting after poll 1"}
    assert answered == []  # the state machine's invocations answer, not this one
    [state] = [json.loads(params["input"]) for params in started]
    assert state["WaitSeconds"] == 30
    assert state[waiter.CONTINUATION]["Event"]["PhysicalResourceId"] == "fixed-job"


def test_runtime_dependencies_are_the_cdk_only_in_compatible_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {
        dep.split(">")[0].split("<")[0].split("=")[0]: dep for dep in project["dependencies"]
    }
    assert set(runtime) == {"aws-cdk-lib", "constructs"}
    for spec in runtime.values():
        assert ">=" in spec and "<" in spec and "==" not in spec, spec
    # Dev tools, on the contrary, are pinned so every machine runs the same checks.
    for spec in project["optional-dependencies"]["dev"]:
        assert "==" in spec, spec
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/aws-cdk"]["version"].startswith("2.1148.")
