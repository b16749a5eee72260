"""Script mode as constructs: framework images per region and processor (checked
against the SDK), the code's archive (deterministic, granted exactly), typed
hyperparameters, distribution, and the bad inputs users make."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnParameter, Environment, Stack
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import (
    CategoricalRange,
    ContinuousRange,
    Distribution,
    HyperparameterTuningJob,
    InstanceType,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingJob,
    TrainingOutput,
    TuningObjective,
)
from constructs_lib.definition._algorithms import load_frameworks
from tests import toolkit
from tests.iam import role_statements

SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "script"
ENV = Environment(account="123456789012", region="eu-west-1")


def _job(stack: Stack, construct_id: str = "Job", **props: Any) -> TrainingJob:
    bucket = stack.node.try_find_child("Bucket") or s3.Bucket(stack, "Bucket")
    assert isinstance(bucket, s3.Bucket)
    defaults: dict[str, Any] = {
        "image": TrainingImage.from_framework("pytorch", "2.5", py_version="py311"),
        "code": TrainingCode.from_directory(str(SCRIPT), entry_point="train.py"),
        "output": TrainingOutput.to_bucket(bucket, "models/"),
        "instance_type": InstanceType.of("ml.g5.xlarge"),
    }
    return TrainingJob(stack, construct_id, **{**defaults, **props})


def _request(template: dict[str, Any], logical_prefix: str = "Job") -> dict[str, Any]:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "Custom::SageMakerTrainingJob" and logical_id.startswith(
            logical_prefix
        ):
            request: dict[str, Any] = resource["Properties"]["TrainingJobRequest"]
            return request
    raise AssertionError(f"no job {logical_prefix}")


class Stacks:
    """A region-specific stack and a region-agnostic one, with script-mode jobs."""

    def __init__(self) -> None:
        app = App()
        self.regional = Stack(app, "Regional", env=ENV)
        self.job = _job(
            self.regional,
            hyperparameters={"epochs": 3, "lr": 0.01, "name": "x", "flag": True, "layers": [1, 2]},
            distribution=Distribution.torch_distributed(),
        )
        _job(
            self.regional,
            "Cpu",
            image=TrainingImage.from_framework("sklearn", "1.2-1"),
            instance_type=InstanceType.of("ml.m5.large"),
            hyperparameters={"alpha": 0.5},
        )
        self.agnostic = Stack(app, "Agnostic")
        _job(
            self.agnostic,
            image=TrainingImage.from_framework("tensorflow", "2.16", py_version="py310"),
        )
        self.regional_assertions = Template.from_stack(self.regional)
        self.regional_template = self.regional_assertions.to_json()
        self.agnostic_template = Template.from_stack(self.agnostic).to_json()


@pytest.fixture(scope="module")
def stacks() -> Stacks:
    return Stacks()


def test_the_image_is_the_sdks_for_the_region_and_instance(stacks: Stacks) -> None:
    gpu = _request(stacks.regional_template)["AlgorithmSpecification"]["TrainingImage"]
    cpu = _request(stacks.regional_template, "Cpu")["AlgorithmSpecification"]["TrainingImage"]
    [pytorch, sklearn] = toolkit.sdk_retrieve(
        [
            {
                "framework": "pytorch",
                "version": "2.5",
                "py_version": "py311",
                "instance_type": "ml.g5.xlarge",
                "scope": "training",
                "region": "eu-west-1",
            },
            {
                "framework": "sklearn",
                "version": "1.2-1",
                "instance_type": "ml.m5.large",
                "scope": "training",
                "region": "eu-west-1",
            },
        ]
    )
    assert gpu == pytorch["uri"] == stacks.job.training_image_uri
    assert cpu == sklearn["uri"]


def test_a_region_agnostic_stack_maps_every_region_to_the_sdks_uri(stacks: Stacks) -> None:
    template = stacks.agnostic_template
    image = _request(template)["AlgorithmSpecification"]["TrainingImage"]
    [[_, parts]] = image.values()
    [mapping_name] = template["Mappings"]
    assert mapping_name.startswith("SageMakerFrameworkRegistries")
    assert parts[0] == {"Fn::FindInMap": [mapping_name, {"Ref": "AWS::Region"}, "account"]}
    mapping = template["Mappings"][mapping_name]
    regions = ["us-east-1", "cn-north-1", "us-gov-west-1", "ap-northeast-3"]
    suffixes = {"cn-north-1": "amazonaws.com.cn"}
    cases = [
        {
            "framework": "tensorflow",
            "version": "2.16",
            "py_version": "py310",
            "instance_type": "ml.g5.xlarge",
            "scope": "training",
            "region": region,
        }
        for region in regions
    ]
    for region, answer in zip(regions, toolkit.sdk_retrieve(cases), strict=True):
        rendered = "".join(
            mapping[region]["account"]
            if isinstance(part, dict) and "Fn::FindInMap" in part
            else region
            if part == {"Ref": "AWS::Region"}
            else suffixes.get(region, "amazonaws.com")
            if part == {"Ref": "AWS::URLSuffix"}
            else part
            for part in parts
        )
        assert rendered == answer["uri"], region


def test_the_execution_role_pulls_from_the_image_repository_and_reads_the_code_only(
    stacks: Stacks,
) -> None:
    statements = role_statements(stacks.regional_assertions, stacks.regional, stacks.job.role)
    pulls = [s for s in statements if "ecr:BatchGetImage" in s["Action"]]
    assert [s["Resource"] for s in pulls] == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":ecr:eu-west-1:763104351884:repository/pytorch-training",
                ],
            ]
        }
    ]
    hyperparameters = _request(stacks.regional_template)["HyperParameters"]
    submit = json.loads(hyperparameters["sagemaker_submit_directory"])
    bucket, key = submit.removeprefix("s3://").split("/", 1)
    gets = [s for s in statements if s["Action"] == "s3:GetObject"]
    code_grants = [s for s in gets if key in json.dumps(s["Resource"])]
    assert len(code_grants) == 1
    # Exactly the archive (no wildcard after its key), and no listing of the assets bucket.
    resource = json.dumps(code_grants[0]["Resource"])
    assert f"/{key}" in resource
    assert "*" not in resource.split(key)[-1]
    assert not any("s3:ListBucket" in s["Action"] and bucket in json.dumps(s) for s in statements)


def test_hyperparameters_are_json_encoded_with_the_toolkits_own(stacks: Stacks) -> None:
    assert _request(stacks.regional_template)["HyperParameters"] == {
        "epochs": "3",
        "flag": "true",
        "layers": "[1, 2]",
        "lr": "0.01",
        "name": '"x"',
        "sagemaker_container_log_level": "20",
        "sagemaker_instance_type": '"ml.g5.xlarge"',
        "sagemaker_program": '"train.py"',
        "sagemaker_region": '"eu-west-1"',
        "sagemaker_submit_directory": _request(stacks.regional_template)["HyperParameters"][
            "sagemaker_submit_directory"
        ],
        "sagemaker_torch_distributed_enabled": "true",
    }
    # A region-agnostic stack names the region it deploys to.
    region = _request(stacks.agnostic_template)["HyperParameters"]["sagemaker_region"]
    assert region == {"Fn::Join": ["", ['"', {"Ref": "AWS::Region"}, '"']]}


def test_algorithms_keep_their_string_values() -> None:
    stack = Stack(App(), "Builtin", env=ENV)
    _job(
        stack,
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        code=None,
        hyperparameters={"num_round": "50"},
    )
    assert _request(Template.from_stack(stack).to_json())["HyperParameters"] == {"num_round": "50"}


def test_tuning_encodes_static_values_and_categorical_ranges_as_the_sdks_tuner() -> None:
    stack = Stack(App(), "Tuning", env=ENV)
    bucket = s3.Bucket(stack, "Bucket")
    tuning = HyperparameterTuningJob(
        stack,
        "Tune",
        training=TrainingDefinition(
            image=TrainingImage.from_framework("pytorch", "2.5", py_version="py311"),
            code=TrainingCode.from_directory(str(SCRIPT), entry_point="train.py"),
            output=TrainingOutput.to_bucket(bucket, "tuning/"),
            instance_type=InstanceType.of("ml.m5.xlarge"),
            hyperparameters={"epochs": 3, "optimizer": "adam"},
        ),
        objective=TuningObjective.minimize("loss"),
        ranges=[
            ContinuousRange("lr", 0.01, 0.1),
            CategoricalRange("batch", [32, 64]),
            CategoricalRange("shuffle", [True, False]),
        ],
        additional_request={
            "TrainingJobDefinition": {
                "AlgorithmSpecification": {
                    "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]
                }
            }
        },
    )
    definition = tuning.request["TrainingJobDefinition"]
    static = definition["StaticHyperParameters"]
    assert static["epochs"] == "3" and static["optimizer"] == '"adam"'
    assert json.loads(static["sagemaker_program"]) == "train.py"
    categorical = tuning.request["HyperParameterTuningJobConfig"]["ParameterRanges"][
        "CategoricalParameterRanges"
    ]
    assert categorical == [
        {"Name": "batch", "Values": ['"32"', '"64"']},
        {"Name": "shuffle", "Values": ['"True"', '"False"']},
    ]


def _copy(mtime: float, mode: int) -> Path:
    target = Path(tempfile.mkdtemp(prefix="code-copy-")) / "src"
    shutil.copytree(SCRIPT, target)
    for path in target.rglob("*"):
        os.utime(path, (mtime, mtime))
        if path.is_file():
            path.chmod(mode)
    return target


def _synthesized(code_dir: Path) -> tuple[dict[str, Any], set[str]]:
    outdir = Path(tempfile.mkdtemp(prefix="code-synth-"))
    app = App(outdir=str(outdir))
    stack = Stack(app, "Code", env=ENV)
    _job(stack, code=TrainingCode.from_directory(str(code_dir), entry_point="train.py"))
    app.synth()
    template = json.loads((outdir / "Code.template.json").read_text())
    return _request(template), set(toolkit.staged_files(outdir))


def test_packaging_is_deterministic_and_follows_the_files() -> None:
    first = _synthesized(_copy(1_000_000_000, 0o600))
    # Other mtimes, permissions, and a compiled cache beside the code: the same.
    second_dir = _copy(1_700_000_000, 0o755)
    (second_dir / "lib" / "__pycache__").mkdir()
    (second_dir / "lib" / "__pycache__" / "helper.cpython-311.pyc").write_bytes(os.urandom(64))
    assert _synthesized(second_dir) == first
    # One changed file: a new archive, and a new request (the job is replaced).
    (second_dir / "lib" / "helper.py").write_text("def describe():\n    return 'changed'\n")
    changed = _synthesized(second_dir)
    assert changed[0] != first[0]
    assert changed[1] != first[1]
    submit = json.loads(changed[0]["HyperParameters"]["sagemaker_submit_directory"])
    assert submit.rsplit("/", 1)[1] in changed[1]


def test_the_processor_of_an_unknown_instance_type_is_given() -> None:
    stack = Stack(App(), "Token", env=ENV)
    instance = CfnParameter(stack, "InstanceType").value_as_string
    with pytest.raises(
        ValueError,
        match=r"^\[Token/Job\] image: TrainingImage.from_framework\('pytorch', '2.5', "
        r"py_version='py311'\): processor: None is invalid: pytorch 2.5 has images for cpu, "
        r"gpu: the instance type is not known at synth, so give processor=$",
    ):
        _job(stack, instance_type=InstanceType.of(instance))
    job = _job(
        stack,
        "Gpu",
        instance_type=InstanceType.of(instance),
        image=TrainingImage.from_framework("pytorch", "2.5", py_version="py311", processor="gpu"),
    )
    assert job.training_image_uri.endswith("/pytorch-training:2.5-gpu-py311")


def _bad(**props: Any) -> None:
    _job(Stack(App(), "Bad", env=ENV), **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"image": TrainingImage.from_framework("pytorch-lightning", "2.5")},
            r"^\[Bad/Job\] image: .*framework: 'pytorch-lightning' is invalid: choose one of "
            r"huggingface, pytorch, sklearn, tensorflow, xgboost$",
        ),
        (
            {"image": TrainingImage.from_framework("pytorch", "9.9")},
            r"^\[Bad/Job\] image: .*version: '9.9' is invalid: pytorch training images exist "
            r"for versions 0.4, 0.4.0, .*2.5, 2.5.1, ",
        ),
        (
            {"image": TrainingImage.from_framework("pytorch", "2.5", py_version="py27")},
            r"py_version: 'py27' is invalid: pytorch 2.5 images have py311$",
        ),
        (
            {"image": TrainingImage.from_framework("sklearn", "1.2-1")},
            r"^\[Bad/Job\] image: .*processor: 'gpu' is invalid: sklearn 1.2-1 has no gpu image "
            r"for ml.g5.xlarge: it has cpu$",
        ),
        (
            {"image": TrainingImage.from_framework("pytorch", "2.5", processor="cpu")},
            r"processor: 'cpu' is invalid: the instance type ml.g5.xlarge runs gpu images$",
        ),
        (
            {
                "image": TrainingImage.from_framework(
                    "huggingface", "4.49", base_framework_version="tensorflow2.6"
                )
            },
            r"base_framework_version: 'tensorflow2.6' is invalid: huggingface 4.49 images are "
            r"built on pytorch2.5, pytorch2.5.1$",
        ),
        (
            {"code": TrainingCode.from_directory("/no/such/dir", entry_point="train.py")},
            r"^\[Bad/Job\] code: TrainingCode.from_directory: path '/no/such/dir' is invalid: "
            r"it must be an existing directory$",
        ),
        (
            {"code": TrainingCode.from_directory(str(SCRIPT), entry_point="fit.py")},
            r"^\[Bad/Job\] code: TrainingCode.from_directory: entry_point 'fit.py' is invalid: "
            r"it is not a file of .* the directory has lib/helper.py, requirements.txt, serve.py, "
            r"train.py$",
        ),
        (
            {"code": TrainingCode.from_directory(str(SCRIPT), entry_point="../train.py")},
            r"entry_point '../train.py' is invalid: the training toolkit runs a relative path",
        ),
        (
            {"hyperparameters": {"when": object()}},
            r"^\[Bad/Job\] HyperParameters.when \(hyperparameters\): <object object at .*> is "
            r"invalid: must be JSON-serialisable",
        ),
        (
            {"hyperparameters": {"lr": float("nan")}},
            r"HyperParameters.lr \(hyperparameters\): nan is invalid: must be a finite number",
        ),
        (
            {"hyperparameters": {"sagemaker_program": "other.py"}},
            r"HyperParameters.sagemaker_program \(hyperparameters\): 'other.py' is invalid: is "
            r"set by code=",
        ),
        (
            {
                "distribution": Distribution.torch_distributed(),
                "instance_type": InstanceType.of("ml.m5.xlarge"),
            },
            r"^\[Bad/Job\] HyperParameters.sagemaker_distribution \(distribution\): "
            r"'torch_distributed' is invalid: torch_distributed runs on GPU and Trainium "
            r"instances only$",
        ),
        (
            {
                "distribution": Distribution.torch_distributed(),
                "image": TrainingImage.from_framework("pytorch", "2.10", py_version="py313"),
            },
            r"torch_distributed on GPU instances supports PyTorch 1.13.1, .*2.8.0, not 2.10.0$",
        ),
        (
            {
                "distribution": Distribution.parameter_server(),
            },
            r"'parameter_server' is invalid: parameter_server runs on tensorflow images, not "
            r"pytorch$",
        ),
        (
            {
                "distribution": Distribution.mpi(processes_per_host=4),
                "image": TrainingImage.from_framework("pytorch", "1.11", py_version="py38"),
                "instance_type": InstanceType.of("ml.trn1.2xlarge"),
            },
            r"'mpi' is invalid: Trainium instances support the torch_distributed strategy only$",
        ),
        (
            {"distribution": Distribution.mpi(), "code": None},
            r"HyperParameters.sagemaker_distribution \(distribution\): 'mpi' is invalid: a "
            r"distribution is run by a framework container's training toolkit: it needs code=",
        ),
        (
            {
                "image": TrainingImage.from_framework("sklearn", "1.2-1"),
                "instance_type": InstanceType.of("ml.m5.xlarge"),
                "instance_count": 2,
            },
            r"ResourceConfig.InstanceCount \(instance_count\): 2 is invalid: sklearn trains on "
            r"one instance",
        ),
        (
            {
                "image": TrainingImage.from_registry(
                    "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mine:1"
                )
            },
            r"^\[Bad/Job\] AlgorithmSpecification.TrainingImage \(image\): '123456789012.dkr.ecr"
            r".eu-west-1.amazonaws.com/mine:1' is invalid: code= runs on a framework container.*"
            r"TrainingImage.from_framework",
        ),
        (
            {"image": TrainingImage.from_framework("tensorflow", "1.10", py_version="py2")},
            r"TensorFlow 1.10 and earlier run legacy mode only",
        ),
    ],
)
def test_bad_inputs_name_path_prop_value_and_rule(props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _bad(**props)


def test_a_region_without_the_image_names_where_it_is_published() -> None:
    stack = Stack(App(), "Far", env=Environment(account="123456789012", region="ap-east-2"))
    published = load_frameworks()["registries"]
    assert published  # the table is shipped
    with pytest.raises(
        ValueError,
        match=r"^\[Far/Job\] image: TrainingImage.from_framework\('huggingface', '4.49'.*region: "
        r"'ap-east-2' is invalid: huggingface 4.49 training images are published in af-south-1, ",
    ):
        _job(
            stack,
            image=TrainingImage.from_framework("huggingface", "4.49", py_version="py311"),
        )
