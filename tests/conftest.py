"""Shared test set-up."""

from __future__ import annotations

import json
import os
from typing import Any

from aws_cdk import assertions

# jsii prints an end-of-life banner on Node 20; the value is the Node major version.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

#: Every distinct template the suite synthesized, for the cfn-lint gate
#: (tests/test_zz_cfn_lint.py, which runs last).
SYNTHESIZED: dict[str, tuple[str, dict[str, Any]]] = {}
_from_stack = assertions.Template.from_stack


def _recording_from_stack(stack: Any, *args: Any, **kwargs: Any) -> assertions.Template:
    template = _from_stack(stack, *args, **kwargs)
    body = template.to_json()
    SYNTHESIZED.setdefault(json.dumps(body, sort_keys=True), (stack.node.path, body))
    return template


assertions.Template.from_stack = staticmethod(_recording_from_stack)  # type: ignore[method-assign]
