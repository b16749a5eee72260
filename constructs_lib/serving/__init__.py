"""Serving what a job trained: the container that serves it on a framework image and the
repack job that puts the code into the model (:mod:`._serving`, with its script
:mod:`._repack`), the model data of ``aws-sagemaker-alpha``'s ``Model``
(:mod:`._alpha`), and the model registry: ``register_model`` of the jobs
(:mod:`._registering`), the model package group (:mod:`._registry`) and the approval
statuses both read (:mod:`._approval`).

Serving knows no job kind: a job hands it a :class:`._serving.TrainedModel`, which
carries the job kind a repack job is, as a value.

May import: _shared, security, definition, core. Imported by: schedule, training,
tuning, and the root.

Load-time promise: the names below load on first use, and the job classes import only
the light :mod:`._registering` and :mod:`._serving`: an app that registers nothing
imports neither :mod:`._registry` nor ``aws_cdk.aws_sagemaker``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._shared.exports import lazy

if TYPE_CHECKING:
    from ._approval import ModelApproval
    from ._registry import IModelPackageGroup, ModelPackageGroup, RegisteredModel

_EXPORTS = {
    "ModelApproval": "._approval",
    "IModelPackageGroup": "._registry",
    "ModelPackageGroup": "._registry",
    "RegisteredModel": "._registry",
}

__all__ = [
    "IModelPackageGroup",
    "ModelApproval",
    "ModelPackageGroup",
    "RegisteredModel",
]

__getattr__, __dir__ = lazy(__name__, _EXPORTS, __all__)
