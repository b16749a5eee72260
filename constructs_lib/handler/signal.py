"""Signal a job's CfnWaitCondition from its state-change event.

The EventBridge rule of a job in ``wait_condition`` mode invokes ``handler`` with
``{"handleUrl": ..., "jobName": ..., "detail": <event detail>}``, plus
``"kind": "tuning"`` for a hyperparameter tuning job (whose events name the job in
``HyperParameterTuningJobName`` and ``HyperParameterTuningJobStatus``), ``"kind":
"processing"`` for a processing job (``ProcessingJobName``, ``ProcessingJobStatus``,
``FailureReason`` and the script's ``ExitMessage``), and
``"kind": "queued"`` for a training job through an AWS Batch queue (AWS Batch's
"Batch Service Job State Change" events, ``jobArn`` and ``status``; ``jobName`` is
then the service job's ARN). SageMaker may send
an event more than once, and a malformed event must not crash the function: such
events are logged and ignored. The signal's UniqueId is the job name, so repeated
signals replace each other instead of adding up.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from .kinds import TRAINING, JobKind, by_key
from .progress import watch_hint_for

TERMINAL = {"Completed": "SUCCESS", "Failed": "FAILURE", "Stopped": "FAILURE"}
MAX_REASON_CHARS = 1000

Put = Callable[[str, dict[str, Any]], None]


def signal_body(
    job_name: str,
    status: str,
    failure_reason: str | None,
    kind: JobKind = TRAINING,
    stack: str | None = None,
) -> dict[str, Any]:
    """The wait condition signal for a job of ``kind`` that ended with ``status`` (in
    the stack named ``stack``, which a failure's reason names for the watch command)."""
    noun = kind.noun
    if status == "Completed":
        reason = f"{noun} {job_name} completed"
    else:
        detail = (failure_reason or "no reason given")[:MAX_REASON_CHARS]
        reason = (
            f"{noun} {job_name} ended {status}: {detail}. Its logs are in the "
            f"CloudWatch log group {kind.log_group}, streams "
            f"{kind.log_streams.format(name=job_name)}.{watch_hint_for(stack)}"
        )
    return {"Status": TERMINAL[status], "Reason": reason, "UniqueId": job_name, "Data": status}


def put_signal(url: str, body: dict[str, Any]) -> None:
    """PUT the signal to the presigned URL (which expects an empty content type)."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def handle_event(event: Any, put: Put) -> str:
    """Signal for one rule event; returns what was done, for the log."""
    if not isinstance(event, Mapping):
        return "ignored: the event is not an object"
    url, expected, detail = event.get("handleUrl"), event.get("jobName"), event.get("detail")
    if not isinstance(url, str) or not url.startswith("https://"):
        return "ignored: no wait condition handle URL"
    if not isinstance(detail, Mapping):
        return "ignored: the event has no detail"
    stack = event.get("stackName") if isinstance(event.get("stackName"), str) else None
    if event.get("kind") == "queued":
        return _handle_service_job_event(url, expected, detail, put, stack)
    kind = by_key(event.get("kind"))
    name, status = detail.get(kind.name_field), detail.get(kind.status_field)
    if not isinstance(name, str) or name != expected:
        return f"ignored: the event is about {name!r}, not {expected!r}"
    if status not in TERMINAL:
        return f"ignored: status {status!r} is not an end"
    reasons = [detail.get(key) for key in ("FailureReason", "ExitMessage")]
    text = ": ".join(r for r in reasons if isinstance(r, str) and r) or None
    put(url, signal_body(name, status, text, kind, stack))
    return f"signalled {TERMINAL[status]} for {name} ({status})"


#: How a service job's end signals its wait condition.
SERVICE_JOB_ENDS = {"SUCCEEDED": "SUCCESS", "FAILED": "FAILURE"}


def service_job_signal(
    name: str, arn: str, status: str, reason: str | None, stack: str | None = None
) -> dict[str, Any]:
    """The wait condition signal for the service job ``arn`` (named ``name``) that
    ended with ``status`` (in the stack named ``stack``)."""
    if status == "SUCCEEDED":
        text = f"Training job {name} completed (AWS Batch service job {arn})"
    else:
        detail = (reason or "no reason given")[:MAX_REASON_CHARS]
        text = (
            f"Training job {name} failed in its AWS Batch queue ({status}): {detail}. Its "
            "training job's logs are in the CloudWatch log group /aws/sagemaker/TrainingJobs, "
            f"streams AWSBatch{name}*.{watch_hint_for(stack)}"
        )
    return {"Status": SERVICE_JOB_ENDS[status], "Reason": text, "UniqueId": name, "Data": status}


def _handle_service_job_event(
    url: str, expected: Any, detail: Mapping[str, Any], put: Put, stack: str | None
) -> str:
    arn, status = detail.get("jobArn"), detail.get("status")
    if not isinstance(arn, str) or arn != expected:
        return f"ignored: the event is about {arn!r}, not {expected!r}"
    if status not in SERVICE_JOB_ENDS:
        return f"ignored: status {status!r} is not an end"
    name = detail.get("jobName") if isinstance(detail.get("jobName"), str) else arn
    reason = detail.get("statusReason")
    text = reason if isinstance(reason, str) else None
    put(url, service_job_signal(str(name), arn, status, text, stack))
    return f"signalled {SERVICE_JOB_ENDS[status]} for {arn} ({status})"


def handler(event: Any, _context: object) -> dict[str, str]:
    """Lambda entry point (``handler.signal.handler``)."""
    outcome = handle_event(event, put_signal)
    print(json.dumps({"outcome": outcome}))
    return {"outcome": outcome}
