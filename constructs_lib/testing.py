"""Help for snapshot-testing stacks that use this library.

Asset hashes change whenever the library's handler code or the CDK's bundled
framework code changes, even though the infrastructure does not. Normalising them
makes a snapshot change only when the template really does::

    from aws_cdk.assertions import Template
    from constructs_lib.testing import normalize_template

    def test_stack(snapshot):
        template = Template.from_stack(stack).to_json()
        assert normalize_template(template) == snapshot
"""

from __future__ import annotations

import re
from typing import Any

ASSET_HASH_PLACEHOLDER = "<asset-hash>"
_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def normalize_template(template: Any) -> Any:
    """A copy of ``template`` with every asset hash (64 hex digits, alone or inside
    a string such as ``<hash>.zip``) replaced by ``<asset-hash>``."""
    if isinstance(template, dict):
        return {key: normalize_template(value) for key, value in template.items()}
    if isinstance(template, list):
        return [normalize_template(value) for value in template]
    if isinstance(template, str):
        return _ASSET_HASH.sub(ASSET_HASH_PLACEHOLDER, template)
    return template
