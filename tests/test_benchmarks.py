"""The benchmark's round-trip counter counts: it runs as ``make bench`` runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_round_trips_are_counted_for_both_sides() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.round_trips", "3"],
        cwd=ROOT,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
        check=True,
        capture_output=True,
        text=True,
    )
    counted = json.loads(result.stdout)
    ours, anchor = counted["library"], counted["anchor"]
    # A job is built by the library's Python code, a task in one jsii call: the
    # counter must see both, and attribute the library's calls to its modules.
    assert (
        ours["round trips per further job (build)"]
        > anchor["round trips per further job (build)"]
        > 0
    )
    modules = {
        str(path.relative_to(ROOT / "constructs_lib"))
        for path in ROOT.glob("constructs_lib/**/*.py")
    }
    assert any(site.split()[0] in modules for site in ours["top sites per further job"])
    assert anchor["top sites per further job"] == {
        "outside": anchor["round trips per further job (build)"]
        + anchor["round trips per further job (synth)"]
    }
