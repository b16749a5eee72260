"""Batch transform jobs as resources of the stack: ``TransformJob`` scores a data set
with a model of the stack (a ``CfnModel``, an alpha ``IModel``, or a name) on the job
core, the stack's provider and the lifecycle every job kind shares; its input, its
output (a folder per job) and the request's sections.

May import: ``_shared``, ``security``, ``provider``, ``definition``, ``core`` and the
handler's stdlib-only modules (kinds, properties). Imported by: the package root (on
first use). Loading it loads nothing of training, tuning, processing, serving or
schedules: an app without transform jobs loads none of it.
"""

from __future__ import annotations

from ._io import (
    AssembleWith,
    BatchStrategy,
    DataProcessing,
    JoinSource,
    SplitType,
    TransformInput,
    TransformOutput,
)
from ._request import TransformProps, render_transform_request
from ._transform_job import MODEL_ROLE_WARNING_ID, STATE_CHANGE, TransformJob

__all__ = [
    "MODEL_ROLE_WARNING_ID",
    "STATE_CHANGE",
    "AssembleWith",
    "BatchStrategy",
    "DataProcessing",
    "JoinSource",
    "SplitType",
    "TransformInput",
    "TransformJob",
    "TransformOutput",
    "TransformProps",
    "render_transform_request",
]
