"""The integration tests (``integ_*.py`` apps in the CDK's convention), their offline
snapshot check and their runner on a real account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

INTEG = Path(__file__).resolve().parent
ROOT = INTEG.parents[1]


def apps() -> list[Path]:
    """The integration tests, ``integ_*.py``, in name order."""
    return sorted(INTEG.glob("integ_*.py"))


def stack_templates(assembly: Path) -> dict[str, Any]:
    """Each stack of the cloud assembly in ``assembly`` by its artifact id: its
    template."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    return {
        artifact_id: json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        for artifact_id, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }
