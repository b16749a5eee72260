"""serving"""

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
