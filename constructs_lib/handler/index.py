"""Lambda entry point of the training job provider: ``handler.index.handle``, the
custom resources' service token (see :mod:`waiter`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.config import Config

from . import judge, lifecycle, models, waiter
from .properties import waiting_state_machine_arn

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_s3 import S3Client

# botocore's standard retry mode backs off on transient errors beneath our own retries.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
_runtime: lifecycle.Runtime | None = None
_starter: Any = None
# The shipped SageMaker model first (see models.py), made on first use.
_session: boto3.Session | None = None


def _boto() -> boto3.Session:
    global _session  # noqa: PLW0603
    if _session is None:
        _session = models.session()
    return _session


def _ec2() -> EC2Client:
    client: EC2Client = _boto().client("ec2", config=_CONFIG)
    return client


def _cloudformation() -> CloudFormationClient:
    client: CloudFormationClient = _boto().client("cloudformation", config=_CONFIG)
    return client


def _batch() -> BatchClient:
    client: BatchClient = _boto().client("batch", config=_CONFIG)
    return client


def _s3() -> S3Client:
    client: S3Client = _boto().client("s3", config=_CONFIG)
    return client


def runtime() -> lifecycle.Runtime:
    """One runtime (and so one client each) per Lambda container, made on first use."""
    global _runtime  # noqa: PLW0603
    if _runtime is None:
        _runtime = lifecycle.Runtime(
            sagemaker=_boto().client("sagemaker", config=_CONFIG),
            ec2_factory=_ec2,
            cloudformation_factory=_cloudformation,
            batch_factory=_batch,
            s3_factory=_s3,
        )
    return _runtime


def _start_execution() -> Any:
    """Step Functions' StartExecution, for the hand-over; one client per container."""
    global _starter  # noqa: PLW0603
    if _starter is None:
        _starter = _boto().client("stepfunctions", config=_CONFIG).start_execution
    return _starter


def _log(entry: str, event: dict[str, Any]) -> None:
    shown = {k: v for k, v in event.items() if k != "ResponseURL"}
    print(json.dumps({"entry": entry, "event": shown}, default=str))


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The custom resources' service token, and the waiting state machine's task:
    answers CloudFormation itself (waiter); returns the state to go on with. Also the
    verdict step of a scheduled run's state machine (:mod:`judge`)."""
    if judge.JUDGE in event:
        _log("judge", event[judge.JUDGE])
        verdict = judge.judge(event[judge.JUDGE], runtime())
        print(json.dumps({"verdict": verdict}))
        return verdict
    shown = event.get(waiter.CONTINUATION, {}).get("Event", event)
    _log("continue" if waiter.CONTINUATION in event else "event", shown)
    machine = waiting_state_machine_arn(context.invoked_function_arn)
    services = waiter.LambdaServices(_start_execution(), machine)
    result = waiter.handle(event, runtime(), services)
    print(json.dumps({"outcome": result["Outcome"]}))
    return result
