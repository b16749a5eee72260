"""Serving what a script-mode job trained: the framework's serving image (checked
against the SDK), the environment its serving toolkit reads, the repack job for the
containers that serve code from the model (run under the training toolkit), the
model role's grants, and the alpha ``ModelData``."""

from __future__ import annotations

import json
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk
import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sagemaker_alpha as alpha
from aws_cdk.assertions import Template

from constructs_lib import (
    Completion,
    ContinuousRange,
    HyperparameterTuningJob,
    InstanceType,
    MetricDefinition,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingJob,
    TrainingOutput,
    TuningObjective,
)
from tests import toolkit
from tests.iam import role_statements

SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "script"
ENV = Environment(account="123456789012", region="eu-west-1")


def _job(stack: Stack, construct_id: str, image: TrainingImage, **props: Any) -> TrainingJob:
    bucket = stack.node.try_find_child("Bucket") or s3.Bucket(stack, "Bucket")
    assert isinstance(bucket, s3.Bucket)
    return TrainingJob(
        stack,
        construct_id,
        image=image,
        code=TrainingCode.from_directory(str(SCRIPT), entry_point="train.py"),
        output=TrainingOutput.to_bucket(bucket, f"{construct_id.lower()}/"),
        instance_type=InstanceType.of("ml.m5.xlarge"),
        **props,
    )


def _model(stack: Stack, construct_id: str, container: Any, role: iam.Role) -> None:
    sagemaker.CfnModel(
        stack, construct_id, execution_role_arn=role.role_arn, primary_container=container
    )


class Served:
    """A scikit-learn job served from S3 code, a PyTorch job served through a repack
    job, each with its model role."""

    def __init__(self) -> None:
        self.outdir = Path(tempfile.mkdtemp(prefix="serving-"))
        app = App(outdir=str(self.outdir))
        self.stack = stack = Stack(app, "Serving", env=ENV)
        self.sklearn = _job(stack, "Sklearn", TrainingImage.from_framework("sklearn", "1.2-1"))
        self.pytorch = _job(
            stack, "Pytorch", TrainingImage.from_framework("pytorch", "2.5", py_version="py311")
        )
        self.sklearn_role = iam.Role(
            stack, "SklearnRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        self.pytorch_role = iam.Role(
            stack, "PytorchRole", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com")
        )
        self.sklearn_container = self.sklearn.inference_container(
            entry_point="serve.py", instance_type="ml.m5.large", role=self.sklearn_role
        )
        self.pytorch_container = self.pytorch.inference_container(
            entry_point="serve.py", instance_type="ml.g5.xlarge", role=self.pytorch_role
        )
        _model(stack, "SklearnModel", self.sklearn_container, self.sklearn_role)
        _model(stack, "PytorchModel", self.pytorch_container, self.pytorch_role)
        self.assertions = Template.from_stack(stack)
        self.template = self.assertions.to_json()
        app.synth()
        self.files = toolkit.staged_files(self.outdir)

    def container(self, model: str) -> dict[str, Any]:
        found: dict[str, Any] = self.template["Resources"][
            next(k for k in self.template["Resources"] if k.startswith(model))
        ]["Properties"]["PrimaryContainer"]
        return found

    def requests(self) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource["Properties"]["TrainingJobRequest"]
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == "Custom::SageMakerTrainingJob"
        }


@pytest.fixture(scope="module")
def served() -> Served:
    return Served()


def test_serving_images_are_the_sdks(served: Served) -> None:
    cases = [
        {
            "framework": "sklearn",
            "version": "1.2-1",
            "instance_type": "ml.m5.large",
            "scope": "inference",
            "region": "eu-west-1",
        },
        {
            "framework": "pytorch",
            "version": "2.5",
            "py_version": "py311",
            "instance_type": "ml.g5.xlarge",
            "scope": "inference",
            "region": "eu-west-1",
        },
    ]
    sklearn, pytorch = toolkit.sdk_retrieve(cases)
    assert served.container("SklearnModel")["Image"] == sklearn["uri"]
    assert served.container("PytorchModel")["Image"] == pytorch["uri"]


