"""Lambda entry points of the training job provider (``handler.index.on_event`` etc.)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from . import lifecycle

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

# botocore's standard retry mode backs off on throttling and transient errors.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8})
_client: SageMakerClient | None = None


def _sagemaker() -> SageMakerClient:
    global _client  # noqa: PLW0603 - one client per Lambda container, made on first use
    if _client is None:
        _client = boto3.client("sagemaker", config=_CONFIG)
    return _client


def _log(entry: str, event: dict[str, Any]) -> None:
    shown = {k: v for k, v in event.items() if k != "ResponseURL"}
    print(json.dumps({"entry": entry, "event": shown}, default=str))


def on_event(event: dict[str, Any], _context: object) -> dict[str, Any]:
    """Provider framework ``onEvent`` handler."""
    _log("on_event", event)
    return lifecycle.on_event(event, _sagemaker())


def is_complete(event: dict[str, Any], _context: object) -> dict[str, Any]:
    """Provider framework ``isComplete`` handler."""
    _log("is_complete", event)
    return lifecycle.is_complete(event, _sagemaker())
