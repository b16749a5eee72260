"""run_locally of a processing job: its own code on local inputs, in the
``/opt/ml/processing`` layout (mapped to the run's tree, never the machine's /opt),
with its arguments and environment; its report read as the handler reads it, and what
would fail the deploy after a paid run failing here first."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_s3 as s3

from constructs_lib import (
    EvaluationReport,
    MetricThreshold,
    ProcessingInput,
    ProcessingJob,
    ProcessingOutput,
    TrainingCode,
    TrainingImage,
)
from constructs_lib.testing import LocalProcessingRun, LocalRunError, run_locally

SCRIPT = """
import argparse, csv, json, os, pathlib

parser = argparse.ArgumentParser()
parser.add_argument("--scale", type=float, required=True)
parser.add_argument("--report-key", default="mse")
args = parser.parse_args()

rows = list(csv.reader(open("/opt/ml/processing/input/test/data.csv")))
errors = [(float(y) - float(p) * args.scale) ** 2 for y, p in rows]
mse = sum(errors) / len(errors)

out = pathlib.Path("/opt/ml/processing/output/evaluation")
out.mkdir(parents=True, exist_ok=True)
report = {"regression_metrics": {args.report_key: {"value": mse}}, "mode": os.environ["MODE"]}
(out / "evaluation.json").write_text(json.dumps(report))
os.makedirs("/opt/ml/processing/output/scored", exist_ok=True)
with open("/opt/ml/processing/output/scored/part-0.csv", "w") as f:
    f.write("ok\\n")
print("mse", mse)
"""

IMAGE = TrainingImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/p:1")


@dataclass
class Jobs:
    evaluate: ProcessingJob
    wrong_key: ProcessingJob
    no_report_file: ProcessingJob


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> Jobs:
    code = tmp_path_factory.mktemp("code")
    (code / "evaluate.py").write_text(textwrap.dedent(SCRIPT))
    stack = Stack(App(), "Rehearsed")
    bucket = s3.Bucket(stack, "Data")

    def job(
        construct_id: str, arguments: list[str], path: str = "evaluation.json"
    ) -> ProcessingJob:
        return ProcessingJob(
            stack,
            construct_id,
            image=IMAGE,
            code=TrainingCode.from_directory(str(code), entry_point="evaluate.py"),
            command=["python3"],
            arguments=arguments,
            environment={"MODE": "rehearsal"},
            inputs=[ProcessingInput.from_bucket("test", bucket, "test/")],
            outputs=[
                ProcessingOutput.to_bucket("evaluation", bucket, "evaluation/"),
                ProcessingOutput.to_bucket("scored", bucket, "scored/"),
            ],
            report=EvaluationReport(
                output="evaluation", path=path, metrics={"mse": "regression_metrics.mse.value"}
            ),
            quality_gate=[MetricThreshold("mse", at_most=0.5)],
        )

    return Jobs(
        evaluate=job("Evaluate", ["--scale", "1.0"]),
        wrong_key=job("WrongKey", ["--scale", "1.0", "--report-key", "rmse"]),
        no_report_file=job("Elsewhere", ["--scale", "2.0"], path="metrics/evaluation.json"),
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "test"
    folder.mkdir()
    (folder / "data.csv").write_text("1,1\n2,2\n3,2\n")
    return folder


def test_the_script_runs_in_the_processing_layout_and_its_report_is_read(
    jobs: Jobs, data: Path, tmp_path: Path
) -> None:
    run = run_locally(jobs.evaluate, inputs={"test": data}, workdir=tmp_path / "run")

    assert isinstance(run, LocalProcessingRun) and run.exit_code == 0
    assert run.metrics == {"mse": pytest.approx(1 / 3)}
    assert run.missed == []
    report = json.loads((run.outputs["evaluation"] / "evaluation.json").read_text())
    assert report["mode"] == "rehearsal"  # the job's environment
    assert (run.outputs["scored"] / "part-0.csv").read_text() == "ok\n"
    assert run.outputs["scored"].is_relative_to(tmp_path / "run")
    # Nothing went to the machine's own /opt/ml/processing.
    assert not Path("/opt/ml/processing/output/scored/part-0.csv").exists()


def test_a_gate_the_rehearsal_misses_is_said(jobs: Jobs, tmp_path: Path) -> None:
    data = tmp_path / "test"
    data.mkdir()
    (data / "data.csv").write_text("1,3\n2,4\n")

    run = run_locally(jobs.evaluate, inputs={"test": data}, workdir=tmp_path / "run")

    assert run.missed == ["mse = 4, at most 0.5 allowed"]


def test_a_metric_path_that_finds_nothing_fails_before_the_deploy(
    jobs: Jobs, data: Path, tmp_path: Path
) -> None:
    with pytest.raises(LocalRunError, match=r"lacks metrics: mse \(regression_metrics\.mse"):
        run_locally(jobs.wrong_key, inputs={"test": data}, workdir=tmp_path)


def test_a_report_the_script_does_not_write_fails_before_the_deploy(
    jobs: Jobs, data: Path, tmp_path: Path
) -> None:
    with pytest.raises(LocalRunError, match=r"metrics/evaluation\.json was not written") as raised:
        run_locally(jobs.no_report_file, inputs={"test": data}, workdir=tmp_path)
    assert "evaluation.json" in str(raised.value)  # what the folder has


def test_a_failing_script_shows_its_own_error(jobs: Jobs, tmp_path: Path) -> None:
    data = tmp_path / "test"
    data.mkdir()
    (data / "data.csv").write_text("1,x\n")

    with pytest.raises(LocalRunError, match="failed locally") as raised:
        run_locally(jobs.evaluate, inputs={"test": data}, workdir=tmp_path / "run")
    assert "ValueError: could not convert string to float: 'x'" in str(raised.value)


def test_inputs_must_be_the_jobs(jobs: Jobs, data: Path) -> None:
    with pytest.raises(ValueError, match=r"inputs: give a local directory .* missing: test"):
        run_locally(jobs.evaluate, inputs={"train": data})
    with pytest.raises(ValueError, match=r"takes inputs=, not channels="):
        run_locally(jobs.evaluate, channels={"test": data})


def test_a_run_past_its_time_limit_is_stopped_and_said(
    jobs: Jobs, data: Path, tmp_path: Path
) -> None:
    # No time at all: the interpreter has not even started when the limit passes.
    with pytest.raises(LocalRunError, match=r"did not finish within 0 s") as raised:
        run_locally(
            jobs.evaluate, inputs={"test": data}, workdir=tmp_path, timeout=Duration.seconds(0)
        )
    assert "stopped at its max_runtime" in str(raised.value)
    assert raised.value.run.exit_code == -1
