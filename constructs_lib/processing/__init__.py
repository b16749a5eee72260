"""Processing jobs as resources of the stack: ``ProcessingJob`` (data preparation,
feature engineering, evaluation) on the job core, the stack's provider and the
lifecycle every job kind shares; its inputs and outputs, and an evaluation report
whose metrics a quality gate bounds.

May import: ``_shared``, ``security``, ``provider``, ``definition``, ``core`` and the
handler's stdlib-only modules (kinds, properties, json_path). Imported by: the package
root (on first use), ``testing``. Loading it loads nothing of training, tuning,
serving or schedules: an app without processing jobs loads none of it.
"""

from __future__ import annotations

from ._code import runproc_script
from ._io import ProcessingInput, ProcessingOutput, S3UploadMode
from ._processing_job import STATE_CHANGE, ProcessingJob
from ._report import EvaluationReport
from ._request import ProcessingProps, render_processing_request

__all__ = [
    "STATE_CHANGE",
    "EvaluationReport",
    "ProcessingInput",
    "ProcessingJob",
    "ProcessingOutput",
    "ProcessingProps",
    "S3UploadMode",
    "render_processing_request",
    "runproc_script",
]
