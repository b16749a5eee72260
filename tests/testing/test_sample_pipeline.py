"""``-c sample:pipeline=true`` end to end on this machine, each step as the synthesized
stack configures it: the preparation rehearsed by ``run_locally`` (its shipped inputs,
its arguments), the training script run by SageMaker's training toolkit on the
channels the preparation wrote, its model packed as SageMaker packs ``model.tar.gz``,
and the evaluation run in the ``/opt/ml/processing`` layout by the scikit-learn of the
SDK's venv; its report read with the handler's JSON paths and judged by the gate the
deploy would apply."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack

from constructs_lib import ProcessingJob, TrainingJob
from constructs_lib.handler.gate import misses
from constructs_lib.handler.json_path import metric_values
from constructs_lib.testing import LocalProcessingRun, run_locally
from sample_app.app import MAX_TEST_MSE, PIPELINE, build_app
from tests import toolkit
from tests.flags import RECOMMENDED

REMAP = Path(__file__).resolve().parents[2] / "constructs_lib" / "testing" / "_remap.py"
#: The evaluation's script with the paths mapped, as its runproc.sh runs it.
RUN_EVALUATE = (
    "import _constructs_lib_remap, runpy; runpy.run_path('evaluate.py', run_name='__main__')"
)


class Pipeline:
    def __init__(self) -> None:
        self.outdir = Path(tempfile.mkdtemp(prefix="sample-pipeline-"))
        context = {"sample:region": "us-east-1", "sample:pipeline": "true", **RECOMMENDED}
        app = build_app(App(outdir=str(self.outdir), context=context))
        app.synth()
        stack = app.node.find_child("TrainAndServe")
        assert isinstance(stack, Stack)
        self.stack = stack
        prepare, train, evaluate = (
            stack.node.find_child(i) for i in ("Prepare", "Train", "Evaluate")
        )
        assert isinstance(prepare, ProcessingJob) and isinstance(evaluate, ProcessingJob)
        assert isinstance(train, TrainingJob)
        self.prepare, self.train, self.evaluate = prepare, train, evaluate
        self.files = toolkit.staged_files(self.outdir)


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture(scope="module")
def prepared(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> LocalProcessingRun:
    # The shipped CSVs are the job's asset inputs: run_locally takes them by itself.
    run = run_locally(pipeline.prepare, workdir=tmp_path_factory.mktemp("prepare"))
    assert isinstance(run, LocalProcessingRun)
    return run


def test_the_preparation_splits_the_shipped_rows(prepared: LocalProcessingRun) -> None:
    rows = {
        name: (folder / f"{name}.csv").read_text().split()
        for name, folder in prepared.outputs.items()
    }
    # 300 shipped rows, 15% held out twice (the job's --test-fraction 0.15).
    assert {name: len(part) for name, part in rows.items()} == {
        "train": 210,
        "validation": 45,
        "test": 45,
    }
    assert not set(rows["test"]) & set(rows["train"])


def _train(pipeline: Pipeline, prepared: LocalProcessingRun) -> Path:
    """The training job's script under the toolkit, on the prepared channels; the
    model packed as SageMaker packs ``model.tar.gz``."""
    request: dict[str, Any] = json.loads(
        json.dumps(pipeline.stack.resolve(pipeline.train.request), default=str)
    )
    base = Path(tempfile.mkdtemp(prefix="sample-pipeline-train-"))
    toolkit.write_tree(
        base,
        request=request,
        hyperparameters=request["HyperParameters"],
        files=pipeline.files,
        channel_files={name: prepared.outputs[name] for name in ("train", "validation")},
    )
    result = toolkit.train(base)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    archive = base / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as packed:
        for path in sorted((base / "model").iterdir()):
            packed.add(path, arcname=path.name)
    return archive


def test_the_evaluation_writes_a_report_the_gate_passes(
    pipeline: Pipeline, prepared: LocalProcessingRun
) -> None:
    archive = _train(pipeline, prepared)
    root = Path(tempfile.mkdtemp(prefix="sample-pipeline-evaluate-")) / "opt/ml/processing"
    request = pipeline.stack.resolve(pipeline.evaluate.request)
    paths = {i["InputName"]: i["S3Input"]["LocalPath"] for i in request["ProcessingInputs"]}
    for name, source in (("model", archive), ("test", prepared.outputs["test"] / "test.csv")):
        folder = root / paths[name].removeprefix("/opt/ml/processing/")
        folder.mkdir(parents=True)
        shutil.copy(source, folder / source.name)
    code = root / "input" / "code"
    shutil.copytree(PIPELINE, code)
    remap = root.parent / "remap"
    remap.mkdir()
    shutil.copy(REMAP, remap / "_constructs_lib_remap.py")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "SM_"))}
    environment.update(
        CONSTRUCTS_LIB_PROCESSING_ROOT=str(root),
        PYTHONPATH=str(remap),
        **request.get("Environment", {}),
    )
    # The job's command (python3) on its entry point, as its runproc.sh runs it.
    result = subprocess.run(
        [
            str(toolkit.sdk_python()),
            "-c",
            RUN_EVALUATE,
            *request["AppSpecification"].get("ContainerArguments", []),
        ],
        cwd=code,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report_spec = pipeline.evaluate.props.report
    assert report_spec is not None
    [output] = request["ProcessingOutputConfig"]["Outputs"]
    written = root / output["S3Output"]["LocalPath"].removeprefix("/opt/ml/processing/")
    document = json.loads((written / report_spec.path).read_text())
    values, absent = metric_values(document, report_spec.metrics)
    assert absent == []
    gate = [threshold.render() for threshold in pipeline.evaluate.quality_gate]
    assert misses(gate, values) == []
    # A model that learned the formula: within the gate, far better than predicting
    # the mean (an MSE of the labels' variance, about 400), above the data's noise.
    labels = [
        float(row.split(",")[0])
        for row in (prepared.outputs["test"] / "test.csv").read_text().split()
    ]
    assert 0.05 < values["mse"] < min(MAX_TEST_MSE, statistics.pvariance(labels) / 10), values