def test_scikit_learn_serves_the_code_from_s3_as_the_sdk_sets_it(served: Served) -> None:
    container = served.container("SklearnModel")
    training = next(r for k, r in served.requests().items() if k.startswith("Sklearn"))
    submit = json.loads(training["HyperParameters"]["sagemaker_submit_directory"])
    assert container["Environment"] == {
        "SAGEMAKER_PROGRAM": "serve.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": submit,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": "eu-west-1",
    }
    # The model reads the job's artifacts, once the job completed.
    assert container["ModelDataUrl"]["Fn::GetAtt"][1] == "ModelArtifacts"
    assert container["ModelDataUrl"]["Fn::GetAtt"][0].startswith("Sklearn")
    # The role reads those artifacts and exactly the code's archive.
    statements = role_statements(served.assertions, served.stack, served.sklearn_role)
    resources = json.dumps([s["Resource"] for s in statements if s["Action"] == "s3:GetObject"])
    key = submit.rsplit("/", 1)[1]
    assert f"/{key}" in resources and "sklearn/" in resources


def test_pytorch_serves_a_model_repacked_with_its_code(served: Served) -> None:
    container = served.container("PytorchModel")
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "serve.py"
    repack_id = container["ModelDataUrl"]["Fn::GetAtt"][0]
    assert repack_id.startswith("PytorchRepack")
    repack = served.requests()[repack_id]
    assert repack["AlgorithmSpecification"]["TrainingImage"].endswith(
        "/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    assert repack["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    channels = {
        c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
        for c in repack["InputDataConfig"]
    }
    # The trained model (after the training job completed) and the serving code.
    assert channels["model"]["Fn::GetAtt"][1] == "ModelArtifacts"
    assert channels["model"]["Fn::GetAtt"][0].startswith("Pytorch")
    training = next(
        r
        for k, r in served.requests().items()
        if k.startswith("Pytorch") and not k.startswith("PytorchRepack")
    )
    assert channels["source"] == json.loads(
        training["HyperParameters"]["sagemaker_submit_directory"]
    )
    # The model role reads the repacked artifacts.
    statements = role_statements(served.assertions, served.stack, served.pytorch_role)
    resources = json.dumps([s["Resource"] for s in statements if s["Action"] == "s3:GetObject"])
    assert "pytorch/repacked/" in resources


def test_the_repack_job_puts_the_code_into_the_model(served: Served) -> None:
    """The repack job's own request, run by the training toolkit on a trained model."""
    container = served.container("PytorchModel")
    repack = served.requests()[container["ModelDataUrl"]["Fn::GetAtt"][0]]
    work = Path(tempfile.mkdtemp(prefix="repack-"))
    trained = work / "model.tar.gz"
    (work / "weights.bin").write_bytes(b"\x00weights")
    (work / "code").mkdir()
    (work / "code" / "stale.py").write_text("old code the model carried")
    with tarfile.open(trained, "w:gz") as tar:
        tar.add(work / "weights.bin", "weights.bin")
        tar.add(work / "code" / "stale.py", "code/stale.py")
    base = work / "opt-ml"
    toolkit.write_tree(
        base,
        request=repack,
        hyperparameters=repack["HyperParameters"],
        files=served.files,
        channel_files={"model": trained},
    )
    result = toolkit.train(base)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    model = base / "model"
    assert (model / "weights.bin").read_bytes() == b"\x00weights"
    assert sorted(p.relative_to(model).as_posix() for p in (model / "code").rglob("*.py")) == [
        "code/lib/helper.py",
        "code/serve.py",
        "code/train.py",
    ]


def _stack() -> Stack:
    return Stack(App(), "Bad", env=ENV)


@pytest.mark.parametrize(
    ("image", "kwargs", "message"),
    [
        (
            TrainingImage.from_framework("pytorch", "2.10", py_version="py313"),
            {"entry_point": "serve.py", "instance_type": "ml.g5.xlarge"},
            r"^\[Bad/Job\] inference_container: the serving image of .*version: '2.10' is "
            r"invalid: pytorch inference images exist for versions .* \(give "
            r"framework_version=",
        ),
        (
            TrainingImage.from_framework("tensorflow", "2.16", py_version="py310"),
            {"entry_point": "serve.py", "instance_type": "ml.m5.large"},
            r"entry_point: 'serve.py' is invalid: TensorFlow Serving runs the model's "
            r"code/inference.py",
        ),
        (
            TrainingImage.from_framework("sklearn", "1.2-1"),
            {"entry_point": "predict.py"},
            r"^\[Bad/Job\] inference_container: entry_point: 'predict.py' is invalid: it is not "
            r"a file of the code",
        ),
        (
            TrainingImage.from_algorithm("xgboost", "1.7-1"),
            {"entry_point": "serve.py"},
            r"the job runs no framework image",
        ),
    ],
)
def test_bad_serving_requests_say_what_to_do(
    image: TrainingImage, kwargs: dict[str, Any], message: str
) -> None:
    stack = _stack()
    builtin = image.__class__.__name__ == "_BuiltinAlgorithmImage"
    job = TrainingJob(
        stack,
        "Job",
        image=image,
        code=None if builtin else TrainingCode.from_directory(str(SCRIPT), entry_point="train.py"),
        output=TrainingOutput.to_bucket(s3.Bucket(stack, "B"), "m/"),
        instance_type=InstanceType.of("ml.m5.xlarge"),
    )
    with pytest.raises(ValueError, match=message):
        job.inference_container(**kwargs)


def test_a_repack_needs_a_deployment_that_waits_for_training() -> None:
    stack = _stack()
    job = _job(
        stack,
        "Job",
        TrainingImage.from_framework("pytorch", "2.5", py_version="py311"),
        completion=Completion.none(),
    )
    with pytest.raises(ValueError, match=r"^\[Bad/Job\] inference_container: .*Completion.none"):
        job.inference_container(entry_point="serve.py", instance_type="ml.m5.large")


def test_alpha_model_data_grants_the_models_role() -> None:
    stack = _stack()
    job = _job(stack, "Job", TrainingImage.from_framework("sklearn", "1.2-1"))
    model = alpha.Model(
        stack,
        "Model",
        containers=[
            alpha.ContainerDefinition(
                image=alpha.ContainerImage.from_ecr_repository(ecr.Repository(stack, "Repo")),
                model_data=job.model_data,
            )
        ],
    )
    template = Template.from_stack(stack)
    body = template.to_json()
    [model_resource] = [
        r for r in body["Resources"].values() if r["Type"] == "AWS::SageMaker::Model"
    ]
    url = model_resource["Properties"]["PrimaryContainer"]["ModelDataUrl"]
    assert url["Fn::GetAtt"][1] == "ModelArtifacts"
    statements = role_statements(template, stack, model.role)  # type: ignore[arg-type]
    gets = json.dumps([s["Resource"] for s in statements if s["Action"] == "s3:GetObject"])
    assert "job/" in gets


def test_an_algorithm_jobs_serving_image_for_the_alpha_model() -> None:
    # A built-in algorithm's model is served by its training image: typed, as a
    # ContainerImage, beside the ModelData; the model's role may pull and read.
    stack = _stack()
    bucket = s3.Bucket(stack, "Bucket")
    job = TrainingJob(
        stack,
        "Xgb",
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        output=TrainingOutput.to_bucket(bucket, "xgb/"),
        hyperparameters={"num_round": 10},
    )
    model = alpha.Model(
        stack,
        "Model",
        containers=[alpha.ContainerDefinition(image=job.serving_image, model_data=job.model_data)],
    )
    template = Template.from_stack(stack)
    [resource] = template.find_resources("AWS::SageMaker::Model").values()
    container = resource["Properties"]["PrimaryContainer"]
    assert container["Image"] == stack.resolve(job.training_image_uri)
    assert container["Image"].endswith("/sagemaker-xgboost:1.7-1")
    statements = role_statements(template, stack, model.role)  # type: ignore[arg-type]
    pulls = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert "repository/sagemaker-xgboost" in json.dumps(pulls)
    gets = json.dumps([s["Resource"] for s in statements if s["Action"] == "s3:GetObject"])
    assert "xgb/" in gets


def test_a_framework_jobs_container_definition_for_the_alpha_model() -> None:
    # The framework's serving image, the repacked model and the serving environment,
    # as inference_container gives them; the alpha model's own role is granted.
    stack = _stack()
    job = _job(stack, "Torch", TrainingImage.from_framework("pytorch", "2.5", py_version="py311"))
    model = alpha.Model(
        stack,
        "Model",
        containers=[job.container_definition(entry_point="serve.py", instance_type="ml.g5.xlarge")],
    )
    template = Template.from_stack(stack)
    [resource] = template.find_resources("AWS::SageMaker::Model").values()
    container = resource["Properties"]["PrimaryContainer"]
    assert "/pytorch-inference:2.5" in container["Image"] and "-gpu-" in container["Image"]
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "serve.py"
    assert container["ModelDataUrl"]["Fn::GetAtt"][0].startswith("TorchRepack")
    statements = role_statements(template, stack, model.role)  # type: ignore[arg-type]
    gets = json.dumps([s["Resource"] for s in statements if s["Action"] == "s3:GetObject"])
    assert "torch/repacked/" in gets
    # A framework job's serving image alone would miss the serving environment.
    with pytest.raises(ValueError, match=r"^\[Bad/Torch\] serving_image: .*container_definition"):
        job.serving_image  # noqa: B018


def test_model_data_without_the_alpha_package_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = _stack()
    job = _job(stack, "Job", TrainingImage.from_framework("sklearn", "1.2-1"))
    # As if the package were not installed.
    monkeypatch.setitem(sys.modules, "aws_cdk.aws_sagemaker_alpha", None)
    monkeypatch.delattr(aws_cdk, "aws_sagemaker_alpha")
    with pytest.raises(
        ImportError,
        match=r"^\[Bad/Job\] model_data needs the package aws-cdk.aws-sagemaker-alpha .*"
        r"pip install 'aws-cdk.aws-sagemaker-alpha==<aws-cdk-lib version>a0'$",
    ):
        job.model_data  # noqa: B018


def test_a_tuning_job_serves_its_best_model_with_the_same_code() -> None:
    stack = _stack()
    bucket = s3.Bucket(stack, "Bucket")
    tuning = HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=TrainingImage.from_framework("sklearn", "1.2-1"),
            code=TrainingCode.from_directory(str(SCRIPT), entry_point="train.py"),
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            metric_definitions=[MetricDefinition(name="loss", regex="loss=([0-9.]+)")],
        ),
        objective=TuningObjective.minimize("loss"),
        ranges=[ContinuousRange("alpha", 0.1, 1.0)],
    )
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"))
    container = tuning.inference_container(entry_point="serve.py", role=role)
    resolved = stack.resolve(container.model_data_url)
    assert resolved["Fn::GetAtt"][1] == "BestModelArtifacts"
    assert stack.resolve(container.environment)["SAGEMAKER_PROGRAM"] == "serve.py"
    template = Template.from_stack(stack)
    statements = role_statements(template, stack, role)
    gets = json.dumps([s["Resource"] for s in statements if s["Action"] == "s3:GetObject"])
    assert "tuning/" in gets
