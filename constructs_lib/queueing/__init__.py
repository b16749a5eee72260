"""Training jobs through an AWS Batch queue: the queue construct with its compute
environment and fair-share policy (:mod:`._queue`), and a job's queue settings, their
checks and the events of its service job (:mod:`._queueing`). The actions a submitter
needs live with the provider's other permissions (``provider.permissions``).

May import: _shared, security, provider, core. Imported by: training, tuning (which
refuses a queue), and the root, which re-exports the names below.
"""

from __future__ import annotations

from ._queue import FairShare, ITrainingQueue, TrainingQueue

__all__ = [
    "FairShare",
    "ITrainingQueue",
    "TrainingQueue",
]
