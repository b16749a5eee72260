"""A scheduled run's verdict: the step of its state machine (``_retraining.py``) that
judges the model the run trained by the job's quality gate, with the rule the deploy
uses (``gate.misses``), and says what the registered version is to carry.

A run's state machine waits for its job in Step Functions (Wait, Describe, Choice) and
calls this once the job ended. Its states cannot judge the gate themselves: a job's
``FinalMetricDataList`` may be absent or lack a metric, which Amazon States Language's
JSONPath cannot select by name without failing the execution.

The answer, small (a state of Step Functions): ``Outcome`` (``Passed``, ``Missed`` or
``Failed``), ``Reason``, ``ModelDataUrl`` and ``Metadata`` (the version's customer
metadata: the job's ARN, the gated metrics' values).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .attributes import _best_training_job, _failure_message, final_metrics
from .calls import _describe
from .gate import misses
from .kinds import TUNING, by_key
from .runtime import MAX_REASON_CHARS, Runtime, TrainingJobError, truncate

#: The key of the state machine's payload asking for a verdict.
JUDGE = "constructs-lib:judge"
PASSED, MISSED, FAILED = "Passed", "Missed", "Failed"


def judge(request: Mapping[str, Any], runtime: Runtime) -> dict[str, Any]:
    """The verdict on the run ``request`` names: ``{"Kind", "Name", "Gate"}``."""
    kind = by_key(str(request.get("Kind")))
    name = str(request["Name"])
    gate = request.get("Gate") or []
    description = _describe(runtime, kind, name)
    if description is None:
        return _verdict(FAILED, f"{kind.noun} {name} no longer exists")
    if description[kind.status_field] != "Completed":
        return _verdict(FAILED, _failure_message(kind, description))
    metadata: dict[str, str] = {}
    best = description
    if kind is TUNING:
        try:
            best = _best_training_job(runtime, description)
        except TrainingJobError as error:
            return _verdict(FAILED, str(error))
        metadata["TuningJobArn"] = str(description["HyperParameterTuningJobArn"])
    metadata["TrainingJobArn"] = str(best["TrainingJobArn"])
    metrics = final_metrics(best)
    gated = [str(entry.get("Metric", "")) for entry in gate if isinstance(entry, Mapping)]
    metadata.update({f"Metric.{m}": repr(metrics[m]) for m in gated if m in metrics})
    missed = misses(list(gate), metrics)
    reported = ", ".join(f"{k} = {v:g}" for k, v in sorted(metrics.items())) or "none"
    if missed:
        reason = (
            f"{best['TrainingJobName']} does not pass the quality gate: {'; '.join(missed)} "
            f"(its final metrics: {reported})"
        )
    else:
        reason = f"{best['TrainingJobName']} passed the quality gate (final metrics: {reported})"
    return _verdict(
        MISSED if missed else PASSED,
        reason,
        model=str((best.get("ModelArtifacts") or {}).get("S3ModelArtifacts", "")),
        metadata=metadata,
    )


def _verdict(
    outcome: str, reason: str, *, model: str = "", metadata: Mapping[str, str] | None = None
) -> dict[str, Any]:
    # A model package's approval description takes 1,000 characters.
    return {
        "Outcome": outcome,
        "Reason": truncate(reason, MAX_REASON_CHARS),
        "ModelDataUrl": model,
        "Metadata": dict(metadata or {}),
    }
