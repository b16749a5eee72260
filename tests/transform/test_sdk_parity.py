"""The request a TransformJob makes SageMaker receive, compared member by member with
the SageMaker Python SDK v2's own ``Transformer(...).transform(...)`` for the same
intent (``tests/sdk2_transform_probe.py`` in the SDK's venv), under the job name the
handler generated and with the output path the per-job folder the library writes to.

What differs on purpose is asserted as such: the library's tags (how it recognises
its jobs), and nothing else."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, Size, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from constructs_lib import (
    AssembleWith,
    BatchStrategy,
    CompressionType,
    DataProcessing,
    InstanceType,
    JoinSource,
    SplitType,
    TransformInput,
    TransformJob,
    TransformOutput,
)
from constructs_lib.handler.kinds import TRANSFORM
from tests.deliver import created_request, resolved_properties
from tests.harness import cfn_strings

ROOT = Path(__file__).resolve().parents[2]
SDK2_PYTHON = ROOT / ".venv-sdk2" / "bin" / "python"
REGION = "us-east-1"
BUCKET = "ml-data"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MODEL = "house-prices"


def _ours() -> dict[str, Any]:
    stack = Stack(App(), "Parity", env=Environment(account="123456789012", region=REGION))
    bucket = s3.Bucket.from_bucket_name(stack, "Data", BUCKET)
    key = kms.Key.from_key_arn(stack, "Key", KEY)
    job = TransformJob(
        stack,
        "Score",
        model=MODEL,
        input=TransformInput.from_bucket(
            bucket,
            "test/",
            content_type="text/csv",
            split_type=SplitType.LINE,
            compression=CompressionType.GZIP,
        ),
        output=TransformOutput.to_bucket(
            bucket,
            "predictions/",
            accept="text/csv",
            assemble_with=AssembleWith.LINE,
            encryption_key=key,
        ),
        instance_type=InstanceType.of("ml.c5.xlarge"),
        instance_count=2,
        max_concurrent_transforms=4,
        max_payload=Size.mebibytes(6),
        batch_strategy=BatchStrategy.MULTI_RECORD,
        environment={"SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600"},
        data_processing=DataProcessing(
            input_filter="$[1:]", output_filter="$[0,-1]", join_source=JoinSource.INPUT
        ),
        volume_encryption_key=key,
        invocation_timeout=Duration.minutes(5),
        max_retries=2,
    )
    template = Template.from_stack(stack).to_json()
    logical_id = stack.get_logical_id(job.resource.node.default_child)
    properties = template["Resources"][logical_id]["Properties"]
    return created_request(TRANSFORM, cfn_strings(resolved_properties(properties, ref=str)))


def _sdk(ours: dict[str, Any]) -> dict[str, Any]:
    if not SDK2_PYTHON.exists():
        pytest.fail(f"{SDK2_PYTHON} is missing: run `make .venv-sdk2/.installed`")
    case = {
        "id": "transformer",
        "region": REGION,
        "transformer": {
            "model_name": MODEL,
            "instance_count": 2,
            "instance_type": "ml.c5.xlarge",
            "strategy": "MultiRecord",
            "assemble_with": "Line",
            "output_path": ours["TransformOutput"]["S3OutputPath"],
            "output_kms_key": KEY,
            "accept": "text/csv",
            "max_concurrent_transforms": 4,
            "max_payload": 6,
            "env": {"SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600"},
            "volume_kms_key": KEY,
        },
        "transform": {
            "data": f"s3://{BUCKET}/test/",
            "data_type": "S3Prefix",
            "content_type": "text/csv",
            "compression_type": "Gzip",
            "split_type": "Line",
            "job_name": ours["TransformJobName"],
            "input_filter": "$[1:]",
            "output_filter": "$[0,-1]",
            "join_source": "Input",
            "model_client_config": {
                "InvocationsTimeoutInSeconds": 300,
                "InvocationsMaxRetries": 2,
            },
        },
    }
    result = subprocess.run(
        [str(SDK2_PYTHON), str(ROOT / "tests" / "sdk2_transform_probe.py")],
        input=json.dumps([case]),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    answer = json.loads(result.stdout)["transformer"]
    assert "error" not in answer, f"the SDK refused the transformer: {answer['error']}"
    request: dict[str, Any] = answer["request"]
    return request


@pytest.fixture(scope="module")
def compared() -> tuple[dict[str, Any], dict[str, Any]]:
    ours = _ours()
    return ours, _sdk(ours)


def test_the_request_is_the_sdks_transformer(
    compared: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    ours, sdk = compared
    # On purpose: the library's tags, by which it recognises its jobs (the SDK sends none).
    mine = {k: v for k, v in ours.items() if k != "Tags"}
    assert mine == sdk
    assert {t["Key"] for t in ours["Tags"]} >= {"constructs-lib:cfn-request-id"}
    assert "Tags" not in sdk


def test_the_output_is_a_folder_of_the_job(compared: tuple[dict[str, Any], dict[str, Any]]) -> None:
    ours, _ = compared
    assert ours["TransformOutput"]["S3OutputPath"] == (
        f"s3://{BUCKET}/predictions/{ours['TransformJobName']}/"
    )
