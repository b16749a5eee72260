"""cfn-lint on every template the test suite synthesized, with the settings and
reasons of .cfnlintrc.yaml. It runs last: by name in one process, and in ``make test``
as a run of its own after the parallel run (marker ``after_all``), reading the
templates each of its processes wrote (tests/conftest.py)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from sample_app.app import build_app
from tests.cfn_lint import linted, problems
from tests.conftest import recorded_templates


@pytest.mark.after_all
def test_every_synthesized_template_passes_cfn_lint() -> None:
    templates = recorded_templates()
    if not templates:  # run alone: lint the sample at least
        app = build_app(App(context={"sample:region": "us-east-1"}))
        Template.from_stack(app.node.find_child("TrainAndServe"))  # type: ignore[arg-type]
        templates = recorded_templates()
    # Largest first, one process per core: a template takes cfn-lint about a second.
    ordered = sorted(templates.values(), key=lambda item: -len(json.dumps(item[1])))
    with ProcessPoolExecutor(max_workers=min(len(ordered), os.cpu_count() or 1)) as pool:
        results = pool.map(linted, [template for _, template in ordered])
        found = {path: issues for (path, _), issues in zip(ordered, results, strict=True) if issues}
    assert found == {}
    assert len(templates) >= 1


def test_the_gate_reports_a_broken_template() -> None:
    broken = {
        "Resources": {
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketNam": "typo"}},
        }
    }
    assert any("E3002" in issue for issue in problems(broken))
