"""What a finished job gives the stack (its attributes, a tuning job's best training
job, once its model passed the quality gate: ``quality_gate=``, read from the
description the provider already has) and the messages of a job that failed."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from .calls import _describe
from .gate import misses
from .kinds import PROCESSING, TRAINING, TRANSFORM, TUNING, JobKind
from .properties import QUALITY_GATE
from .report import output_uri, read_report
from .runtime import (
    MAX_DATA_BYTES,
    MAX_REASON_CHARS,
    Description,
    Runtime,
    TrainingJobError,
    truncate,
)


def _attributes(
    runtime: Runtime,
    kind: JobKind,
    description: Description,
    properties: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The attributes of a completed job, once its model passed the quality gate of
    the resource ``properties`` (none: no gate, as for a rollback's old job)."""
    if kind is PROCESSING:
        return processing_attributes(runtime, description, properties or {})
    if kind is TRANSFORM:
        return transform_attributes(description)
    if kind is TUNING:
        best = _best_training_job(runtime, description)
        check_gate(
            properties or {},
            best,
            f"Hyperparameter tuning job {description['HyperParameterTuningJobName']} (its "
            f"best training job {best['TrainingJobName']})",
        )
        return tuning_attributes(description, best)
    check_gate(properties or {}, description, f"Training job {description['TrainingJobName']}")
    return attributes(description)


def attributes(description: Description) -> dict[str, str]:
    """The attributes a completed job exposes to the stack (``Fn::GetAtt``)."""
    data = {
        "TrainingJobName": description["TrainingJobName"],
        "TrainingJobArn": description["TrainingJobArn"],
        "ModelArtifacts": description.get("ModelArtifacts", {}).get("S3ModelArtifacts", ""),
        "TrainingJobStatus": description["TrainingJobStatus"],
        "BillableTimeInSeconds": str(description.get("BillableTimeInSeconds", 0)),
        "TrainingTimeInSeconds": str(description.get("TrainingTimeInSeconds", 0)),
    }
    metrics = (
        (f"Metric.{metric.get('MetricName', '')}", repr(float(metric.get("Value", 0.0))))
        for metric in description.get("FinalMetricDataList", [])
    )
    return _within_limit(data, metrics)


