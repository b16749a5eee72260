"""Runs in the SageMaker Python SDK v2's venv (``.venv-sdk2``): reads transform cases
(JSON on stdin), builds each case's ``Transformer`` as an SDK user would, runs
``transform(...)`` under the given job name against a recording client, and answers
with the CreateTransformJob request the SDK sent (JSON on stdout). Nothing reaches
AWS: the client is a mock that records its calls."""

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
from sagemaker.session import Session  # noqa: E402
from sagemaker.transformer import Transformer  # noqa: E402

logging.disable(logging.CRITICAL)


def request(case: dict[str, Any]) -> dict[str, Any]:
    boto = boto3.Session(
        region_name=case["region"], aws_access_key_id="x", aws_secret_access_key="y"
    )
    client = mock.MagicMock()
    session = Session(boto_session=boto, sagemaker_client=client, default_bucket="sdk-bucket")
    transformer = Transformer(sagemaker_session=session, **case["transformer"])
    transformer.transform(wait=False, logs=False, **case["transform"])
    sent: dict[str, Any] = client.create_transform_job.call_args.kwargs
    return sent


answers = {}
for item in json.load(sys.stdin):
    try:
        answers[item["id"]] = {"request": request(item)}
    except Exception as error:  # the answer says what the SDK refused
        answers[item["id"]] = {"error": f"{type(error).__name__}: {error}"}
json.dump(answers, ANSWER, default=str)
