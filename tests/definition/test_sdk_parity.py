"""The request a migrating SDK user gets, compared member by member with the request
the SageMaker Python SDK v2 itself sends for the same estimator (issue 30, section 3).

Each case is written twice: as ``TrainingJob``/``HyperparameterTuningJob`` props and as
the SDK estimator's arguments. The library's side is synthesized once and deployed
through the handler (the CloudFormation engine of ``tests.cloudformation`` on the
fakes), so the request compared is the one SageMaker would receive, with the name the
handler generated and the hyperparameters it fills in from that name; the SDK's side
runs in the SDK's own venv (``.venv-sdk2``, ``tests/sdk2_probe.py``) under the same
job name. What differs on purpose is asserted as such in
:func:`test_what_differs_on_purpose`.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    CategoricalRange,
    ContinuousRange,
    Distribution,
    HyperparameterTuningJob,
    InstanceType,
    IntegerRange,
    MetricDefinition,
    TrainingCode,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
    TuningObjective,
)
from constructs_lib.definition._debugger import RuleConfiguration
from tests.cloudformation import Engine
from tests.fakes import ACCOUNT, REGION

ROOT = Path(__file__).resolve().parents[2]
SDK2_PYTHON = ROOT / ".venv-sdk2" / "bin" / "python"
BUCKET = "parity-bucket"
CODE_KEY = "code/sourcedir.tar.gz"
OUTPUT = f"s3://{BUCKET}/models"
INPUTS = {"train": f"s3://{BUCKET}/train/"}
#: The SDK's tuner adds these for its own ``attach`` (the containers do not read them).
SDK_ONLY_HYPERPARAMETERS = ("sagemaker_estimator_class_name", "sagemaker_estimator_module")
LOSS = [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]


def _sdk_code(entry_point: str = "train.py") -> dict[str, Any]:
    return {
        "entry_point": entry_point,
        "source_dir": f"s3://{BUCKET}/{CODE_KEY}",
        "role": f"arn:aws:iam::{ACCOUNT}:role/unused",
        "output_path": OUTPUT,
    }


#: id -> (the SDK's case, the library's props). The SDK's arguments are what a user of
#: the estimator wrote; the props are what the same user writes for TrainingJob.
CASES: dict[str, dict[str, Any]] = {
    "pytorch": {
        "estimator": "PyTorch",
        "args": {
            **_sdk_code(),
            "framework_version": "2.3",
            "py_version": "py311",
            "instance_type": "ml.m5.xlarge",
            "instance_count": 1,
            "hyperparameters": {
                "epochs": 3,
                "lr": 0.1,
                "optimizer": "adam",
                "layers": [64, 32],
                "shuffle": True,
            },
        },
    },
    "tensorflow": {
        "estimator": "TensorFlow",
        "args": {
            **_sdk_code(),
            "framework_version": "2.16",
            "py_version": "py310",
            "instance_type": "ml.m5.xlarge",
            "instance_count": 1,
            "hyperparameters": {"epochs": 2},
        },
    },
    "tensorflow_mpi": {
        "estimator": "TensorFlow",
        "args": {
            **_sdk_code(),
            "framework_version": "2.16",
            "py_version": "py310",
            "instance_type": "ml.p4d.24xlarge",
            "instance_count": 2,
            "distribution": {
                "mpi": {"enabled": True, "processes_per_host": 8, "custom_mpi_options": ""}
            },
        },
    },
    "tensorflow_no_model_dir": {
        "estimator": "TensorFlow",
        "args": {
            **_sdk_code(),
            "framework_version": "2.16",
            "py_version": "py310",
            "instance_type": "ml.m5.xlarge",
            "instance_count": 1,
            "model_dir": False,
        },
    },
    "tensorflow_own_model_dir": {
        "estimator": "TensorFlow",
        "args": {
            **_sdk_code(),
            "framework_version": "2.16",
            "py_version": "py310",
            "instance_type": "ml.m5.xlarge",
            "instance_count": 1,
            "model_dir": f"s3://{BUCKET}/checkpoints/model",
        },
    },
    "huggingface": {
        "estimator": "HuggingFace",
        "args": {
            **_sdk_code(),
            "transformers_version": "4.49.0",
            "pytorch_version": "2.5.1",
            "py_version": "py311",
            "instance_type": "ml.g5.xlarge",
            "instance_count": 1,
            "hyperparameters": {"model_name": "distilbert-base-uncased", "epochs": 1},
        },
    },
    "huggingface_data_parallel": {
        "estimator": "HuggingFace",
        "args": {
            **_sdk_code(),
            "transformers_version": "4.28.1",
            "pytorch_version": "2.0.0",
            "py_version": "py310",
            "instance_type": "ml.p4d.24xlarge",
            "instance_count": 2,
            "distribution": {"smdistributed": {"dataparallel": {"enabled": True}}},
        },
    },
    "xgboost_algorithm": {
        "estimator": "Estimator",
        "algorithm": ["xgboost", "1.7-1"],
        "args": {
            "role": f"arn:aws:iam::{ACCOUNT}:role/unused",
            "output_path": OUTPUT,
            "instance_type": "ml.m5.xlarge",
            "instance_count": 1,
            "hyperparameters": {"num_round": 50, "eta": 0.1, "objective": "reg:squarederror"},
        },
    },
    "rules": {
        "estimator": "PyTorch",
        "args": {
            **_sdk_code(),
            "framework_version": "2.3",
            "py_version": "py311",
            "instance_type": "ml.m5.xlarge",
            "instance_count": 1,
        },
        "debug_rules": [
            ["loss_not_decreasing", None],
            ["vanishing_gradient", {"threshold": "0.001"}],
            ["overfit", None],
        ],
        "profiler_rules": ["ProfilerReport", "BatchSize", "StepOutlier"],
    },
    "tuning": {
        "estimator": "PyTorch",
        "args": {
            **_sdk_code(),
            "framework_version": "2.3",
            "py_version": "py311",
            "instance_type": "ml.m5.xlarge",
            "instance_count": 1,
            "hyperparameters": {"epochs": 3},
        },
        "tuner": {
            "objective": "loss",
            "objective_type": "Minimize",
            "metric_definitions": LOSS,
            "max_jobs": 4,
            "max_parallel_jobs": 2,
            "ranges": {
                "batch": {"kind": "categorical", "values": [32, 64]},
                "optimizer": {"kind": "categorical", "values": ["adam", "sgd"]},
                "flag": {"kind": "categorical", "values": [True, False]},
                "layers": {"kind": "integer", "min": 1, "max": 4},
                "lr": {"kind": "continuous", "min": 0.001, "max": 0.1},
            },
        },
    },
}


def _library_app() -> dict[str, Any]:
    """The cases as the library's constructs, in one stack: its template."""
    app = App()
    stack = Stack(app, "Parity", env=Environment(account=ACCOUNT, region=REGION))
    bucket = s3.Bucket.from_bucket_name(stack, "Bucket", BUCKET)
    output = TrainingOutput.to_bucket(bucket, "models")
    inputs = [TrainingInput.from_bucket("train", bucket, "train/")]
    code = TrainingCode.from_bucket(bucket, CODE_KEY, entry_point="train.py")
    common: dict[str, Any] = {"output": output, "inputs": inputs, "code": code}
    pytorch = TrainingImage.from_framework("pytorch", "2.3", py_version="py311")
    tensorflow = TrainingImage.from_framework("tensorflow", "2.16", py_version="py310")
    m5 = InstanceType.of("ml.m5.xlarge")
    p4d = InstanceType.of("ml.p4d.24xlarge")
    TrainingJob(
        stack,
        "pytorch",
        **common,
        image=pytorch,
        instance_type=m5,
        hyperparameters=CASES["pytorch"]["args"]["hyperparameters"],
    )
    TrainingJob(
        stack,
        "tensorflow",
        **common,
        image=tensorflow,
        instance_type=m5,
        hyperparameters={"epochs": 2},
    )
    TrainingJob(
        stack,
        "tensorflow_mpi",
        **common,
        image=tensorflow,
        instance_type=p4d,
        instance_count=2,
        distribution=Distribution.mpi(processes_per_host=8),
    )
    TrainingJob(
        stack,
        "tensorflow_no_model_dir",
        **{
            **common,
            "code": TrainingCode.from_bucket(
                bucket, CODE_KEY, entry_point="train.py", model_dir=False
            ),
        },
        image=tensorflow,
        instance_type=m5,
    )
    TrainingJob(
        stack,
        "tensorflow_own_model_dir",
        **common,
        image=tensorflow,
        instance_type=m5,
        hyperparameters={"model_dir": f"s3://{BUCKET}/checkpoints/model"},
    )
    TrainingJob(
        stack,
        "huggingface",
        **common,
        image=TrainingImage.from_framework(
            "huggingface", "4.49.0", py_version="py311", base_framework_version="pytorch2.5.1"
        ),
        instance_type=InstanceType.of("ml.g5.xlarge"),
        hyperparameters={"model_name": "distilbert-base-uncased", "epochs": 1},
    )
    TrainingJob(
        stack,
        "huggingface_data_parallel",
        **common,
        image=TrainingImage.from_framework(
            "huggingface", "4.28.1", py_version="py310", base_framework_version="pytorch2.0.0"
        ),
        instance_type=p4d,
        instance_count=2,
        distribution=Distribution.data_parallel(),
    )
    TrainingJob(
        stack,
        "xgboost_algorithm",
        output=output,
        inputs=inputs,
        image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
        instance_type=m5,
        hyperparameters={"num_round": 50, "eta": 0.1, "objective": "reg:squarederror"},
    )
    TrainingJob(
        stack,
        "rules",
        **common,
        image=pytorch,
        instance_type=m5,
        debug_rules=[
            RuleConfiguration.builtin("LossNotDecreasing"),
            RuleConfiguration.builtin("VanishingGradient", parameters={"threshold": 0.001}),
            RuleConfiguration.builtin("Overfit"),
        ],
        profiler_rules=[
            RuleConfiguration.builtin("ProfilerReport"),
            RuleConfiguration.builtin("BatchSize"),
            RuleConfiguration.builtin("StepOutlier"),
        ],
    )
    HyperparameterTuningJob(
        stack,
        "tuning",
        training=TrainingDefinition(
            **common,
            image=pytorch,
            instance_type=m5,
            hyperparameters={"epochs": 3},
            metric_definitions=[MetricDefinition(name="loss", regex=LOSS[0]["Regex"])],
        ),
        objective=TuningObjective.minimize("loss"),
        ranges=[
            CategoricalRange("batch", [32, 64]),
            CategoricalRange("optimizer", ["adam", "sgd"]),
            CategoricalRange("flag", [True, False]),
            IntegerRange("layers", 1, 4),
            ContinuousRange("lr", 0.001, 0.1),
        ],
        max_jobs=4,
        max_parallel_jobs=2,
    )
    return dict(app.synth().get_stack_artifact(stack.artifact_id).template)


