"""Quality gates: bounds on a completed job's final metrics that its model must meet
before the stack uses it. A job (a tuning job: its best training job) whose final
metric misses a bound, or does not report it, fails its resource: CloudFormation rolls
back, so on an update whatever served the previous model keeps serving it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Token
from constructs import Construct

from .._shared.suggest import did_you_mean
from ._completion import Completion, CompletionMode

__all__ = ["MetricThreshold"]

#: The gate's entry members, shared with the handler (``handler/attributes.py``).
METRIC, AT_MOST, AT_LEAST = "Metric", "AtMost", "AtLeast"


@dataclass(frozen=True)
class MetricThreshold:
    """A bound on a final metric: ``MetricThreshold("validation:rmse", at_most=2.5)``,
    ``MetricThreshold("validation:auc", at_least=0.9)``, or both bounds.

    :param metric: the metric's name, one the job defines (``metric_definitions``) or
        its built-in algorithm reports.
    :param at_most: the largest value the model may have; default: no upper bound.
    :param at_least: the smallest value the model may have; default: no lower bound.
    """

    metric: str
    at_most: float | None = None
    at_least: float | None = None

    def problems(self) -> list[str]:
        """What is wrong with this threshold by itself (each a rule)."""
        problems: list[str] = []
        if self.at_most is None and self.at_least is None:
            problems.append("give at_most=, at_least= or both: a threshold without a bound")
        for name in ("at_most", "at_least"):
            value = getattr(self, name)
            if value is None or _is_token(value):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{name} must be a number, got {type(value).__name__}")
            elif not math.isfinite(value):
                problems.append(f"{name} must be a finite number")
        low, high = self.at_least, self.at_most
        numbers = all(
            isinstance(v, int | float) and not isinstance(v, bool) and not _is_token(v)
            for v in (low, high)
        )
        if numbers and low is not None and high is not None and low > high:
            problems.append(f"at_least ({low}) is above at_most ({high}): no value passes")
        return problems

    def render(self) -> dict[str, Any]:
        """The gate entry the handler reads."""
        entry: dict[str, Any] = {METRIC: self.metric}
        if self.at_most is not None:
            entry[AT_MOST] = self.at_most
        if self.at_least is not None:
            entry[AT_LEAST] = self.at_least
        return entry


def _is_token(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and (Token.is_unresolved(value))
    )


def render_gate(
    scope: Construct,
    thresholds: Sequence[MetricThreshold] | None,
    *,
    definition: Mapping[str, Any],
    emits_metrics: bool,
    completion: Completion,
) -> list[dict[str, Any]] | None:
    """The gate of a job whose (training) request is ``definition``, checked: every
    threshold well formed, on a metric the job reports, once per metric; a job the
    deploy waits for. None without thresholds."""
    if not thresholds:
        return None
    path = scope.node.path
    if completion.mode == CompletionMode.NONE:
        raise ValueError(
            f"[{path}] quality_gate: {[t.metric for t in thresholds]!r} is invalid: with "
            "Completion.none() the deployment does not wait for the job, so nothing can "
            "hold its model back: use Completion.wait() or Completion.wait_condition()"
        )
    algorithm = definition.get("AlgorithmSpecification") or {}
    defined = [
        str(d.get("Name"))
        for d in algorithm.get("MetricDefinitions") or []
        if isinstance(d, Mapping)
    ]
    seen: set[str] = set()
    for threshold in thresholds:
        if not isinstance(threshold, MetricThreshold):
            raise TypeError(
                f"[{path}] quality_gate: {threshold!r} is invalid: expected MetricThreshold"
            )
        problems = threshold.problems()
        name = threshold.metric
        if name in seen:
            problems.append("the metric has one threshold: give both bounds in it")
        seen.add(name)
        unknown = not emits_metrics and not Token.is_unresolved(name) and name not in defined
        if unknown:
            problems.append(
                f"the job reports only the metrics its metric_definitions capture "
                f"({', '.join(repr(d) for d in defined) or 'none'}).{did_you_mean(name, defined)}"
                f" Add MetricDefinition({name!r}, r'<regex whose one group is the value>')"
            )
        if problems:
            raise ValueError(
                f"[{path}] quality_gate: {threshold!r} is invalid: {'; '.join(problems)}"
            )
    return [threshold.render() for threshold in thresholds]
