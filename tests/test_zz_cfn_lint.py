"""cfn-lint on every template the test suite synthesized (this module runs last),
with the settings and reasons of .cfnlintrc.yaml."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from aws_cdk import App
from aws_cdk.assertions import Template
from cfnlint.api import ManualArgs, lint

from sample_app.app import build_app
from tests.conftest import SYNTHESIZED

CONFIG = yaml.safe_load((Path(__file__).resolve().parent.parent / ".cfnlintrc.yaml").read_text())


def problems(template: dict[str, Any]) -> list[str]:
    matches = lint(
        json.dumps(template),
        config=ManualArgs(regions=CONFIG["regions"], ignore_checks=CONFIG["ignore_checks"]),
    )
    return [str(match) for match in matches]


def test_every_synthesized_template_passes_cfn_lint() -> None:
    if not SYNTHESIZED:  # run alone: lint the sample at least
        app = build_app(App(context={"sample:region": "us-east-1"}))
        Template.from_stack(app.node.find_child("TrainAndServe"))  # type: ignore[arg-type]
    found = {
        path: issues for path, template in SYNTHESIZED.values() if (issues := problems(template))
    }
    assert found == {}
    assert len(SYNTHESIZED) >= 1


def test_the_gate_reports_a_broken_template() -> None:
    broken = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "typo"}},
        }
    }
    assert any("E3002" in issue for issue in problems(broken))
