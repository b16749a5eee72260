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


def run_all(
    apps: list[tuple[Callable[[App], object], dict[str, Any] | None]],
) -> list[Report]:
    """Synthesize each app ``build`` fills, with the Control Tower rules on, then run
    checkov once on every template of their assemblies (checkov takes seconds to
    start; the findings are the same file by file)."""
    synthesized = [_synthesize(build, context) for build, context in apps]
    files = {
        str(template.resolve()): report
        for report, folder in synthesized
        for template in sorted(folder.glob("*.template.json"))
    }
    for path, report in files.items():
        report.templates[Path(path).name] = json.loads(Path(path).read_text())
    _checkov(files)
    for report, _ in synthesized:
        report.findings.sort()
    return [report for report, _ in synthesized]


def _synthesize(
    build: Callable[[App], object], context: dict[str, Any] | None
) -> tuple[Report, Path]:
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
    return report, outdir


def _violations(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    return [
        f"guard {violation['ruleName']} @ {construct['constructPath']}"
        for plugin in data.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    ]


def _checkov(files: dict[str, Report]) -> None:
    """checkov once on ``files`` (absolute path: the report of its app)."""
    assert CHECKOV.exists(), f"{CHECKOV} is missing: run `make test` (it installs checkov)"
    arguments = [argument for path in files for argument in ("--file", path)]
    result = subprocess.run(
        [
            str(CHECKOV),
            *arguments,
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--skip-download",
            "--compact",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    data = json.loads(result.stdout)
    results = (data[0] if isinstance(data, list) else data).get("results", {})
    scanned = {
        check["file_abs_path"]
        for kind in ("failed_checks", "skipped_checks", "passed_checks")
        for check in results.get(kind, [])
    }
    assert scanned == set(files), f"checkov scanned {sorted(scanned)}, not {sorted(files)}"
    paths = {
        (file, logical_id): resource.get("Metadata", {}).get("aws:cdk:path", logical_id)
        for file, report in files.items()
        for logical_id, resource in report.templates[Path(file).name].get("Resources", {}).items()
    }

    def path_of(check: dict[str, Any]) -> str:
        logical_id = str(check["resource"]).split(".", 1)[-1]
        return str(paths.get((check["file_abs_path"], logical_id), logical_id))

    for check in results.get("failed_checks", []):
        report = files[check["file_abs_path"]]
        report.findings.append(f"checkov {check['check_id']} @ {path_of(check)}")
    for check in results.get("skipped_checks", []):
        report = files[check["file_abs_path"]]
        report.skipped.append(
            (
                check["check_id"],
                path_of(check),
                str(check.get("check_result", {}).get("suppress_comment", "")),
            )
        )
