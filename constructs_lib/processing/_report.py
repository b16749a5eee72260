"""An evaluation report (``report=``): the JSON file a processing job writes to one of
its outputs, and where it holds each metric, as SageMaker Pipelines' ``PropertyFile``
and ``JsonGet`` name them. The handler reads it once the job completed; its metrics
are the job's (``metric(...)``), which a ``quality_gate`` bounds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from .._shared.schema.validate import Problem
from .._shared.suggest import did_you_mean
from ..handler import json_path
from ._io import ProcessingOutput


@dataclass(frozen=True)
class EvaluationReport:
    """The job's report: ``EvaluationReport(output="evaluation", path="evaluation.json",
    metrics={"mse": "regression_metrics.mse.value"})``.

    :param output: the name of the output the script writes the report to.
    :param path: the report's path within that output (``evaluation.json``).
    :param metrics: each metric's name and its JSON path in the report: dotted keys,
        each with optional ``[index]``es, as ``JsonGet(json_path=...)`` takes them.
    """

    output: str
    path: str
    metrics: Mapping[str, str] = field(default_factory=dict)

    def problems(self, outputs: Sequence[ProcessingOutput]) -> list[Problem]:
        """What is wrong with the report, for a job with ``outputs``."""
        problems: list[Problem] = []
        names = [o.output_name for o in outputs if o.location is not None]
        if self.output not in names:
            problems.append(
                Problem(
                    "report.output",
                    self.output,
                    f"must name an S3 output of the job ({', '.join(names) or 'it has none'})."
                    + did_you_mean(self.output, names),
                )
            )
        parts = PurePosixPath(self.path).parts if self.path else ()
        if not parts or self.path.startswith("/") or ".." in parts:
            problems.append(
                Problem(
                    "report.path",
                    self.path,
                    "must be a file's path relative to the output's folder, without '..' "
                    "(e.g. 'evaluation.json')",
                )
            )
        if not self.metrics:
            problems.append(
                Problem("report.metrics", {}, "must name at least one metric and its JSON path")
            )
        for name, path in self.metrics.items():
            try:
                json_path.parse(path)
            except ValueError as error:
                problems.append(Problem(f"report.metrics.{name}", path, str(error)))
        return problems

    def render(self) -> dict[str, Any]:
        """The resource's :data:`~constructs_lib.handler.properties.REPORT`."""
        return {
            "Output": self.output,
            "Path": self.path,
            "Metrics": dict(sorted(self.metrics.items())),
        }

    def gate_problems(self, gated: Sequence[str]) -> list[Problem]:
        """A quality gate may bound only the report's metrics."""
        return [
            Problem(
                "quality_gate",
                name,
                f"bounds a metric of the report ({', '.join(sorted(self.metrics))})."
                + did_you_mean(name, list(self.metrics)),
            )
            for name in gated
            if name not in self.metrics
        ]
