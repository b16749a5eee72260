"""The sample app: snapshot of its template, and the training -> model chain."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from constructs_lib.testing import ASSET_HASH_PLACEHOLDER, normalize_template
from sample_app.app import build_app


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    app = build_app(App(context={"sample:region": "us-east-1"}))
    stack = app.node.find_child("TrainAndServe")
    return dict(Template.from_stack(stack).to_json())  # type: ignore[arg-type]


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


def test_template_snapshot(template: dict[str, Any], snapshot_json: SnapshotAssertion) -> None:
    assert normalize_template(template) == snapshot_json


def test_model_consumes_the_trained_artifacts(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    jobs = [k for k, v in resources.items() if v["Type"] == "Custom::SageMakerTrainingJob"]
    models = [v for v in resources.values() if v["Type"] == "AWS::SageMaker::Model"]
    assert len(jobs) == 1
    assert len(models) == 1
    container = models[0]["Properties"]["PrimaryContainer"]
    # GetAtt on the job: CloudFormation creates the model only after training completed.
    assert container["ModelDataUrl"] == {"Fn::GetAtt": [jobs[0], "ModelArtifacts"]}


def test_snapshot_normalises_only_asset_hashes(template: dict[str, Any]) -> None:
    code = next(
        v["Properties"]["Code"]
        for v in template["Resources"].values()
        if v["Type"] == "AWS::Lambda::Function"
    )
    assert normalize_template(code)["S3Key"] == f"{ASSET_HASH_PLACEHOLDER}.zip"
    # Everything that is not a hash stays as it is.
    assert normalize_template({"a": ["x" * 64, 3, True]}) == {"a": ["x" * 64, 3, True]}
