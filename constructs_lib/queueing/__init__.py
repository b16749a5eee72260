"""queueing"""

from __future__ import annotations

from ._queue import FairShare, ITrainingQueue, TrainingQueue

__all__ = [
    "FairShare",
    "ITrainingQueue",
    "TrainingQueue",
]
