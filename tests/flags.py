"""The feature flags users' apps have: those ``cdk init`` writes for the aws-cdk-lib we
pin, kept in the sample's ``cdk.json``. Key tests run under them and under none."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: The feature flags of ``cdk.json`` (its context keys starting with ``@``).
RECOMMENDED: dict[str, Any] = {
    key: value
    for key, value in json.loads((ROOT / "cdk.json").read_text())["context"].items()
    if key.startswith("@")
}

#: Context of an app without flags, and of one that ``cdk init`` made.
FLAG_SETS: dict[str, dict[str, Any]] = {"no-flags": {}, "recommended-flags": RECOMMENDED}
