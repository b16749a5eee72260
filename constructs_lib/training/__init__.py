"""training"""

from __future__ import annotations

from ._training_job import ITrainingJob, TrainingJob

__all__ = [
    "ITrainingJob",
    "TrainingJob",
]
