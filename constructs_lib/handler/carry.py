"""What a job's wait carries from one poll to the next: the state handed to the stack's
waiting state machine, which Step Functions limits to 256 KiB (an execution's input,
each state, each task's result).

CloudFormation delivers an event of up to Lambda's 1 MB (an Update: the old and the new
properties), so the state never carries the event whole. It carries what polling needs
(the request type, ids, the response address, the resource's data and its control
properties: completion mode, deadlines, the gate) and never the job's request. Only
while a later invocation still has to send the request (on_event's work deferred by a
throttled or refused call, or a job waiting for a quota slot) does the state carry the
event's properties too, compressed (:data:`ARCHIVE`); a request that does not fit even
so is refused there, with the reason, rather than handed on to break the wait.

Imports only the standard library.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from typing import Any

from .kinds import KINDS
from .progress import PROGRESS

#: Step Functions' limit of an execution's input, of each state and of a task's result.
STATE_LIMIT = 256 * 1024
#: What the waiter's state may take of it: a Lambda task's result wraps the state
#: with the invocation's metadata before ``OutputPath`` picks it.
STATE_BUDGET = 224 * 1024
#: What the compressed properties may take of the state.
ARCHIVE_BUDGET = 192 * 1024
#: Lambda's limit of an asynchronous invocation's payload: the largest event
#: CloudFormation can deliver to the provider.
EVENT_LIMIT = 1024 * 1024
#: The key of the state holding the compressed properties.
ARCHIVE = "Properties"
#: The properties that hold a job's Create request, one per kind.
REQUEST_PROPERTIES = frozenset(kind.request_property for kind in KINDS)
#: The members of an event that polling reads.
_KEPT = (
    "RequestType",
    "ResourceType",
    "ServiceToken",
    "ResponseURL",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "PhysicalResourceId",
    "Data",
    PROGRESS,
)
#: The event's members the archive holds.
_ARCHIVED = ("ResourceProperties", "OldResourceProperties")


class TooLargeToCarry(Exception):  # noqa: N818 (a limit, stated)
    """The event's properties, compressed, are more than the state may carry."""

    def __init__(self, size: int) -> None:
        super().__init__(
            f"its properties take {size:,} bytes even compressed, more than the "
            f"{ARCHIVE_BUDGET:,} the waiting state machine can carry between polls "
            f"(Step Functions limits a state to {STATE_LIMIT:,} bytes)"
        )
        self.size = size


def size(value: Any) -> int:
    """The bytes of ``value`` as JSON (what Step Functions and Lambda count)."""
    return len(json.dumps(value, separators=(",", ":")).encode())


def pack(text: str) -> str:
    """JSON ``text`` compressed, as text a state can hold."""
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode("ascii")


def archive(properties: Mapping[str, Any]) -> str:
    """``properties`` compressed, as text a state can hold."""
    return pack(json.dumps(properties, separators=(",", ":")))


def unarchive(text: str) -> dict[str, Any]:
    """What :func:`archive` packed."""
    restored: dict[str, Any] = json.loads(zlib.decompress(base64.b64decode(text)))
    return restored


def _archived(event: Mapping[str, Any]) -> str:
    """The archive of ``event``'s properties: the one it came with (an event's
    properties never change while it waits: not compressed again at each poll), or
    made now."""
    text = event.get(ARCHIVE)
    return text if isinstance(text, str) else archive(_properties(event))


def archived_size(event: Mapping[str, Any]) -> int:
    """The bytes the archive of ``event``'s properties takes in the state."""
    return len(_archived(event))


def _properties(event: Mapping[str, Any]) -> dict[str, Any]:
    return {key: event[key] for key in _ARCHIVED if key in event}


def carried(event: Mapping[str, Any], *, with_request: bool) -> dict[str, Any]:
    """The event as the state carries it: what polling reads, the properties without
    the request; with ``with_request``, the properties whole as an archive.

    :raises TooLargeToCarry: ``with_request``, and the archive is over its budget.
    """
    kept = {key: event[key] for key in _KEPT if key in event}
    properties = event.get("ResourceProperties") or {}
    kept["ResourceProperties"] = {
        key: value for key, value in properties.items() if key not in REQUEST_PROPERTIES
    }
    if with_request:
        text = _archived(event)
        if len(text) > ARCHIVE_BUDGET:
            raise TooLargeToCarry(len(text))
        kept[ARCHIVE] = text
    return kept


def restored(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event a carried one came from, its properties whole again when archived
    (the archive kept beside them, for the next hand-over)."""
    whole = dict(event)
    text = event.get(ARCHIVE)
    if isinstance(text, str):
        whole.update(unarchive(text))
    return whole
