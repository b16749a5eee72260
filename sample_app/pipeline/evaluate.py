"""The sample's evaluation (``-c sample:pipeline=true``): run by SageMaker's
scikit-learn container as a processing job, after training, on the held-out test set
the preparation wrote.

Unpacks the trained model (``model.tar.gz``: the training script's ``model.joblib``),
predicts the test set (label first, no header) and writes the report the deploy's
quality gate reads: ``evaluation.json``, with ``regression_metrics.mse.value`` and
``regression_metrics.rmse.value``, as SageMaker Pipelines' evaluation step writes it.
"""

from __future__ import annotations

import json
import math
import tarfile
import tempfile
from pathlib import Path

import joblib
import numpy as np

MODEL = Path("/opt/ml/processing/input/model")
TEST = Path("/opt/ml/processing/input/test")
REPORT = Path("/opt/ml/processing/output/evaluation")


def evaluate() -> dict[str, float]:
    [archive] = sorted(MODEL.glob("*.tar.gz"))
    with tempfile.TemporaryDirectory() as unpacked:
        with tarfile.open(archive) as model_tar:
            model_tar.extractall(unpacked, filter="data")
        model = joblib.load(Path(unpacked) / "model.joblib")
    data = np.concatenate(
        [np.loadtxt(p, delimiter=",", ndmin=2) for p in sorted(TEST.glob("*.csv"))]
    )
    labels, features = data[:, 0], data[:, 1:]
    mse = float(np.mean((model.predict(features) - labels) ** 2))
    metrics = {"mse": mse, "rmse": math.sqrt(mse)}
    REPORT.mkdir(parents=True, exist_ok=True)
    report = {"regression_metrics": {name: {"value": value} for name, value in metrics.items()}}
    (REPORT / "evaluation.json").write_text(json.dumps(report, indent=2))
    print(f"evaluation {metrics}")
    return metrics


if __name__ == "__main__":
    evaluate()
