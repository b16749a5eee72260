"""The training job: the ``TrainingJob`` construct (:mod:`._training_job`), whose
constructor reads as its steps (bind, render, check, grant, create the resource), and
what every training job has, of the stack or imported (:mod:`._base`).

May import: every layer below (_shared, security, provider, definition, core,
serving, schedule, queueing, handler). Imported by: tuning (a tuning job's repack job
is a training job), testing, and the root, which re-exports the names below.
"""

from __future__ import annotations

from ._training_job import ITrainingJob, TrainingJob

__all__ = [
    "ITrainingJob",
    "TrainingJob",
]
