"""Names a package exports on first use (PEP 562), so that importing the package, or
any module inside it, loads none of what its names need until one is asked for: the
root's promise that an app pays only for the capabilities it uses."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy(
    package: str, exports: Mapping[str, str], names: list[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``: each name of ``exports`` is
    imported from its module (relative to ``package``) when first asked for, then kept
    in the package's namespace."""

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module protocol's name
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = importlib.import_module(package)
        value = getattr(importlib.import_module(module, package), name)
        setattr(loaded, name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted({*vars(importlib.import_module(package)), *names})

    return __getattr__, __dir__
