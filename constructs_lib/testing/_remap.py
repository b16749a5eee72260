"""Loaded at start-up by the interpreter of a processing job's local run (a ``.pth``
line of its virtual environment): the script's file calls under
``/opt/ml/processing`` go to the run's tree (``CONSTRUCTS_LIB_PROCESSING_ROOT``), as
the container's mounts would give them, without Docker and without writing to
``/opt`` on your machine. What a Python script opens, lists, makes or removes through
``open``, ``os``, ``os.path``, ``pathlib``, ``shutil`` and ``glob`` is mapped (the
libraries that read files through them, pandas and numpy included).

Standard library only; it changes nothing without the variable.
"""

from __future__ import annotations

import builtins
import io
import os
from typing import Any

_PREFIX = "/opt/ml/processing"


def _mapper(root: str) -> Any:
    def mapped(path: Any) -> Any:
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if isinstance(path, str) and (path == _PREFIX or path.startswith(_PREFIX + "/")):
            return root + path[len(_PREFIX) :]
        if isinstance(path, bytes) and path.startswith(_PREFIX.encode()):
            return root.encode() + path[len(_PREFIX) :]
        return path

    return mapped


def _wrap_first(function: Any, mapped: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args:
            args = (mapped(args[0]), *args[1:])
        return function(*args, **kwargs)

    wrapper.__wrapped__ = function  # type: ignore[attr-defined]
    return wrapper


def _wrap_two(function: Any, mapped: Any) -> Any:
    def wrapper(source: Any, target: Any, *args: Any, **kwargs: Any) -> Any:
        return function(mapped(source), mapped(target), *args, **kwargs)

    wrapper.__wrapped__ = function  # type: ignore[attr-defined]
    return wrapper


def install(root: str) -> None:
    """Map ``/opt/ml/processing`` to ``root`` for this interpreter."""
    mapped = _mapper(root.rstrip("/"))
    builtins.open = io.open = _wrap_first(io.open, mapped)
    for name in (
        "open",
        "stat",
        "lstat",
        "listdir",
        "scandir",
        "mkdir",
        "rmdir",
        "remove",
        "unlink",
        "chmod",
        "access",
        "utime",
        "truncate",
    ):
        if hasattr(os, name):
            setattr(os, name, _wrap_first(getattr(os, name), mapped))
    for name in ("rename", "replace", "link", "symlink"):
        if hasattr(os, name):
            setattr(os, name, _wrap_two(getattr(os, name), mapped))
    chdir = os.chdir
    os.chdir = _wrap_first(chdir, mapped)


_ROOT = os.environ.get("CONSTRUCTS_LIB_PROCESSING_ROOT")
if _ROOT:
    install(_ROOT)
