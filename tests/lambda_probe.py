"""Runs with the boto3 of the Lambda runtime (``.venv-lambda``) and the handler package
on the path, as the Lambda function has them: delivers Create events (JSON on stdin)
through the handler's real clients, whose requests a fake SageMaker answers below
botocore's validation and serialization. Prints what SageMaker received.

Usage: ``python lambda_probe.py [--runtime-models]`` (the flag: without the shipped
models, as a handler that trusted the runtime's botocore).
"""

import json
import os
import sys
from pathlib import Path

import botocore
from botocore.awsrequest import AWSResponse

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
)
from handler import index, lifecycle, models

if "--runtime-models" in sys.argv:
    models.DATA_PATH = Path("/nonexistent")

_ARN = "arn:aws:sagemaker:us-east-1:123456789012"
ARNS = {
    "CreateTrainingJob": {"TrainingJobArn": f"{_ARN}:training-job/x"},
    "CreateHyperParameterTuningJob": {
        "HyperParameterTuningJobArn": f"{_ARN}:hyper-parameter-tuning-job/x"
    },
    "CreateProcessingJob": {"ProcessingJobArn": f"{_ARN}:processing-job/x"},
    "CreateTransformJob": {"TransformJobArn": f"{_ARN}:transform-job/x"},
}
sent = []


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: object):
        yield self._data


BATCH = {
    "/v1/submitservicejob": (
        "SubmitServiceJob",
        {
            "jobArn": "arn:aws:batch:us-east-1:123456789012:service-job/probe",
            "jobName": "probe",
            "jobId": "probe",
        },
    )
}


def _answer_batch(request, **_: object) -> AWSResponse:
    operation, answer = BATCH[request.url.split("amazonaws.com", 1)[1]]
    sent.append({"operation": operation, "body": json.loads(request.body)})
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": "probe"}
    return AWSResponse(request.url, 200, headers, _Raw(json.dumps(answer).encode()))


def _answer(request, **_: object) -> AWSResponse:
    operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
    sent.append({"operation": operation, "body": json.loads(request.body)})
    body = json.dumps(ARNS[operation]).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "probe"}
    return AWSResponse(request.url, 200, headers, _Raw(body))


runtime = index.runtime()
runtime.sagemaker.meta.events.register("before-send.sagemaker", _answer)
runtime.batch.meta.events.register("before-send.batch", _answer_batch)
results = []
for event in json.load(sys.stdin):
    try:
        results.append({"response": lifecycle.on_event(event, runtime)})
    except Exception as error:  # report what the deploy would have reported
        results.append({"error": f"{type(error).__name__}: {error}"})
print(json.dumps({"botocore": botocore.__version__, "results": results, "sent": sent}))
