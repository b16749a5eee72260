"""SageMaker ML instance types."""

from __future__ import annotations

import re

from .._shared.remembered import unresolved

_PATTERN = re.compile(r"^ml\.[a-z0-9-]+\.[a-z0-9-]+$")


class InstanceType:
    """An ML instance type for training, e.g. ``InstanceType.of("ml.m5.xlarge")``."""

    def __init__(self, name: str) -> None:
        if not unresolved(name) and not _PATTERN.match(name):
            raise ValueError(
                f"InstanceType: {name!r} is invalid: a SageMaker instance type is "
                "'ml.<family>.<size>', e.g. 'ml.m5.xlarge'"
            )
        self._name = name

    @staticmethod
    def of(name: str) -> InstanceType:
        """An instance type by its SageMaker name (with the ``ml.`` prefix)."""
        return InstanceType(name)

    def __str__(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"InstanceType.of({self._name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, InstanceType) and other._name == self._name

    def __hash__(self) -> int:
        return hash(self._name)
