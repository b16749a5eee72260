"""The sample's own training code (``-c sample:training=script``): scikit-learn's
gradient boosting on the shipped CSVs (label first, no header), run by SageMaker's
scikit-learn container as the SDK's ``SKLearn(entry_point="train.py")`` runs it.

Training: the hyperparameters arrive as typed command-line arguments, the channels
as ``SM_CHANNEL_TRAIN`` and ``SM_CHANNEL_VALIDATION``; the model goes to
``SM_MODEL_DIR``, and the validation RMSE to the log as ``validation-rmse:<value>``
(the job's metric definition). Serving: the container's inference toolkit calls
``model_fn`` (and its default input, predict and output functions: CSV in, CSV out).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import joblib
import numpy as np
from features import load
from sklearn.ensemble import GradientBoostingRegressor


def train(arguments: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n-estimators", type=int, default=200)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--max-depth", type=int, default=3)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    args, _ = parser.parse_known_args(arguments)

    features, labels = load(Path(args.train))
    model = GradientBoostingRegressor(
        n_estimators=args.n_estimators,
        learning_rate=args.learning_rate,
        max_depth=args.max_depth,
        random_state=0,
    ).fit(features, labels)
    validation_features, validation_labels = load(Path(args.validation))
    predictions = model.predict(validation_features)
    rmse = float(np.sqrt(np.mean((predictions - validation_labels) ** 2)))
    print(f"validation-rmse:{rmse:.4f}")
    joblib.dump(model, Path(args.model_dir) / "model.joblib")
    return rmse


def model_fn(model_dir: str) -> GradientBoostingRegressor:
    """The trained model, as the scikit-learn container's serving toolkit loads it."""
    return joblib.load(Path(model_dir) / "model.joblib")


if __name__ == "__main__":
    train()
