"""The integration tests' snapshots, ``tests/integ/<app>.snapshot/``: the cloud
assembly each ``integ_*.py`` synthesizes, recorded as integ-runner records one (its
templates, asset and assembly manifests, ``integ.json``; not the asset files, as for
test cases without the update workflow), under the feature flags ``cdk init`` writes.

``python -m tests.integ.snapshots`` (``make integ-snapshot``) records them on purpose;
``tests/integ/test_snapshots.py`` (in ``make test``) synthesizes each app again and
fails on any difference of its stacks' templates (asset hashes and the assertions'
salts aside) or of its test cases, offline and without credentials.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from constructs_lib.testing import template_lines
from tests.flags import RECOMMENDED
from tests.integ import ROOT, apps, stack_templates

#: integ-tests-alpha salts each assertion with the synth's time: not a change.
_SALTED = "Custom::DeployAssert@"
#: The context ``cdk synth`` gives an app of this repository.
CONTEXT = RECOMMENDED


def snapshot_dir(app: Path) -> Path:
    return app.with_name(f"{app.name}.snapshot")


def synthesize(app: Path, outdir: Path) -> None:
    """Run ``app`` as the CDK CLI would, into ``outdir``: the recommended flags as
    context, no account or region of the machine."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CDK_", "AWS_")) and key not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(CDK_OUTDIR=str(outdir), CDK_CONTEXT_JSON=json.dumps(CONTEXT))
    result = subprocess.run(
        [sys.executable, str(app)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{app.name} failed to synthesize:\n{result.stderr[-4000:]}")


def record(app: Path) -> bool:
    """Synthesize ``app`` into its snapshot directory, without the asset files, unless
    the snapshot already holds what it synthesizes (the assertions' salts would change
    every file otherwise); whether it was written."""
    target = snapshot_dir(app)
    with tempfile.TemporaryDirectory(prefix="integ-") as scratch:
        synthesize(app, Path(scratch))
        if target.exists() and not differences(target, Path(scratch)):
            return False
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(
            scratch, target, ignore=shutil.ignore_patterns("asset.*", ".cache", "*.lock")
        )
    for metadata in target.glob("*.metadata.json"):
        cleaned = _without_traces(json.loads(metadata.read_text()))
        metadata.write_text(json.dumps(cleaned, indent=1))
    return True


def _without_traces(metadata: dict[str, Any]) -> dict[str, Any]:
    """A stack's metadata without the constructs' creation stacks and each entry's
    trace (the machine's paths; integ-runner cleans them from its snapshots too)."""
    cleaned: dict[str, Any] = {}
    for path, entries in metadata.items():
        kept = [
            {key: value for key, value in entry.items() if key != "trace"}
            for entry in entries
            if entry.get("type") != "aws:cdk:creationStack"
        ]
        if kept:
            cleaned[path] = kept
    return cleaned


def _unsalted(template: Any) -> Any:
    resources = template.get("Resources", {})
    for resource in resources.values():
        if str(resource.get("Type", "")).startswith(_SALTED):
            properties = resource.get("Properties", {})
            if "salt" in properties:
                properties["salt"] = "<salt>"
    return template


def differences(expected: Path, actual: Path) -> list[str]:
    """What differs between two assemblies of one integration test: its stacks, each
    template (normalized), and its test cases; empty when nothing does."""
    found: list[str] = []
    before, after = stack_templates(expected), stack_templates(actual)
    for missing in sorted(set(before) - set(after)):
        found.append(f"stack {missing} is in the snapshot, not in the app")
    for added in sorted(set(after) - set(before)):
        found.append(f"stack {added} is in the app, not in the snapshot")
    for stack in sorted(set(before) & set(after)):
        old = template_lines(_unsalted(before[stack])).splitlines()
        new = template_lines(_unsalted(after[stack])).splitlines()
        if old != new:
            diff = difflib.unified_diff(old, new, "snapshot", "app", n=0, lineterm="")
            found.append(f"stack {stack}:\n" + "\n".join(list(diff)[:60]))
    old_cases = json.loads((expected / "integ.json").read_text())["testCases"]
    new_cases = json.loads((actual / "integ.json").read_text())["testCases"]
    if old_cases != new_cases:
        found.append(f"test cases: {json.dumps(old_cases)} -> {json.dumps(new_cases)}")
    return found


def main() -> int:
    for app in apps():
        written = record(app)
        said = "recorded" if written else "unchanged"
        print(f"{said} {snapshot_dir(app).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
