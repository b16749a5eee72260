"""``-c sample:training=script``: the sample trains its own scikit-learn script on
SageMaker's scikit-learn container and serves it. The template says so, and the
script itself, run by the training toolkit on the shipped data exactly as the
synthesized request configures it, learns the data's formula."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from sample_app.app import CODE, DATA, build_app
from tests import toolkit
from tests.flags import RECOMMENDED


class Script:
    """The variant as ``cdk synth -c sample:training=script`` builds it."""

    def __init__(self) -> None:
        self.outdir = Path(tempfile.mkdtemp(prefix="sample-script-"))
        context = {"sample:region": "us-east-1", "sample:training": "script", **RECOMMENDED}
        app = build_app(App(outdir=str(self.outdir), context=context))
        app.synth()
        self.template: dict[str, Any] = json.loads(
            (self.outdir / "TrainAndServe.template.json").read_text()
        )
        self.files = toolkit.staged_files(self.outdir)

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template["Resources"].items() if r["Type"] == kind}


@pytest.fixture(scope="module")
def script() -> Script:
    return Script()


def _training(script: Script) -> tuple[str, dict[str, Any]]:
    jobs = script.resources("Custom::SageMakerTrainingJob")
    [(logical_id, job)] = [(k, r) for k, r in jobs.items() if not k.startswith("TrainRepack")]
    return logical_id, job["Properties"]["TrainingJobRequest"]


def test_the_job_trains_the_apps_code_on_scikit_learns_container(script: Script) -> None:
    _, request = _training(script)
    image = request["AlgorithmSpecification"]["TrainingImage"]
    assert (
        image == "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )
    hyperparameters = request["HyperParameters"]
    assert {
        k: json.loads(v) for k, v in hyperparameters.items() if not k.startswith("sagemaker_")
    } == {
        "n-estimators": 200,
        "learning-rate": 0.1,
        "max-depth": 3,
    }
    assert json.loads(hyperparameters["sagemaker_program"]) == "train.py"
    # Still in the isolated VPC, encrypted, on spot capacity with checkpoints.
    assert request["VpcConfig"]["Subnets"]
    assert request["EnableManagedSpotTraining"] is True


def test_the_endpoint_serves_the_repacked_model_with_the_same_code(script: Script) -> None:
    training_id, _ = _training(script)
    [model] = script.resources("AWS::SageMaker::Model").values()
    container = model["Properties"]["PrimaryContainer"]
    assert model["Properties"]["EnableNetworkIsolation"] is True
    assert container["Image"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "train.py"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    repack_id = container["ModelDataUrl"]["Fn::GetAtt"][0]
    repack = script.resources("Custom::SageMakerTrainingJob")[repack_id]
    channels = repack["Properties"]["TrainingJobRequest"]["InputDataConfig"]
    model_channel = next(c for c in channels if c["ChannelName"] == "model")
    assert model_channel["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Fn::GetAtt": [training_id, "ModelArtifacts"]
    }
    assert script.resources("AWS::SageMaker::Endpoint")


def test_the_script_learns_the_shipped_data_under_the_toolkit(script: Script) -> None:
    _, request = _training(script)
    base = Path(tempfile.mkdtemp(prefix="sample-opt-ml-"))
    toolkit.write_tree(
        base, request=request, hyperparameters=request["HyperParameters"], files=script.files
    )
    result = toolkit.train(base)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # The metric the job's definition captures from the log.
    pattern = next(
        m["Regex"]
        for m in request["AlgorithmSpecification"]["MetricDefinitions"]
        if m["Name"] == "validation:rmse"
    )
    [rmse] = [float(v) for v in re.findall(pattern, result.stdout + result.stderr)]
    labels = [float(line.split(",")[0]) for line in (DATA / "validation.csv").read_text().split()]
    spread = statistics.pstdev(labels)
    # Far better than predicting the mean (an RMSE of the labels' spread, 20), and
    # not below the data's noise (uniform in [-0.5, 0.5): a standard deviation of 0.29).
    assert 0.29 < rmse < spread / 5, (rmse, spread)
    # The serving function loads the model the job wrote, and predicts the formula.
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); import train;"
        "m = train.model_fn(sys.argv[2]); print(float(m.predict([[5.0, 5.0, 5.0]])[0]))"
    )
    predicted = subprocess.run(
        [str(toolkit.sdk_python()), "-c", probe, str(CODE), str(base / "model")],
        capture_output=True,
        text=True,
        check=True,
    )
    expected = 3 * 5.0 - 2 * 5.0 + 0.5 * 5.0 * 5.0
    assert abs(float(predicted.stdout) - expected) < 3 * rmse


def test_script_and_tuning_together_say_how_to_choose() -> None:
    app = App(context={"sample:training": "script", "sample:tuning": "true"})
    with pytest.raises(ValueError, match=r"sample:training=script trains one job"):
        build_app(app)


def test_unknown_training_context_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"sample:training: 'notebook' is invalid: use one of"):
        build_app(App(context={"sample:training": "notebook"}))
