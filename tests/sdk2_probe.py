"""Runs in the SageMaker Python SDK v2's venv (``.venv-sdk2``): reads cases (JSON on
stdin), builds each case's estimator (and tuner) as an SDK user would, starts it
under the given job name against a recording client, and answers with the Create
request the SDK sent (JSON on stdout). Nothing reaches AWS: the client is a mock
that records its calls; the code is already in S3, so nothing is uploaded."""

import json
import logging
import os
import sys
from typing import Any
from unittest import mock

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
# The SDK prints (its config's INFO lines): the answer alone goes to stdout.
ANSWER, sys.stdout = sys.stdout, sys.stderr

import boto3  # noqa: E402
from sagemaker import image_uris  # noqa: E402
from sagemaker.debugger import ProfilerRule, Rule, rule_configs  # noqa: E402
from sagemaker.estimator import Estimator  # noqa: E402
from sagemaker.huggingface import HuggingFace  # noqa: E402
from sagemaker.pytorch import PyTorch  # noqa: E402
from sagemaker.session import Session  # noqa: E402
from sagemaker.tensorflow import TensorFlow  # noqa: E402
from sagemaker.tuner import (  # noqa: E402
    CategoricalParameter,
    ContinuousParameter,
    HyperparameterTuner,
    IntegerParameter,
)

logging.disable(logging.CRITICAL)
ESTIMATORS = {
    "PyTorch": PyTorch,
    "TensorFlow": TensorFlow,
    "HuggingFace": HuggingFace,
    "Estimator": Estimator,
}
RANGES = {
    "categorical": lambda r: CategoricalParameter(r["values"]),
    "integer": lambda r: IntegerParameter(r["min"], r["max"]),
    "continuous": lambda r: ContinuousParameter(r["min"], r["max"]),
}


def _session(region: str) -> tuple[Session, mock.MagicMock]:
    boto = boto3.Session(region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
    client = mock.MagicMock()
    return Session(boto_session=boto, sagemaker_client=client, default_bucket="unused"), client


def _rules(case: dict[str, Any]) -> list[Any]:
    rules = [
        Rule.sagemaker(getattr(rule_configs, name)(), rule_parameters=parameters or None)
        for name, parameters in case.get("debug_rules", [])
    ]
    rules += [
        ProfilerRule.sagemaker(getattr(rule_configs, name)())
        for name in case.get("profiler_rules", [])
    ]
    return rules


def request(case: dict[str, Any]) -> dict[str, Any]:
    session, client = _session(case["region"])
    args = dict(case["args"])
    if "algorithm" in case:
        name, version = case["algorithm"]
        args["image_uri"] = image_uris.retrieve(name, case["region"], version)
    rules = _rules(case)
    if rules:
        args["rules"] = rules
    estimator = ESTIMATORS[case["estimator"]](sagemaker_session=session, **args)
    if "tuner" in case:
        spec = case["tuner"]
        tuner = HyperparameterTuner(
            estimator,
            spec["objective"],
            {name: RANGES[r["kind"]](r) for name, r in spec["ranges"].items()},
            metric_definitions=spec["metric_definitions"],
            objective_type=spec["objective_type"],
            max_jobs=spec["max_jobs"],
            max_parallel_jobs=spec["max_parallel_jobs"],
        )
        # The SDK describes the estimator's last job for its tags: nothing to describe.
        with mock.patch.object(HyperparameterTuner, "_get_model_uri", return_value=None):
            tuner.fit(case["inputs"], job_name=case["job_name"], wait=False)
        sent: dict[str, Any] = client.create_hyper_parameter_tuning_job.call_args.kwargs
        return sent
    estimator.fit(case["inputs"], job_name=case["job_name"], wait=False)
    created: dict[str, Any] = client.create_training_job.call_args.kwargs
    return created


answers = {}
for item in json.load(sys.stdin):
    try:
        answers[item["id"]] = {"request": request(item)}
    except Exception as error:  # the answer says what the SDK refused
        answers[item["id"]] = {"error": f"{type(error).__name__}: {error}"}
json.dump(answers, ANSWER, default=str)
