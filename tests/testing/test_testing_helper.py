"""constructs_lib.testing: what it normalizes, and what it must leave alone."""

from __future__ import annotations

import json

from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from constructs_lib import TrainingImage, TrainingJob, TrainingOutput
from constructs_lib.testing import (
    ASSET_BUCKET_PLACEHOLDER,
    ASSET_HASH_PLACEHOLDER,
    ASSET_REPOSITORY_PLACEHOLDER,
    ResourceSnapshotExtension,
    TemplateSnapshotExtension,
    normalize_template,
    template_lines,
    warnings,
)

HASH = "9e6af48fbe765f3305488cdf1c9c76023d631ff34b2627f97ddb9110a9a7d70a"


def test_asset_hashes_and_bootstrap_names_become_placeholders() -> None:
    template = {
        "S3Bucket": "cdk-hnb659fds-assets-123456789012-eu-west-1",
        "S3Key": f"{HASH}.zip",
        "Uri": f"s3://cdk-myqualifier-assets-123456789012-us-east-1/{HASH}.csv",
        "Sub": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},
        "Joined": {"Fn::Join": ["", ["cdk-hnb659fds-assets-", {"Ref": "AWS::AccountId"}, "-x"]]},
        "Image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/"
        f"cdk-hnb659fds-container-assets-123456789012-eu-west-1:{HASH}",
    }
    normalized = normalize_template(template)
    assert normalized["S3Bucket"] == ASSET_BUCKET_PLACEHOLDER
    assert normalized["S3Key"] == f"{ASSET_HASH_PLACEHOLDER}.zip"
    assert normalized["Uri"] == f"s3://{ASSET_BUCKET_PLACEHOLDER}/{ASSET_HASH_PLACEHOLDER}.csv"
    assert normalized["Image"].endswith(f"/{ASSET_REPOSITORY_PLACEHOLDER}:{ASSET_HASH_PLACEHOLDER}")
    assert normalized["Sub"] == {"Fn::Sub": ASSET_BUCKET_PLACEHOLDER}
    # A name split by an intrinsic keeps its literal parts: still stable.
    assert normalized["Joined"]["Fn::Join"][1][0] == "cdk-hnb659fds-assets-"


def test_everything_else_is_kept_and_keys_are_sorted() -> None:
    template = {"b": ["x" * 64, 3, True, None], "a": {"d": "my-bucket", "c": "cdk.out"}}
    normalized = normalize_template(template)
    assert normalized == template
    assert list(normalized) == ["a", "b"]
    assert list(normalized["a"]) == ["c", "d"]


def test_the_syrupy_extension_serializes_normalized_templates() -> None:
    extension = TemplateSnapshotExtension()
    text = extension.serialize({"z": f"{HASH}.zip", "a": 1})
    assert json.loads(text) == {"a": 1, "z": f"{ASSET_HASH_PLACEHOLDER}.zip"}


def test_resource_snapshots_name_the_resource_on_each_line() -> None:
    template = {
        "Resources": {
            "TuneA1B2": {
                "Type": "Custom::SageMakerHyperparameterTuningJob",
                "Properties": {"Ranges": [{"Name": "max_depth", "MaxValue": "8"}]},
            },
            "Asset": {"Properties": {"S3Key": f"{HASH}.zip"}},
        }
    }
    lines = template_lines(template).splitlines()
    assert lines == [
        f'Resources.Asset.Properties.S3Key = "{ASSET_HASH_PLACEHOLDER}.zip"',
        'Resources.TuneA1B2.Properties.Ranges[0].MaxValue = "8"',
        'Resources.TuneA1B2.Properties.Ranges[0].Name = "max_depth"',
        'Resources.TuneA1B2.Type = "Custom::SageMakerHyperparameterTuningJob"',
    ]
    # The syrupy extension stores exactly those lines, as text.
    assert ResourceSnapshotExtension().serialize(template) == template_lines(template)


def test_warnings_returns_what_cdk_synth_would_print() -> None:
    stack = Stack(App(), "Warned")
    bucket = s3.Bucket(stack, "Data")
    TrainingJob(
        stack,
        "Job",
        image=TrainingImage.from_algorithm("kmeans"),
        output=TrainingOutput.to_bucket(bucket, "models/"),
        hyperparameters={"api_token": "x"},
    )
    [warning] = warnings(stack)
    assert warning.startswith("/Warned/Job: hyperparameters['api_token'] looks like a secret")
