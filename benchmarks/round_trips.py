"""Counts the round trips to the CDK's JavaScript side (jsii kernel requests) that one
further job costs, as built and as synthesized, for the library (training jobs, and
processing jobs of the same inputs) and for the Step Functions anchor:
``python -m benchmarks.round_trips [JOBS]`` prints JSON.

Every request the Python side sends to the jsii kernel (create, get, set, invoke,
callback results, ...) is counted by wrapping the kernel process's ``send``. The
counts per further job are the difference between a one-job app and a ``JOBS``-job
app, divided by ``JOBS - 1``; the library's own call sites are attributed by the
innermost frame in ``constructs_lib`` (``"outside"``: aws-cdk-lib calling back or
the benchmark app itself).
"""

from __future__ import annotations

import collections
import json
import sys
import time
import traceback
from typing import Any

from jsii._kernel.providers import process

_counts: collections.Counter[str] = collections.Counter()
_sites: collections.Counter[str] = collections.Counter()
_counting = {"on": False}
_send = process._NodeProcess.send


def _counted_send(self: Any, request: Any, response_type: Any) -> Any:
    if _counting["on"]:
        _counts[type(request).__name__] += 1
        for frame in reversed(traceback.extract_stack()[:-1]):
            if "/constructs_lib/" in frame.filename:
                module = frame.filename.split("/constructs_lib/")[1]
                _sites[f"{module} {frame.name}"] += 1
                break
        else:
            _sites["outside"] += 1
    return _send(self, request, response_type)


process._NodeProcess.send = _counted_send  # type: ignore[method-assign]


def _measure(jobs: int, anchor: bool, processing: bool = False) -> dict[str, Any]:
    from benchmarks.synth_app import build

    _counts.clear()
    _sites.clear()
    _counting["on"] = True
    started = time.perf_counter()
    app = build(jobs, anchor=anchor, processing=processing)
    built = sum(_counts.values())
    build_seconds = time.perf_counter() - started
    app.synth()
    _counting["on"] = False
    return {
        "build": built,
        "synth": sum(_counts.values()) - built,
        "build seconds": build_seconds,
        "synth seconds": time.perf_counter() - started - build_seconds,
        "sites": _sites.copy(),
    }


def per_further_job(jobs: int, anchor: bool, processing: bool = False) -> dict[str, Any]:
    _measure(1, anchor, processing)  # warm-up: the first app pays for loading modules
    one = _measure(1, anchor, processing)
    many = _measure(jobs, anchor, processing)
    further = jobs - 1
    sites = {
        site: round((many["sites"][site] - one["sites"].get(site, 0)) / further, 1)
        for site in many["sites"]
    }
    return {
        "round trips per further job (build)": round((many["build"] - one["build"]) / further, 1),
        "round trips per further job (synth)": round((many["synth"] - one["synth"]) / further, 1),
        "round trips, one-job app": one["build"] + one["synth"],
        "ms per further job (build, in process)": round(
            1000 * (many["build seconds"] - one["build seconds"]) / further, 1
        ),
        "ms per further job (synth, in process)": round(
            1000 * (many["synth seconds"] - one["synth seconds"]) / further, 1
        ),
        "top sites per further job": dict(
            sorted(((k, v) for k, v in sites.items() if v), key=lambda kv: -kv[1])[:12]
        ),
    }


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 21
    print(
        json.dumps(
            {
                "library": per_further_job(jobs, anchor=False),
                "anchor": per_further_job(jobs, anchor=True),
                "processing": per_further_job(jobs, anchor=False, processing=True),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