def _within_limit(data: dict[str, str], more: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``data`` and as many of the ``more`` entries, in order, as the custom resource's
    response holds (:data:`MAX_DATA_BYTES`)."""
    size = len(json.dumps(data))
    for key, value in more:
        size += len(json.dumps({key: value})) - 1
        if size > MAX_DATA_BYTES:
            break
        data[key] = value
    return data


def processing_attributes(
    runtime: Runtime, description: Description, properties: Mapping[str, Any]
) -> dict[str, str]:
    """The attributes of a completed processing job: its name, ARN and status, the S3
    URI of each output (``Output.<name>``), and with a report (:data:`REPORT` of the
    resource ``properties``) its URI and metrics, once they passed the quality gate."""
    name = description["ProcessingJobName"]
    data = {
        "ProcessingJobName": name,
        "ProcessingJobArn": description["ProcessingJobArn"],
        "ProcessingJobStatus": description["ProcessingJobStatus"],
    }
    for item in (description.get("ProcessingOutputConfig") or {}).get("Outputs") or []:
        uri = output_uri(description, str(item.get("OutputName", "")))
        if uri is not None:
            data[f"Output.{item['OutputName']}"] = uri
    report = read_report(runtime, description, properties)
    if report is None:
        return data
    uri, metrics = report
    data["ReportUri"] = uri
    gate = properties.get(QUALITY_GATE)
    missed = misses(gate, metrics) if gate else []
    if missed:
        reported = ", ".join(f"{k} = {v:g}" for k, v in sorted(metrics.items()))
        raise TrainingJobError(
            f"Processing job {name} completed, but its evaluation report {uri} does not "
            f"pass the quality gate: {'; '.join(missed)} (the report's metrics: {reported}). "
            "The stack does not use what was evaluated: CloudFormation rolls back, and on "
            "an update the stack keeps what it had. Improve the model or change "
            "quality_gate, then deploy again."
        )
    return _within_limit(
        data, ((f"Metric.{metric}", repr(value)) for metric, value in sorted(metrics.items()))
    )


def transform_attributes(description: Description) -> dict[str, str]:
    """The attributes of a completed transform job: its name, ARN and status, and where
    it wrote its predictions (``OutputUri``: its own folder)."""
    return {
        "TransformJobName": description["TransformJobName"],
        "TransformJobArn": description["TransformJobArn"],
        "TransformJobStatus": description["TransformJobStatus"],
        "OutputUri": str((description.get("TransformOutput") or {}).get("S3OutputPath", "")),
    }


def tuning_attributes(description: Description, best: Description) -> dict[str, str]:
    """The attributes a completed tuning job exposes: its own, and those of its best
    training job (``best``, as DescribeTrainingJob returns it): the model artifacts,
    the objective's final value and the tuned hyperparameters (as many as fit the
    response)."""
    summary = description.get("BestTrainingJob") or {}
    objective = summary.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    counters = description.get("TrainingJobStatusCounters") or {}
    data = {
        "HyperParameterTuningJobName": description["HyperParameterTuningJobName"],
        "HyperParameterTuningJobArn": description["HyperParameterTuningJobArn"],
        "HyperParameterTuningJobStatus": description["HyperParameterTuningJobStatus"],
        "BestTrainingJobName": best["TrainingJobName"],
        "BestTrainingJobArn": best["TrainingJobArn"],
        "BestModelArtifacts": best.get("ModelArtifacts", {}).get("S3ModelArtifacts", ""),
        "BestObjectiveMetric": str(objective.get("MetricName", "")),
        "BestObjectiveValue": repr(float(objective.get("Value", 0.0))),
        "TrainingJobsCompleted": str(counters.get("Completed", 0)),
    }
    tuned = sorted((summary.get("TunedHyperParameters") or {}).items())
    return _within_limit(data, ((f"BestHyperParameter.{k}", str(v)) for k, v in tuned))


def _best_training_job(runtime: Runtime, description: Description) -> Description:
    """DescribeTrainingJob of a completed tuning job's best training job."""
    name = description["HyperParameterTuningJobName"]
    summary = description.get("BestTrainingJob")
    if not summary:
        counters = description.get("ObjectiveStatusCounters") or {}
        raise TrainingJobError(
            f"Hyperparameter tuning job {name} completed without a best training job: "
            f"no training job reported the objective metric ({counters.get('Succeeded', 0)} "
            f"succeeded, {counters.get('Failed', 0)} failed to report it). Check that the "
            "objective's metric name matches a metric definition (or a built-in "
            "algorithm's metric), and the training jobs' logs in the CloudWatch log group "
            f"/aws/sagemaker/TrainingJobs, streams {name}-*."
        )
    best = _describe(runtime, TRAINING, str(summary["TrainingJobName"]))
    if best is None:
        raise TrainingJobError(
            f"The best training job {summary['TrainingJobName']} of hyperparameter tuning "
            f"job {name} no longer exists, so its model artifacts cannot be read: it was "
            "deleted outside CloudFormation. Deploy again to start a new tuning job."
        )
    return best


def _failure_message(kind: JobKind, description: Description) -> str:
    if kind is TUNING:
        return tuning_failure_message(description)
    if kind is PROCESSING:
        return processing_failure_message(description)
    if kind is TRANSFORM:
        return transform_failure_message(description)
    return failure_message(description)


def failure_reason(description: Description) -> str | None:
    """Why a job ended: SageMaker's FailureReason, and a processing job's ExitMessage
    (what its script said when it exited)."""
    reasons = [description.get(key) for key in ("FailureReason", "ExitMessage")]
    return ": ".join(str(r) for r in reasons if r) or None


