"""Script mode against the real container contract: SageMaker's training toolkit (the
code inside the framework containers) runs what a synthesized assembly gives it, on
a ``SAGEMAKER_BASE_DIR`` tree written as SageMaker writes it from the request."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    CategoricalRange,
    ContinuousRange,
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
from tests import toolkit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_app" / "data"
ENV = Environment(account="123456789012", region="eu-west-1")
HYPERPARAMETERS: dict[str, Any] = {
    "epochs": 3,
    "learning-rate": 0.05,
    "optimizer": "adam",
    "shuffle": True,
    "layers": [64, 32],
}


class Synthesized:
    """One app: a script-mode training job and a tuning job of the same code."""

    def __init__(self) -> None:
        self.outdir = Path(tempfile.mkdtemp(prefix="script-mode-"))
        app = App(outdir=str(self.outdir))
        stack = Stack(app, "ScriptMode", env=ENV)
        bucket = s3.Bucket(stack, "Models")
        code = TrainingCode.from_directory(str(FIXTURES / "script"), entry_point="train.py")
        image = TrainingImage.from_framework("pytorch", "2.5", py_version="py311")
        inputs = [
            TrainingInput.from_asset("train", str(SAMPLE_DATA / "train.csv")),
            TrainingInput.from_asset("validation", str(SAMPLE_DATA / "validation.csv")),
        ]
        TrainingJob(
            stack,
            "Train",
            image=image,
            code=code,
            inputs=inputs,
            output=TrainingOutput.to_bucket(bucket, "models/"),
            instance_type=InstanceType.of("ml.m5.xlarge"),
            hyperparameters=HYPERPARAMETERS,
        )
        # Without network access, the code comes as a channel (the SDK's way).
        TrainingJob(
            stack,
            "Isolated",
            image=image,
            code=code,
            inputs=inputs,
            output=TrainingOutput.to_bucket(bucket, "isolated/"),
            instance_type=InstanceType.of("ml.m5.xlarge"),
            hyperparameters=HYPERPARAMETERS,
            network_isolation=True,
        )
        HyperparameterTuningJob(
            stack,
            "Tune",
            training=TrainingDefinition(
                image=image,
                code=code,
                inputs=inputs,
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
                hyperparameters={"layers": [64, 32]},
                metric_definitions=[MetricDefinition(name="loss", regex="loss=([0-9.]+)")],
            ),
            objective=TuningObjective.minimize("loss"),
            ranges=[
                IntegerRange("epochs", 2, 4),
                ContinuousRange("learning-rate", 0.01, 0.1),
                CategoricalRange("optimizer", ["adam", "sgd"]),
                CategoricalRange("shuffle", [True, False]),
            ],
            max_jobs=2,
        )
        app.synth()
        template = json.loads((self.outdir / "ScriptMode.template.json").read_text())
        resources = template["Resources"].values()
        jobs = [
            r["Properties"]["TrainingJobRequest"]
            for r in resources
            if r["Type"] == "Custom::SageMakerTrainingJob"
        ]
        self.training, self.isolated = sorted(jobs, key=lambda r: "EnableNetworkIsolation" in r)
        self.tuning = next(
            r["Properties"]["TuningJobRequest"]
            for r in resources
            if r["Type"] == "Custom::SageMakerHyperparameterTuningJob"
        )
        self.files = toolkit.staged_files(self.outdir)


@pytest.fixture(scope="module")
def synthesized() -> Synthesized:
    return Synthesized()


def _run(
    request: dict[str, Any],
    hyperparameters: dict[str, str],
    files: Any,
    channels: tuple[str, ...] = ("train", "validation"),
) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="opt-ml-"))
    toolkit.write_tree(base, request=request, hyperparameters=hyperparameters, files=files)
    result = toolkit.train(base)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (base / "output" / "success").exists()
    report: dict[str, Any] = json.loads((base / "model" / "report.json").read_text())
    # The entry point ran from the extracted archive, beside its own module.
    assert report["cwd"] == str(base / "code")
    assert report["helper"] == "helper from the code's directory"
    # Both channels, each with its one object (named by the asset's hash).
    assert sorted(report["channels"]) == sorted(channels)
    assert all(
        len(report["channels"][name]) == 1 and report["channels"][name][0].endswith(".csv")
        for name in ("train", "validation")
    )
    return report


def test_the_toolkit_runs_the_training_job(synthesized: Synthesized) -> None:
    request = synthesized.training
    report = _run(request, request["HyperParameters"], synthesized.files)
    # The script's hyperparameters, typed as given (the toolkit decodes each value as
    # JSON); the toolkit's own are not passed to the script.
    assert report["hps"] == HYPERPARAMETERS
    assert report["args"] == {
        "epochs": 3,
        "learning_rate": 0.05,
        "optimizer": "adam",
        "shuffle": "True",
        "layers": "[64, 32]",
    }
    assert not any(arg.startswith("--sagemaker_") for arg in report["argv"])


def test_a_job_without_network_access_gets_its_code_as_a_channel(
    synthesized: Synthesized,
) -> None:
    request = synthesized.isolated
    submit = json.loads(request["HyperParameters"]["sagemaker_submit_directory"])
    assert submit.startswith("/opt/ml/input/data/code/")
    report = _run(
        request,
        request["HyperParameters"],
        synthesized.files,
        channels=("code", "train", "validation"),
    )
    assert report["hps"] == HYPERPARAMETERS


def test_a_tuned_training_job_gets_what_the_sdks_tuner_gives(synthesized: Synthesized) -> None:
    definition = synthesized.tuning["TrainingJobDefinition"]
    ranges = synthesized.tuning["HyperParameterTuningJobConfig"]["ParameterRanges"]
    # SageMaker gives each training job the static values and one value per range, as
    # strings: numeric ranges as numbers, categorical values as the request has them
    # (their text JSON-encoded, as the SDK's tuner sends them: the script gets text).
    values = dict(definition["StaticHyperParameters"])
    for item in ranges["IntegerParameterRanges"] + ranges["ContinuousParameterRanges"]:
        values[item["Name"]] = item["MinValue"]
    for item in ranges["CategoricalParameterRanges"]:
        values[item["Name"]] = item["Values"][0]
    request = {**definition, "InputDataConfig": definition["InputDataConfig"]}
    report = _run(request, values, synthesized.files)
    assert report["hps"] == {
        "epochs": 2,
        "learning-rate": 0.01,
        "optimizer": "adam",
        "shuffle": "True",
        "layers": [64, 32],
    }


def test_the_request_names_the_staged_code(synthesized: Synthesized) -> None:
    hyperparameters = synthesized.training["HyperParameters"]
    archive = toolkit.staged(
        json.loads(hyperparameters["sagemaker_submit_directory"]), synthesized.files
    )
    assert archive.name.endswith(".gz")
    assert json.loads(hyperparameters["sagemaker_program"]) == "train.py"
    assert json.loads(hyperparameters["sagemaker_region"]) == "eu-west-1"
    assert json.loads(hyperparameters["sagemaker_container_log_level"]) == 20
