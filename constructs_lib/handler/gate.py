"""The quality gate's rule (``quality_gate=``): which bounds a job's metrics miss.

Imports only the standard library: the handler checks it when a job completed, a
scheduled run's verdict (``judge``) and a processing job's local rehearsal
(``testing.run_locally``) check it the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def misses(gate: Any, metrics: Mapping[str, float]) -> list[str]:
    """Each bound of ``gate`` the ``metrics`` miss (CloudFormation passes the bounds as
    strings), as a phrase naming the metric, its value and the bound."""
    missed: list[str] = []
    for entry in gate if isinstance(gate, list) else []:
        name = str(entry.get("Metric", ""))
        value = metrics.get(name)
        if value is None or math.isnan(value):
            missed.append(f"{name} was not reported")
            continue
        high, low = entry.get("AtMost"), entry.get("AtLeast")
        if high is not None and value > float(high):
            missed.append(f"{name} = {value:g}, at most {float(high):g} allowed")
        if low is not None and value < float(low):
            missed.append(f"{name} = {value:g}, at least {float(low):g} required")
    return missed
