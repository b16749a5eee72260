"""core"""

from __future__ import annotations

from ._completion import Completion, CompletionMode
from ._quality_gate import MetricThreshold

__all__ = [
    "Completion",
    "CompletionMode",
    "MetricThreshold",
]