def _sdk_requests(names: dict[str, str]) -> dict[str, dict[str, Any]]:
    if not SDK2_PYTHON.exists():
        pytest.fail(f"{SDK2_PYTHON} is missing: run `make .venv-sdk2/.installed` (make test does)")
    cases = [
        {**case, "id": case_id, "region": REGION, "inputs": INPUTS, "job_name": names[case_id]}
        for case_id, case in CASES.items()
    ]
    result = subprocess.run(
        [str(SDK2_PYTHON), str(ROOT / "tests" / "sdk2_probe.py")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    answers: dict[str, dict[str, Any]] = json.loads(result.stdout)
    return answers


class Compared:
    """Each case's request as SageMaker receives it from the library, and the SDK's."""

    def __init__(self) -> None:
        template = _library_app()
        engine = Engine()
        assert engine.deploy(template) == "CREATE_COMPLETE", engine.failed()
        self.ours: dict[str, dict[str, Any]] = {}
        names: dict[str, str] = {}
        for case_id, case in CASES.items():
            [logical_id] = [
                key
                for key, resource in template["Resources"].items()
                if re.fullmatch(case_id.replace("_", "") + "[0-9A-F]{8}", key)
                and resource["Type"].startswith("Custom::SageMaker")
            ]
            name = engine.resources[logical_id].physical_id
            jobs = engine.sagemaker.tuning_jobs if "tuner" in case else engine.sagemaker.jobs
            self.ours[case_id] = jobs[name].request
            names[case_id] = name
        self.sdk = _sdk_requests(names)


@pytest.fixture(scope="module")
def compared() -> Compared:
    return Compared()


def _definition(request: dict[str, Any]) -> dict[str, Any]:
    """A training job's request, or a tuning job's training definition."""
    definition: dict[str, Any] = request.get("TrainingJobDefinition", request)
    return definition


def _view(request: dict[str, Any]) -> dict[str, Any]:
    """The members a script, a rule or SageMaker reads, as one comparable value."""
    definition = _definition(request)
    algorithm = definition["AlgorithmSpecification"]
    resources = definition.get("ResourceConfig") or definition["HyperParameterTuningResourceConfig"]
    hyperparameters = definition.get("HyperParameters") or definition.get("StaticHyperParameters")
    view = {
        "TrainingImage": algorithm["TrainingImage"],
        "TrainingInputMode": algorithm["TrainingInputMode"],
        "EnableSageMakerMetricsTimeSeries": algorithm.get("EnableSageMakerMetricsTimeSeries"),
        "MetricDefinitions": algorithm.get("MetricDefinitions"),
        "HyperParameters": {
            key: value
            for key, value in (hyperparameters or {}).items()
            if key not in SDK_ONLY_HYPERPARAMETERS
        },
        "Instances": (resources["InstanceType"], resources["InstanceCount"]),
        "VolumeSizeInGB": resources["VolumeSizeInGB"],
        "InputDataConfig": [
            (channel["ChannelName"], channel["DataSource"])
            for channel in definition["InputDataConfig"]
        ],
        "S3OutputPath": definition["OutputDataConfig"]["S3OutputPath"],
        "DebugRuleConfigurations": definition.get("DebugRuleConfigurations"),
        "ProfilerRuleConfigurations": definition.get("ProfilerRuleConfigurations"),
    }
    if "HyperParameterTuningJobConfig" in request:
        config = request["HyperParameterTuningJobConfig"]
        # A numeric range without ScalingType is scaled Auto (the API's default),
        # which the SDK sends explicitly.
        view["ParameterRanges"] = {
            kind: sorted(
                ({"ScalingType": "Auto", **r} if "MinValue" in r else r for r in ranges),
                key=lambda r: r["Name"],
            )
            for kind, ranges in config["ParameterRanges"].items()
            if ranges
        }
        view["Objective"] = config["HyperParameterTuningJobObjective"]
        # The tuning job's own runtime is bounded on purpose (test_what_differs_on_purpose).
        view["ResourceLimits"] = {
            key: value
            for key, value in config["ResourceLimits"].items()
            if key != "MaxRuntimeInSeconds"
        }
    return view


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_the_request_is_the_sdks(compared: Compared, case_id: str) -> None:
    answer = compared.sdk[case_id]
    assert "request" in answer, f"the SDK refused the case: {answer.get('error')}"
    assert _view(compared.ours[case_id]) == _view(answer["request"])


def test_the_job_name_hyperparameters_hold_the_generated_name(compared: Compared) -> None:
    # The handler fills them in: the template has neither (the name is not known).
    request = compared.ours["tensorflow"]
    name = request["TrainingJobName"]
    assert json.loads(request["HyperParameters"]["sagemaker_job_name"]) == name
    assert json.loads(request["HyperParameters"]["model_dir"]) == f"{OUTPUT}/{name}/model"
    mpi = compared.ours["tensorflow_mpi"]["HyperParameters"]
    assert json.loads(mpi["model_dir"]) == "/opt/ml/model"
    assert "model_dir" not in compared.ours["tensorflow_no_model_dir"]["HyperParameters"]
    assert "model_dir" not in compared.ours["pytorch"]["HyperParameters"]
    tuning = compared.ours["tuning"]
    static = tuning["TrainingJobDefinition"]["StaticHyperParameters"]
    assert json.loads(static["sagemaker_job_name"]) == tuning["HyperParameterTuningJobName"]


def test_the_rules_read_what_the_sdks_hook_and_profiler_record(compared: Compared) -> None:
    ours, sdk = compared.ours["rules"], compared.sdk["rules"]["request"]

    def collections(request: dict[str, Any]) -> list[Any]:
        hook = request["DebugHookConfig"]
        return sorted(hook["CollectionConfigurations"], key=lambda c: c["CollectionName"])

    assert collections(ours) == collections(sdk) != []
    assert ours["DebugHookConfig"]["S3OutputPath"] == sdk["DebugHookConfig"]["S3OutputPath"]
    assert ours["ProfilerConfig"] == sdk["ProfilerConfig"]


def test_what_differs_on_purpose(compared: Compared) -> None:
    ours, sdk = compared.ours["pytorch"], compared.sdk["pytorch"]["request"]
    # CloudFormation waits an hour for a resource: 45 minutes of training, not a day.
    assert ours["StoppingCondition"] == {"MaxRuntimeInSeconds": 45 * 60}
    assert sdk["StoppingCondition"] == {"MaxRuntimeInSeconds": 24 * 3600}
    # A tuning job within the same hour: the SDK sets no bound of its own.
    tuning, sdk_tuning = compared.ours["tuning"], compared.sdk["tuning"]["request"]
    limits = tuning["HyperParameterTuningJobConfig"]["ResourceLimits"]
    assert limits["MaxRuntimeInSeconds"] <= 45 * 60
    assert (
        "MaxRuntimeInSeconds" not in sdk_tuning["HyperParameterTuningJobConfig"]["ResourceLimits"]
    )
    # The SDK turns the debugger hook and the profiler on for every framework job; the
    # library only for the rules that read them (debug_hook=, profiler= otherwise).
    assert "DebugHookConfig" in sdk and "DebugHookConfig" not in ours
    assert "ProfilerConfig" in sdk and "ProfilerConfig" not in ours
