"""The benchmark's round-trip counter counts: it runs as ``make bench`` runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def counted() -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.round_trips", "3"],
        cwd=ROOT,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
        check=True,
        capture_output=True,
        text=True,
    )
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def test_round_trips_are_counted_for_both_sides(counted: dict[str, Any]) -> None:
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


def test_a_further_processing_job_costs_no_more_round_trips_than_a_training_job(
    counted: dict[str, Any],
) -> None:
    """Issue 39's cost: counted crossings to the CDK's JavaScript side (not time)."""

    def per_job(side: dict[str, float]) -> float:
        return (
            side["round trips per further job (build)"]
            + side["round trips per further job (synth)"]
        )

    assert 0 < per_job(counted["processing"]) <= per_job(counted["library"])
