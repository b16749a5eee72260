"""What the provider's log says about the jobs it waits for: one JSON line when a job is
created (its name and console link), and one per status transition (status, secondary
status, its message, the latest metrics), so that CloudWatch Logs Insights shows a
deploy's progress, e.g.::

    fields @timestamp, job, status, secondaryStatus, message
    | filter progress = "transition" | sort @timestamp

The last status logged travels with the waiter's event (:data:`PROGRESS`), so a line is
written when the status changes, not at every poll. Also the hint every failure message
ends with: the console command that shows the rest.

Imports only the standard library.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .kinds import PROCESSING, TRANSFORM, TUNING, JobKind

#: The key of the waiter's event holding the last status logged for its job.
PROGRESS = "Progress"

#: The SageMaker console of each partition (the others have none to link to).
_CONSOLES = {
    "aws": "https://{region}.console.aws.amazon.com",
    "aws-us-gov": "https://{region}.console.amazonaws-us-gov.com",
    "aws-cn": "https://{region}.console.amazonaws.cn",
}


#: The console page of each kind of job.
def _arn_parts(stack_id: str) -> tuple[str, str, str]:
    """Partition, region and stack name of a stack ARN (``arn:<partition>:cloudformation:
    <region>:<account>:stack/<name>/<id>``); empty where ``stack_id`` is none."""
    parts = stack_id.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return "", "", ""
    resource = parts[5].split("/")
    return parts[1], parts[3], resource[1] if len(resource) > 1 else ""


def stack_name(stack_id: str) -> str:
    """The name of the stack ``stack_id`` (an ARN) names."""
    return _arn_parts(stack_id)[2]


def watch_hint(stack_id: str) -> str:
    """What every failure message ends with: the command that shows the rest."""
    return watch_hint_for(stack_name(stack_id))


def watch_hint_for(name: str | None) -> str:
    """:func:`watch_hint` of the stack named ``name`` (nothing without a name)."""
    if not name:
        return ""
    return (
        f" `constructs-lib watch {name}` shows each job of the stack, its status "
        "history and the last lines of its log."
    )


def console_url(region: str, kind: JobKind, name: str, partition: str | None = None) -> str | None:
    """The SageMaker console page of the job ``name`` in ``region`` (whose partition
    its name tells, unless given)."""
    if partition is None:
        partition = "aws-cn" if region.startswith("cn-") else "aws"
        partition = "aws-us-gov" if region.startswith("us-gov-") else partition
    console = _CONSOLES.get(partition)
    if console is None or not region:
        return None
    host = console.format(region=region)
    return f"{host}/sagemaker/home?region={region}#/{kind.console_page}/{name}"


def _log(line: Mapping[str, Any]) -> None:
    print(json.dumps(line, default=str, sort_keys=True))


def created(
    event: Mapping[str, Any],
    kind: JobKind,
    name: str,
    *,
    service_job: str | None = None,
    queue: str | None = None,
) -> None:
    """Log the job the event started: its name and where to see it (a queued job: its
    service job and queue; Batch names its training job later)."""
    line: dict[str, Any] = {
        "progress": "created",
        "kind": kind.key,
        "job": name,
        "logicalId": event.get("LogicalResourceId"),
        "stack": stack_name(str(event.get("StackId", ""))),
    }
    if service_job is not None:
        line.update(serviceJob=service_job, queue=queue)
    else:
        partition, region, _ = _arn_parts(str(event.get("StackId", "")))
        line["console"] = console_url(region, kind, name, partition)
    _log(line)


def metrics(description: Mapping[str, Any]) -> dict[str, float]:
    """A training job's latest metric values (its description's FinalMetricDataList)."""
    return {
        str(metric.get("MetricName")): float(metric.get("Value", 0.0))
        for metric in description.get("FinalMetricDataList") or []
    }


def _training_state(description: Mapping[str, Any]) -> dict[str, Any]:
    transitions = description.get("SecondaryStatusTransitions") or []
    message = transitions[-1].get("StatusMessage") if transitions else None
    return {
        "job": description.get("TrainingJobName"),
        "status": description.get("TrainingJobStatus"),
        "secondaryStatus": description.get("SecondaryStatus"),
        "message": message or description.get("FailureReason"),
        "metrics": metrics(description),
    }


def _tuning_state(description: Mapping[str, Any]) -> dict[str, Any]:
    counters = description.get("TrainingJobStatusCounters") or {}
    best = description.get("BestTrainingJob") or {}
    objective = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    return {
        "job": description.get("HyperParameterTuningJobName"),
        "status": description.get("HyperParameterTuningJobStatus"),
        "trainingJobs": {
            key: counters[key]
            for key in ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped")
            if counters.get(key)
        },
        "message": description.get("FailureReason"),
        "best": (
            {
                "job": best.get("TrainingJobName"),
                "metric": objective.get("MetricName"),
                "value": objective.get("Value"),
            }
            if best
            else None
        ),
    }


def _processing_state(description: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "job": description.get("ProcessingJobName"),
        "status": description.get("ProcessingJobStatus"),
        "message": description.get("ExitMessage") or description.get("FailureReason"),
    }


def _transform_state(description: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "job": description.get("TransformJobName"),
        "status": description.get("TransformJobStatus"),
        "message": description.get("FailureReason"),
    }


def _marker(state: Mapping[str, Any]) -> str:
    """What changes at a transition: the statuses (and a tuning job's counts)."""
    keys = ("status", "secondaryStatus", "batchStatus", "trainingJobs")
    return json.dumps([state.get(key) for key in keys], sort_keys=True, default=str)


def _report(event: Mapping[str, Any], state: dict[str, Any]) -> str:
    marker = _marker(state)
    if event.get(PROGRESS) != marker:
        _log({"progress": "transition", "logicalId": event.get("LogicalResourceId"), **state})
    return marker


def transition(event: Mapping[str, Any], kind: JobKind, description: Mapping[str, Any]) -> str:
    """Log the job's state if it changed since the last line (``event[PROGRESS]``);
    returns what to keep in :data:`PROGRESS`."""
    states = {
        TUNING.key: _tuning_state,
        PROCESSING.key: _processing_state,
        TRANSFORM.key: _transform_state,
    }
    state = states.get(kind.key, _training_state)(description)
    return _report(event, {"kind": kind.key, **state})


def queued_transition(
    event: Mapping[str, Any],
    service_job: Mapping[str, Any],
    training_job: Mapping[str, Any] | None,
) -> str:
    """:func:`transition` of a queued job: Batch's status, and its training job's."""
    state: dict[str, Any] = {}
    if training_job is not None:
        # Its status and metrics; "job" stays the name the resource gave it.
        state.update(_training_state(training_job), trainingJob=training_job.get("TrainingJobName"))
    state.update(
        kind="queued",
        serviceJob=service_job.get("jobArn"),
        batchStatus=service_job.get("status"),
        job=service_job.get("jobName"),
    )
    if service_job.get("statusReason"):
        state["message"] = service_job.get("statusReason")
    return _report(event, state)
