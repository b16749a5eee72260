"""The hyperparameter tuning job: the ``HyperparameterTuningJob`` construct
(:mod:`._tuning_job`), its training definition (:mod:`._definition`), its typed
values (:mod:`._config`: objective, ranges, strategies, warm start), the
CreateHyperParameterTuningJob request around the definition (:mod:`._request`), and
what every tuning job has, of the stack or imported (:mod:`._base`).

May import: every layer below, training included. Imported by: testing, and the root,
which re-exports the names below.
"""

from __future__ import annotations

from ._config import (
    CategoricalRange,
    ContinuousRange,
    HyperbandConfig,
    IntegerRange,
    ParameterRange,
    ScalingType,
    TuningObjective,
    TuningStrategy,
    WarmStart,
    WarmStartType,
)
from ._tuning_job import HyperparameterTuningJob, IHyperparameterTuningJob, TrainingDefinition

__all__ = [
    "CategoricalRange",
    "ContinuousRange",
    "HyperbandConfig",
    "HyperparameterTuningJob",
    "IHyperparameterTuningJob",
    "IntegerRange",
    "ParameterRange",
    "ScalingType",
    "TrainingDefinition",
    "TuningObjective",
    "TuningStrategy",
    "WarmStart",
    "WarmStartType",
]
