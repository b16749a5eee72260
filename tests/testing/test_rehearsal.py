"""``testing.run_locally``: a script-mode job's own code, run by SageMaker's training
toolkit on the ``/opt/ml`` tree as SageMaker writes it, its metrics read with the job's
definitions. What a paid run would have shown first: an argparse mismatch, a metric
regex that never matches, a tuning job's chosen values, a job without network access."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    CategoricalRange,
    ContinuousRange,
    HyperparameterTuningJob,
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
from constructs_lib.testing import LocalRunError, run_locally
from constructs_lib.testing import _rehearsal as rehearsal

#: Reads its hyperparameters as a framework container's script does, prints its loss
#: (the learning rate: a value the test can predict), writes a model.
TRAIN = """\
import argparse, json, os, pathlib
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--optimizer", default="adam")
args = parser.parse_args()
rows = sorted(os.listdir(os.environ["SM_CHANNEL_TRAIN"]))
for epoch in range(args.epochs):
    print(f"epoch {epoch}: loss={args.lr}")
print("optimizer", args.optimizer, "rows", rows, "code", os.environ["SM_MODULE_DIR"])
print("job", os.environ["SAGEMAKER_JOB_NAME"])
pathlib.Path(os.environ["SM_MODEL_DIR"], "model.json").write_text(json.dumps(vars(args)))
"""
#: The SDK's spelling of a hyperparameter the script spells otherwise.
STRICT = """\
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--n-estimators", type=int)
parser.parse_args()
"""

LOSS = MetricDefinition("loss", r"loss=([0-9.]+)")


def _code(root: Path, name: str, script: str, **files: str) -> TrainingCode:
    folder = root / name
    folder.mkdir()
    (folder / "train.py").write_text(script)
    for file, text in files.items():
        (folder / file.replace("_", ".")).write_text(text)
    return TrainingCode.from_directory(str(folder), entry_point="train.py")


class Jobs:
    def __init__(self, root: Path) -> None:
        app = App()
        stack = Stack(app, "Ml", env=Environment(account="123456789012", region="us-east-1"))
        bucket = s3.Bucket.from_bucket_name(stack, "Data", "ml-data")
        role = iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::123456789012:role/t")
        image = TrainingImage.from_framework("sklearn", "1.2-1")

        def job(construct_id: str, code: TrainingCode, **props: Any) -> TrainingJob:
            props.setdefault("metric_definitions", [LOSS])
            return TrainingJob(
                stack,
                construct_id,
                image=image,
                code=code,
                inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
                output=TrainingOutput.to_bucket(bucket, "models/"),
                role=role,
                max_runtime=Duration.minutes(10),
                **props,
            )

        train = _code(root, "train", TRAIN)
        self.good = job("Good", train, hyperparameters={"lr": 0.5, "epochs": 2})
        self.strict = job(
            "Strict",
            _code(root, "strict", STRICT),
            hyperparameters={"n_estimators": 10},
            metric_definitions=[],
        )
        self.silent = job(
            "Silent",
            train,
            hyperparameters={"lr": 0.5},
            metric_definitions=[LOSS, MetricDefinition("accuracy", r"accuracy: ([0-9.]+)")],
        )
        self.isolated = job(
            "Isolated", train, hyperparameters={"lr": 0.125}, network_isolation=True
        )
        self.needs_pip = job(
            "NeedsPip",
            _code(root, "pip", TRAIN, requirements_txt="not-a-package-anyone-has==1.0\n"),
            hyperparameters={"lr": 0.5},
            network_isolation=True,
        )
        self.builtin = TrainingJob(
            stack,
            "Builtin",
            image=TrainingImage.from_algorithm("xgboost", "1.7-1"),
            inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
            output=TrainingOutput.to_bucket(bucket, "models/"),
            role=role,
        )
        self.tuning = HyperparameterTuningJob(
            stack,
            "Tune",
            training=TrainingDefinition(
                image=image,
                code=train,
                inputs=[TrainingInput.from_bucket("train", bucket, "train/")],
                output=TrainingOutput.to_bucket(bucket, "tuning/"),
                role=role,
                metric_definitions=[LOSS],
            ),
            objective=TuningObjective.minimize("loss"),
            ranges=[
                ContinuousRange("lr", 0.1, 1.0),
                IntegerRange("epochs", 1, 5),
                CategoricalRange("optimizer", ["adam", "sgd"]),
            ],
            max_jobs=4,
            max_parallel_jobs=2,
        )


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Jobs:
    return Jobs(tmp_path_factory.mktemp("code"))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "train-data"
    folder.mkdir()
    (folder / "part-0.csv").write_text("1,2\n")
    (folder / "part-1.csv").write_text("3,4\n")
    return folder


def test_a_job_runs_its_code_with_its_hyperparameters(
    jobs: Jobs, data: Path, tmp_path: Path
) -> None:
    run = run_locally(jobs.good, channels={"train": data}, workdir=tmp_path / "run")

    assert run.exit_code == 0
    assert run.metrics == {"loss": 0.5}
    assert json.loads((run.model_dir / "model.json").read_text()) == {
        "lr": 0.5,
        "epochs": 2,
        "optimizer": "adam",
    }
    assert run.model_dir == tmp_path / "run" / "opt" / "ml" / "model"
    assert "rows ['part-0.csv', 'part-1.csv']" in run.output
    # The toolkit exports sagemaker_job_name, which the handler fills in on SageMaker.
    assert "job local-Good" in run.output
    # Other values, encoded as the job encodes them.
    again = run_locally(jobs.good, channels={"train": data}, hyperparameters={"lr": 0.25})
    assert again.metrics == {"loss": 0.25}


def test_an_argparse_mismatch_fails_with_the_scripts_own_error(jobs: Jobs, data: Path) -> None:
    with pytest.raises(LocalRunError) as failed:
        run_locally(jobs.strict, channels={"train": data})

    message = str(failed.value)
    assert message.startswith("[Ml/Strict] the job's code failed locally (exit code ")
    # The script's own error leads, before the toolkit's environment dump.
    said = message.split("The script said:\n", 1)[1].splitlines()
    assert [line.strip() for line in said[:2]] == [
        "usage: train.py [-h] [--n-estimators N_ESTIMATORS]",
        "train.py: error: unrecognized arguments: --n_estimators 10",
    ]
    assert message.index("error: unrecognized arguments") < message.index("SM_")
    assert failed.value.run.exit_code != 0


def test_a_metric_regex_that_never_matches_fails(jobs: Jobs, data: Path) -> None:
    with pytest.raises(LocalRunError) as failed:
        run_locally(jobs.silent, channels={"train": data})

    message = str(failed.value)
    assert "no line of the output matched the metric definition of accuracy (regex " in message
    assert "'accuracy: ([0-9.]+)'" in message
    assert "loss (regex" not in message
    assert failed.value.run.metrics == {"loss": 0.5}


def test_a_tuning_job_runs_with_one_value_per_range(jobs: Jobs, data: Path) -> None:
    run = run_locally(
        jobs.tuning,
        channels={"train": data},
        hyperparameters={"lr": 0.3, "epochs": 3, "optimizer": "sgd"},
    )

    assert run.metrics == {"loss": 0.3}
    assert json.loads((run.model_dir / "model.json").read_text()) == {
        "lr": 0.3,
        "epochs": 3,
        "optimizer": "sgd",
    }
    assert run.output.count("loss=0.3") == 3


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"lr": 0.3, "epochs": 3}, r"give a value for each tuned range .*missing: optimizer"),
        ({"lr": 3.0, "epochs": 3, "optimizer": "sgd"}, r"lr=3.0 is outside the range \[0.1, 1"),
        ({"lr": 0.3, "epochs": 2.5, "optimizer": "sgd"}, r"epochs=2.5 must be a whole number"),
        (
            {"lr": 0.3, "epochs": 2, "optimizer": "rmsprop"},
            r"optimizer='rmsprop' is not one of the range's values",
        ),
    ],
)
def test_a_tuning_jobs_values_must_fit_its_ranges(
    jobs: Jobs, data: Path, values: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValueError, match=r"^\[Ml/Tune\] hyperparameters: " + error):
        run_locally(jobs.tuning, channels={"train": data}, hyperparameters=values)


def test_a_job_without_network_access_reads_its_code_channel(jobs: Jobs, data: Path) -> None:
    run = run_locally(jobs.isolated, channels={"train": data})

    assert run.metrics == {"loss": 0.125}
    assert f"code {run.base_dir}/input/data/code/sourcedir.tar.gz" in run.output


def test_without_network_pip_cannot_download_as_on_sagemaker(jobs: Jobs, data: Path) -> None:
    with pytest.raises(LocalRunError) as failed:
        run_locally(jobs.needs_pip, channels={"train": data})

    assert "not-a-package-anyone-has" in str(failed.value)
    assert "requirements.txt" in failed.value.run.output


def test_channels_must_be_the_jobs(jobs: Jobs, data: Path) -> None:
    with pytest.raises(ValueError, match=r"^\[Ml/Good\] channels: .*\(train\); missing: train"):
        run_locally(jobs.good, channels={})
    with pytest.raises(ValueError, match=r"not channels of the job: validation"):
        run_locally(jobs.good, channels={"train": data, "validation": data})


def test_only_script_mode_jobs_run_locally(jobs: Jobs, data: Path) -> None:
    with pytest.raises(ValueError, match=r"^\[Ml/Builtin\] only script-mode jobs run locally"):
        run_locally(jobs.builtin, channels={"train": data})


def test_without_the_local_extra_it_names_it(
    jobs: Jobs, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rehearsal.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(
        ImportError, match=r"its \[local\] extra\): pip install 'sagemaker-training>=5.1,<6'"
    ):
        run_locally(jobs.good, channels={"train": data})


def test_metrics_are_read_as_sagemaker_reads_the_log() -> None:
    definitions = [{"Name": "rmse", "Regex": r"rmse=(\S+)"}, {"Name": "acc", "Regex": "acc"}]
    output = "rmse=0.5\nrmse=nan\nrmse=abc\nacc\nrmse=0.25;\n"

    # The last number of the first group (a regex without a group gives nothing).
    assert rehearsal.read_metrics(output, definitions) == {"rmse": 0.5}
    assert rehearsal.read_metrics("rmse=0.25\n", definitions) == {"rmse": 0.25}