def processing_failure_message(description: Description) -> str:
    """What CloudFormation shows when a processing job ends without completing."""
    name = description["ProcessingJobName"]
    status = description["ProcessingJobStatus"]
    reason = description.get("FailureReason") or "no reason given"
    exit_message = description.get("ExitMessage")
    said = (
        f" Its exit message: {truncate(str(exit_message), MAX_REASON_CHARS // 2)}."
        if exit_message
        else ""
    )
    return (
        f"Processing job {name} ended {status}: {truncate(reason, MAX_REASON_CHARS // 2)}."
        f"{said} Its logs are in the CloudWatch log group {PROCESSING.log_group}, "
        f"streams {name}/*. Fix the cause and deploy again."
    )


def transform_failure_message(description: Description) -> str:
    """What CloudFormation shows when a transform job ends without completing."""
    name = description["TransformJobName"]
    status = description["TransformJobStatus"]
    reason = description.get("FailureReason") or "no reason given"
    return (
        f"Transform job {name} ended {status}: {truncate(reason, MAX_REASON_CHARS)}. "
        f"Its logs are in the CloudWatch log group {TRANSFORM.log_group}, streams "
        f"{name}/* (the model's container, and its data log). Fix the cause and deploy "
        "again."
    )


def tuning_failure_message(description: Description) -> str:
    """What CloudFormation shows when a tuning job ends without completing."""
    name = description["HyperParameterTuningJobName"]
    status = description["HyperParameterTuningJobStatus"]
    reason = description.get("FailureReason") or "no reason given"
    counters = description.get("TrainingJobStatusCounters") or {}
    jobs = ", ".join(
        f"{counters[key]} {label}"
        for key, label in (
            ("Completed", "completed"),
            ("InProgress", "in progress"),
            ("RetryableError", "failed with a retryable error"),
            ("NonRetryableError", "failed"),
            ("Stopped", "stopped"),
        )
        if counters.get(key)
    )
    return (
        f"Hyperparameter tuning job {name} ended {status}: "
        f"{truncate(reason, MAX_REASON_CHARS)}. Its training jobs: {jobs or 'none'}; their "
        f"logs are in the CloudWatch log group /aws/sagemaker/TrainingJobs, streams "
        f"{name}-*. Fix the cause and deploy again."
    )


def failure_message(description: Description) -> str:
    """What CloudFormation shows when the job ends without completing."""
    name = description["TrainingJobName"]
    status = description["TrainingJobStatus"]
    reason = description.get("FailureReason") or "no reason given"
    secondary = description.get("SecondaryStatus")
    detail = f" (secondary status {secondary})" if secondary else ""
    return (
        f"Training job {name} ended {status}{detail}: {truncate(reason, MAX_REASON_CHARS)}. "
        f"Its logs are in the CloudWatch log group /aws/sagemaker/TrainingJobs, streams "
        f"{name}/*. Fix the cause and deploy again."
    )


def final_metrics(description: Description) -> dict[str, float]:
    """A training job's final metrics, by name."""
    return {
        str(item.get("MetricName", "")): float(item.get("Value", math.nan))
        for item in description.get("FinalMetricDataList") or []
    }


def check_gate(properties: Mapping[str, Any], description: Description, what: str) -> None:
    """Fail unless the job ``description`` names (``what`` says which, for the
    message) meets the gate of the resource ``properties``."""
    gate = properties.get(QUALITY_GATE)
    if not gate:
        return
    metrics = final_metrics(description)
    missed = misses(gate, metrics)
    if not missed:
        return
    reported = ", ".join(f"{k} = {v:g}" for k, v in sorted(metrics.items())) or "none"
    raise TrainingJobError(
        f"{what} completed, but its model does not pass the quality gate: "
        f"{'; '.join(missed)} (its final metrics: {reported}). The model is not used: "
        "CloudFormation rolls back, and on an update the stack keeps the model it had. "
        "Improve the training or change quality_gate, then deploy again."
    )
