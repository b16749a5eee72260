"""Quality gates (``quality_gate=`` of a job): the bounds a completed job's final
metrics must meet (a tuning job's: its best training job's) before the stack uses its
model. Read from the description the provider already has: no extra call."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .properties import QUALITY_GATE
from .runtime import Description, TrainingJobError


def final_metrics(description: Description) -> dict[str, float]:
    """A training job's final metrics, by name."""
    return {
        str(item.get("MetricName", "")): float(item.get("Value", math.nan))
        for item in description.get("FinalMetricDataList") or []
    }


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


def check(properties: Mapping[str, Any], description: Description, what: str) -> None:
    """Fail unless the job ``description`` names (``what`` says which, for the
    message) meets the gate of the resource ``properties``."""
    gate = properties.get(QUALITY_GATE)
    if not gate:
        return
    metrics = final_metrics(description)
    missed = misses(gate, metrics)
    if not missed:
        return
    reported = ", ".join(f"{k} = {v:g}" for k, v in sorted(metrics.items())) or "none"
    raise TrainingJobError(
        f"{what} completed, but its model does not pass the quality gate: "
        f"{'; '.join(missed)} (its final metrics: {reported}). The model is not used: "
        "CloudFormation rolls back, and on an update the stack keeps the model it had. "
        "Improve the training or change quality_gate, then deploy again."
    )
