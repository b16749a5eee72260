"""The tools regulated organisations enforce, run on a synthesized app: AWS's Control
Tower proactive-control rules (the cfn-guard policy-validation plugin) and checkov.

Each finding is ``tool rule @ construct path``; an acknowledged finding (a CDK
acknowledgment for the plugin, a ``Metadata.checkov.skip`` entry for checkov) is not
reported, but its reason is kept for checking.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

ROOT = Path(__file__).resolve().parent.parent
CHECKOV = ROOT / ".venv-tools" / "bin" / "checkov"


@dataclass
class Report:
    """What the tools found in one app."""

    findings: list[str] = field(default_factory=list)
    #: checkov's skipped checks: (check, construct path, comment).
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)


def run(build: Callable[[App], object], context: dict[str, Any] | None = None) -> Report:
    """Synthesize the app ``build`` fills with the Control Tower rules on, then run
    checkov on every template of its assembly."""
    outdir = Path(tempfile.mkdtemp(prefix="guardrails-"))
    # As the CDK CLI does: construct paths in the template, for checkov's findings.
    defaults = {"sample:region": "us-east-1", "aws:cdk:enable-path-metadata": True}
    app = App(outdir=str(outdir), context={**defaults, **(context or {})})
    Validations.of(app).add_plugins(CfnGuardValidator(control_tower_rules_enabled=True))
    build(app)
    report = Report()
    path = outdir / "validation-report.json"
    try:
        app.synth()
    except Exception as error:  # the plugin fails the synth and writes the report
        if not path.exists():
            raise
        report.findings.extend(_violations(path))
        if not report.findings:
            raise AssertionError(f"synth failed without findings: {error}") from error
    else:  # some feature flags make a failed validation only a report
        if path.exists():
            report.findings.extend(_violations(path))
    for template in sorted(outdir.glob("*.template.json")):
        body = json.loads(template.read_text())
        report.templates[template.name] = body
        _checkov(template, body, report)
    report.findings.sort()
    return report


def _violations(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    return [
        f"guard {violation['ruleName']} @ {construct['constructPath']}"
        for plugin in data.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]


def _checkov(template: Path, body: dict[str, Any], report: Report) -> None:
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make test` (it installs checkov)"
    result = subprocess.run(
        [
            str(CHECKOV),
            "--file",
            str(template),
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    data = json.loads(result.stdout)
    results = (data[0] if isinstance(data, list) else data).get("results", {})
    paths = {
        logical_id: resource.get("Metadata", {}).get("aws:cdk:path", logical_id)
        for logical_id, resource in body.get("Resources", {}).items()
    }

    def path_of(check: dict[str, Any]) -> str:
        logical_id = str(check["resource"]).split(".", 1)[-1]
        return str(paths.get(logical_id, logical_id))

    report.findings.extend(
        f"checkov {check['check_id']} @ {path_of(check)}"
        for check in results.get("failed_checks", [])
    )
    report.skipped.extend(
        (
            check["check_id"],
            path_of(check),
            str(check.get("check_result", {}).get("suppress_comment", "")),
        )
        for check in results.get("skipped_checks", [])
    )
