"""Runs in the SageMaker Python SDK v2's venv (``.venv-sdk2``): reads processing cases
(JSON on stdin), builds each case's processor as an SDK user would (``SKLearnProcessor``,
``ScriptProcessor``, ``FrameworkProcessor`` of PyTorch), runs it under the given job
name against a recording client, and answers with the CreateProcessingJob request the
SDK sent and the ``runproc.sh`` it would upload (JSON on stdout). Nothing reaches AWS:
the client is a mock, the code is already in S3, and the SDK's one upload (the
FrameworkProcessor's script) is recorded instead of sent."""

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
from sagemaker.processing import (  # noqa: E402
    FrameworkProcessor,
    ProcessingInput,
    ProcessingOutput,
    ScriptProcessor,
)
from sagemaker.pytorch.estimator import PyTorch  # noqa: E402
from sagemaker.session import Session  # noqa: E402
from sagemaker.sklearn.processing import SKLearnProcessor  # noqa: E402

logging.disable(logging.CRITICAL)


def _session(region: str) -> tuple[Session, mock.MagicMock]:
    boto = boto3.Session(region_name=region, aws_access_key_id="x", aws_secret_access_key="y")
    client = mock.MagicMock()
    session = Session(boto_session=boto, sagemaker_client=client, default_bucket="sdk-bucket")
    session.default_bucket = lambda: "sdk-bucket"  # type: ignore[method-assign]
    return session, client


def request(case: dict[str, Any]) -> dict[str, Any]:
    session, client = _session(case["region"])
    common = {
        "role": case["role"],
        "instance_type": case["instance_type"],
        "instance_count": case["instance_count"],
        "volume_size_in_gb": case["volume_size_in_gb"],
        "max_runtime_in_seconds": case["max_runtime_in_seconds"],
        "env": case["env"],
        "sagemaker_session": session,
    }
    kind = case["processor"]
    if kind == "SKLearnProcessor":
        processor: Any = SKLearnProcessor(framework_version=case["framework_version"], **common)
    elif kind == "ScriptProcessor":
        processor = ScriptProcessor(image_uri=case["image_uri"], command=case["command"], **common)
    else:
        processor = FrameworkProcessor(
            estimator_cls=PyTorch,
            framework_version=case["framework_version"],
            py_version=case["py_version"],
            **common,
        )
    run: dict[str, Any] = {
        "inputs": [
            ProcessingInput(source=i["source"], destination=i["destination"], input_name=i["name"])
            for i in case["inputs"]
        ],
        "outputs": [
            ProcessingOutput(
                source=o["source"], destination=o["destination"], output_name=o["name"]
            )
            for o in case["outputs"]
        ],
        "arguments": case["arguments"],
        "wait": False,
        "logs": False,
        "job_name": case["job_name"],
    }
    uploaded: list[str] = []

    def upload_string(body: str, desired_s3_uri: str, **_: Any) -> str:
        uploaded.append(body)
        return desired_s3_uri

    with mock.patch(
        "sagemaker.s3.S3Uploader.upload_string_as_file_body", side_effect=upload_string
    ):
        if kind == "FrameworkProcessor":
            processor.run(code=case["entry_point"], source_dir=case["source_dir"], **run)
        else:
            processor.run(code=case["code"], **run)
    sent: dict[str, Any] = client.create_processing_job.call_args.kwargs
    return {"request": sent, "runproc": uploaded[0] if uploaded else None}


answers = {}
for item in json.load(sys.stdin):
    try:
        answers[item["id"]] = request(item)
    except Exception as error:  # the answer says what the SDK refused
        answers[item["id"]] = {"error": f"{type(error).__name__}: {error}"}
json.dump(answers, ANSWER, default=str)
