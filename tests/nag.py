"""Run the compliance packs (cdk-nag 3, as CDK policy-validation plugins) on an app."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks

ALL_PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security")
_PACKS = {
    "AwsSolutions": AwsSolutionsChecks,
    "NIST.800.53.R5": NIST80053R5Checks,
    "HIPAA.Security": HIPAASecurityChecks,
}


def findings(
    build: Callable[[App], object],
    packs: tuple[str, ...] = ALL_PACKS,
    context: dict[str, object] | None = None,
) -> list[str]:
    """Synthesize the app ``build`` fills, with ``packs``; return every unacknowledged
    finding as ``rule @ construct path`` (empty when the app passes)."""
    outdir = tempfile.mkdtemp(prefix="nag-")
    app = App(outdir=outdir, context={"sample:region": "us-east-1", **(context or {})})
    Validations.of(app).add_plugins(*(_PACKS[pack](app) for pack in packs))
    build(app)
    report = Path(outdir) / "validation-report.json"
    try:
        app.synth()
    except Exception as error:  # the plugins fail the synth and write the report
        if not report.exists():
            raise
        found = _violations(report)
        if not found:
            raise AssertionError(f"synth failed without findings: {error}") from error
        return found
    # Some feature flags make a failed validation only a report: read it always.
    return _violations(report) if report.exists() else []


def _violations(report: Path) -> list[str]:
    data = json.loads(report.read_text())
    return sorted(
        f"{violation['ruleName']} @ {construct['constructPath']}"
        for plugin in data.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    )
