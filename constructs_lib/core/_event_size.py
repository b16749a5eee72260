"""The size of what CloudFormation hands the provider for a job, checked at synth.

CloudFormation invokes the provider's function asynchronously, and Lambda takes at
most 1 MB (``carry.EVENT_LIMIT``) from an asynchronous invocation; an Update's event
carries the resource's old and new properties, as does the Update a rollback sends.
A job whose properties could not travel twice in one event could be created but never
changed or rolled back: refused here, naming the limit. A job whose properties do not
fit the waiting state machine's state even compressed (``carry.ARCHIVE_BUDGET``)
cannot wait for a quota slot or a throttled Create: a warning.

The properties are measured as the template will hold them; each unresolved value (a
bucket's name, a role's ARN) counts :data:`TOKEN_BYTES`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aws_cdk import Annotations
from constructs import Construct

from ..handler import carry

#: What an unresolved value may come to at deploy (an ARN, a bucket's name).
TOKEN_BYTES = 256
#: What an event holds besides the properties: ids, the response URL (a presigned URL
#: of about 1,500 characters), the resource type.
ENVELOPE_BYTES = 4096
#: The most a resource's properties may take: twice that, and the envelope, in 1 MB.
MAX_PROPERTIES_BYTES = (carry.EVENT_LIMIT - ENVELOPE_BYTES) // 2
LARGE_REQUEST_WARNING_ID = "constructs-lib:large-request"
_TOKEN = re.compile(r"\$\{Token\[[^\]]+\]\}|-1\.888154589708\d*e\+289")


def _measured(value: Any) -> tuple[str, int]:
    """``value`` as JSON (with the tokens' placeholders), and how many tokens it holds."""
    text = json.dumps(value, separators=(",", ":"), default=lambda _: "${Token[OBJECT]}")
    return text, len(_TOKEN.findall(text))


def estimated_size(value: Any) -> int:
    """The bytes ``value`` may take as CloudFormation delivers it."""
    text, tokens = _measured(value)
    return len(text.encode()) + tokens * TOKEN_BYTES


def _largest_members(request: Any) -> str:
    if not isinstance(request, Mapping):
        return ""
    sizes = sorted(((estimated_size(v), k) for k, v in request.items()), reverse=True)[:3]
    return ", ".join(f"{name} {size:,} bytes" for size, name in sizes)


def check_event_size(
    scope: Construct, properties: Mapping[str, Any], *, request_property: str
) -> None:
    """Refuse properties an Update's event could not carry; warn of ones no wait can."""
    text, tokens = _measured(properties)
    size = len(text.encode()) + tokens * TOKEN_BYTES
    if size > MAX_PROPERTIES_BYTES:
        raise ValueError(
            f"[{scope.node.path}] the job's request: about {size:,} bytes is invalid: "
            f"CloudFormation hands the provider an Update (and a rollback's Update) with "
            f"the old and the new properties in one asynchronous Lambda invocation, of at "
            f"most {carry.EVENT_LIMIT:,} bytes, so a job's properties must stay under "
            f"{MAX_PROPERTIES_BYTES:,} bytes. The largest members: "
            f"{_largest_members(properties.get(request_property))}. Move large values into "
            "the job's code or an input channel."
        )
    # As the handler archives it (carry.archive), the tokens at what they may come to.
    archived = len(carry.pack(f'{{"ResourceProperties":{text}}}')) + tokens * TOKEN_BYTES
    if archived > carry.ARCHIVE_BUDGET:
        Annotations.of(scope).add_warning_v2(
            LARGE_REQUEST_WARNING_ID,
            f"the job's request takes about {archived:,} bytes even compressed, more than "
            f"the {carry.ARCHIVE_BUDGET:,} the provider's waiting state machine can carry "
            "between polls (Step Functions limits a state to 256 KiB): should its Create "
            "be throttled or its quota be full at deploy, the deploy fails at once, naming "
            "the cause, instead of trying again later. The largest members: "
            f"{_largest_members(properties.get(request_property))}.",
        )
