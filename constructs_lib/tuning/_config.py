"""Typed values of a hyperparameter tuning job: the objective, the ranges searched,
the strategy, warm start."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from .._shared.schema.validate import Problem, is_unresolved
from ..definition._script_mode import encode_categorical

if TYPE_CHECKING:
    from ._base import IHyperparameterTuningJob


class ScalingType(Enum):
    """How a numeric range is searched (``ScalingType``)."""

    AUTO = "Auto"
    """SageMaker chooses."""
    LINEAR = "Linear"
    LOGARITHMIC = "Logarithmic"
    """For ranges over orders of magnitude; the range must be above 0."""
    REVERSE_LOGARITHMIC = "ReverseLogarithmic"
    """For continuous ranges close to 1; the range must be within [0, 1)."""


class TuningStrategy(Enum):
    """How the tuning job picks the next hyperparameters (``Strategy``)."""

    BAYESIAN = "Bayesian"
    RANDOM = "Random"
    HYPERBAND = "Hyperband"
    """Stops poor jobs early by itself: ``early_stopping`` must be off."""
    GRID = "Grid"
    """Every combination of categorical ranges (categorical ranges only)."""


class WarmStartType(Enum):
    """What a warm start reuses of its parent tuning jobs (``WarmStartType``)."""

    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


@dataclass(frozen=True)
class TuningObjective:
    """The metric the tuning job optimizes. Create with :meth:`minimize` or
    :meth:`maximize`; the name is a metric of the training definition's
    ``metric_definitions`` (or a built-in algorithm's, e.g. ``validation:rmse``)."""

    type: str
    metric_name: str

    @staticmethod
    def minimize(metric_name: str) -> TuningObjective:
        """Pick the training job with the lowest final value of ``metric_name``."""
        return TuningObjective("Minimize", metric_name)

    @staticmethod
    def maximize(metric_name: str) -> TuningObjective:
        """Pick the training job with the highest final value of ``metric_name``."""
        return TuningObjective("Maximize", metric_name)

    def render(self) -> dict[str, str]:
        """This value in the request's own shape and casing."""
        return {"Type": self.type, "MetricName": self.metric_name}


def _number_text(value: float | int) -> Any:
    """A range bound as the API wants it: a string (tokens pass through)."""
    if isinstance(value, str) or is_unresolved(value):
        return value
    return str(value)


def _numeric_range(
    name: str, low: float | int, high: float | int, scaling: ScalingType | None
) -> dict[str, Any]:
    rendered = {"Name": name, "MinValue": _number_text(low), "MaxValue": _number_text(high)}
    if scaling is not None:
        rendered["ScalingType"] = scaling.value
    return rendered


@dataclass(frozen=True)
class ContinuousRange:
    """A real-valued hyperparameter searched between ``min_value`` and ``max_value``.

    :param scaling: default: SageMaker's (``Auto``).
    """

    name: str
    min_value: float
    max_value: float
    scaling: ScalingType | None = field(default=None, kw_only=True)

    #: The member of ``ParameterRanges`` this range renders into.
    member = "ContinuousParameterRanges"

    def render(self) -> dict[str, Any]:
        """This value in the request's own shape and casing."""
        return _numeric_range(self.name, self.min_value, self.max_value, self.scaling)


@dataclass(frozen=True)
class IntegerRange:
    """An integer hyperparameter searched between ``min_value`` and ``max_value``
    (both included).

    :param scaling: ``Auto``, ``Linear`` or ``Logarithmic``; default: SageMaker's.
    """

    name: str
    min_value: int
    max_value: int
    scaling: ScalingType | None = field(default=None, kw_only=True)

    member = "IntegerParameterRanges"

    def render(self) -> dict[str, Any]:
        """This value in the request's own shape and casing."""
        return _numeric_range(self.name, self.min_value, self.max_value, self.scaling)


@dataclass(frozen=True)
class CategoricalRange:
    """A hyperparameter searched over ``values`` (1 to 30). For a built-in algorithm
    or an image of your own they are strings; for a training definition with
    ``code`` any values (``"adam"``, ``32``, ``True``), which the tuning job passes
    as the SageMaker SDK's tuner does: their text JSON-encoded (``"\\"32\\""``), so
    the script receives the text (``"32"``, ``"True"``), as under the SDK."""

    name: str
    values: Sequence[Any]

    member = "CategoricalParameterRanges"

    def render(self, *, json_values: bool = False) -> dict[str, Any]:
        """This value in the request's own shape and casing (for a framework
        container's script, each value's text JSON-encoded, as the SDK's tuner does)."""
        if json_values:
            return {"Name": self.name, "Values": [encode_categorical(v) for v in self.values]}
        return {"Name": self.name, "Values": [str(value) for value in self.values]}


#: A range of any kind.
ParameterRange = ContinuousRange | IntegerRange | CategoricalRange


def categorical_problems(ranges: Sequence[Any]) -> list[Problem]:
    """Categorical ranges given one string for their values: its characters would be
    the values searched (``"adam"`` -> ``"a", "d", "a", "m"``)."""
    problems: list[Problem] = []
    index = 0
    for parameter_range in ranges:
        if not isinstance(parameter_range, CategoricalRange):
            continue
        values = parameter_range.values
        if isinstance(values, str | bytes):
            problems.append(
                Problem(
                    f"HyperParameterTuningJobConfig.ParameterRanges.{CategoricalRange.member}"
                    f"[{index}].Values",
                    values,
                    f"CategoricalRange({parameter_range.name!r}) takes a list of the values "
                    f"searched ([{values!r}] for one, or ['adam', 'sgd']): one string would "
                    "be searched character by character",
                )
            )
        index += 1
    return problems


def render_ranges(
    ranges: Sequence[ParameterRange], *, json_values: bool = False
) -> dict[str, list[dict[str, Any]]]:
    """``ParameterRanges``: each range under its kind's member, in the given order
    (categorical values JSON-encoded for a framework container's script)."""
    rendered: dict[str, list[dict[str, Any]]] = {}
    for parameter_range in ranges:
        item = (
            parameter_range.render(json_values=json_values)
            if isinstance(parameter_range, CategoricalRange)
            else parameter_range.render()
        )
        rendered.setdefault(parameter_range.member, []).append(item)
    return rendered


@dataclass(frozen=True)
class HyperbandConfig:
    """Resources (epochs, by the training code's own count) per Hyperband job.

    :param min_resource: default: SageMaker's (1).
    :param max_resource: default: SageMaker's.
    """

    min_resource: int | None = None
    max_resource: int | None = None

    def render(self) -> dict[str, Any]:
        """This value in the request's own shape and casing."""
        config: dict[str, Any] = {}
        if self.min_resource is not None:
            config["MinResource"] = self.min_resource
        if self.max_resource is not None:
            config["MaxResource"] = self.max_resource
        return {"HyperbandStrategyConfig": config}


@dataclass(frozen=True)
class WarmStart:
    """Start from what earlier tuning jobs learned (``WarmStartConfig``).

    :param parents: 1 to 5 tuning jobs: constructs of this app (the new job then
        depends on them), imported ones (``HyperparameterTuningJob.from_tuning_job_name``)
        or names of existing jobs.
    :param type: default: ``TRANSFER_LEARNING``.
    """

    parents: Sequence[IHyperparameterTuningJob | str]
    type: WarmStartType = WarmStartType.TRANSFER_LEARNING

    def render(self) -> dict[str, Any]:
        """This value in the request's own shape and casing."""
        names = [
            parent if isinstance(parent, str) else parent.tuning_job_name for parent in self.parents
        ]
        return {
            "ParentHyperParameterTuningJobs": [
                {"HyperParameterTuningJobName": name} for name in names
            ],
            "WarmStartType": self.type.value,
        }
