"""Shared test set-up."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import assertions

from tests import cfn_lint

# jsii prints an end-of-life banner on Node 20; the value is the Node major version.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

#: Every distinct template the suite synthesized, for the cfn-lint gate
#: (tests/test_zz_cfn_lint.py, which runs last).
SYNTHESIZED: dict[str, tuple[str, dict[str, Any]]] = {}
_from_stack = assertions.Template.from_stack


def _recording_from_stack(stack: Any, *args: Any, **kwargs: Any) -> assertions.Template:
    template = _from_stack(stack, *args, **kwargs)
    body = template.to_json()
    key = cfn_lint.template_key(body)
    if key not in SYNTHESIZED:
        SYNTHESIZED[key] = (stack.node.path, body)
        cfn_lint.record(stack.node.path, body)
    return template


assertions.Template.from_stack = staticmethod(_recording_from_stack)  # type: ignore[method-assign]


@pytest.fixture(scope="session", autouse=True)
def _scratch_under_pytest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every ``tempfile.mkdtemp`` of the tests, and of what they drive (synth outdirs,
    rehearsal trees, staged channels), under pytest's own temporary directory, which
    pytest prunes (it keeps the last three runs' only): a run leaves nothing behind in
    the machine's /tmp."""
    scratch = tmp_path_factory.mktemp("scratch", numbered=False)
    previous = tempfile.tempdir
    tempfile.tempdir = str(scratch)
    try:
        yield
    finally:
        tempfile.tempdir = previous


def recorded_templates() -> dict[str, tuple[str, dict[str, Any]]]:
    """The templates of this process and those the other processes wrote."""
    return {**cfn_lint.recorded(), **SYNTHESIZED}


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A process of a parallel run done with its tests lints what is recorded and
    unlinted while the others finish (the gate, run after them, reads the results)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        cfn_lint.lint_unclaimed(worker, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
