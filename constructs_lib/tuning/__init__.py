"""tuning"""

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
