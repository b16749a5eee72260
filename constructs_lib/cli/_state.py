"""What each job of a stack is doing: its description (DescribeTrainingJob,
DescribeHyperParameterTuningJob, DescribeServiceJob and its training job) read into a
:class:`JobView`; a job that ended is described once."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..handler.kinds import PROCESSING, TRANSFORM, TUNING
from ..handler.progress import console_url, metrics
from ._aws import Clients, error_code
from ._find import StackState
from ._logs import LogLine, LogReader
from ._template import JobResource

#: Batch's statuses of a service job that has not started its training job yet.
QUEUED_STATUSES = ("SUBMITTED", "PENDING", "RUNNABLE", "SCHEDULED", "STARTING")


class Outcome(enum.Enum):
    """Where a job is, as the exit code counts it."""

    PENDING = "not started"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


@dataclass
class JobView:
    """One job resource of a stack and its job, as a refresh saw them."""

    resource: JobResource
    #: The job's name (a queued job: the service job's), None before it exists.
    job: str | None = None
    outcome: Outcome = Outcome.PENDING
    #: SageMaker's status (a queued job: Batch's), or ``not started``.
    status: str = Outcome.PENDING.value
    secondary: str | None = None
    #: (secondary status, seconds in it) in order; the last one's still running.
    transitions: list[tuple[str, float]] = field(default_factory=list)
    elapsed: float | None = None
    max_runtime: float | None = None
    billable: int | None = None
    #: Metric -> its latest value (None: defined, not reported yet).
    metrics: dict[str, float | None] = field(default_factory=dict)
    #: A tuning job's training jobs by status, how many it may start, its best one.
    counts: dict[str, int] | None = None
    planned: int | None = None
    best: tuple[str, str, float] | None = None
    #: Why it failed or stopped (SageMaker's FailureReason, Batch's reason).
    reason: str | None = None
    #: The training job whose log this job shows (a tuning job: a stream prefix).
    log_prefix: str | None = None
    logs: list[LogLine] = field(default_factory=list)
    console: str | None = None

    @property
    def ended(self) -> bool:
        return self.outcome in (Outcome.COMPLETED, Outcome.FAILED)


_OUTCOMES = {
    "Completed": Outcome.COMPLETED,
    "Failed": Outcome.FAILED,
    "Stopped": Outcome.FAILED,
    "SUCCEEDED": Outcome.COMPLETED,
    "FAILED": Outcome.FAILED,
}


def _seconds(start: Any, end: Any, now: dt.datetime) -> float | None:
    if not isinstance(start, dt.datetime):
        return None
    finish = end if isinstance(end, dt.datetime) else now
    return max(0.0, (finish - start).total_seconds())


def _metrics(description: Mapping[str, Any], defined: list[str]) -> dict[str, float | None]:
    """Each defined metric (None until reported), and every value reported."""
    values: dict[str, float | None] = dict.fromkeys(defined)
    values.update(metrics(description))
    return values


def _defined_metrics(specification: Any) -> list[str]:
    if not isinstance(specification, Mapping):
        return []
    return [str(m.get("Name")) for m in specification.get("MetricDefinitions") or []]


def _transitions(description: Mapping[str, Any], now: dt.datetime) -> list[tuple[str, float]]:
    found = []
    for transition in description.get("SecondaryStatusTransitions") or []:
        seconds = _seconds(transition.get("StartTime"), transition.get("EndTime"), now)
        found.append((str(transition.get("Status")), seconds or 0.0))
    return found


def training_view(
    view: JobView, description: Mapping[str, Any], now: dt.datetime, region: str
) -> None:
    """Fill ``view`` from a DescribeTrainingJob answer."""
    status = str(description.get("TrainingJobStatus"))
    view.job = view.job or str(description.get("TrainingJobName"))
    view.status = status
    view.outcome = _OUTCOMES.get(status, Outcome.RUNNING)
    view.secondary = description.get("SecondaryStatus")
    view.transitions = _transitions(description, now)
    view.elapsed = _seconds(
        description.get("TrainingStartTime") or description.get("CreationTime"),
        description.get("TrainingEndTime"),
        now,
    )
    stopping = description.get("StoppingCondition") or {}
    view.max_runtime = stopping.get("MaxRuntimeInSeconds")
    view.billable = description.get("BillableTimeInSeconds")
    view.metrics = _metrics(
        description, _defined_metrics(description.get("AlgorithmSpecification"))
    )
    view.reason = description.get("FailureReason")
    name = str(description.get("TrainingJobName"))
    view.log_prefix = f"{name}/"
    view.console = console_url(region, view.resource.kind, name)


def processing_view(
    view: JobView, description: Mapping[str, Any], now: dt.datetime, region: str
) -> None:
    """Fill ``view`` from a DescribeProcessingJob answer: its status, time, and why it
    failed (SageMaker's reason and the script's exit message)."""
    status = str(description.get("ProcessingJobStatus"))
    name = str(description.get("ProcessingJobName"))
    view.job = view.job or name
    view.status = status
    view.outcome = _OUTCOMES.get(status, Outcome.RUNNING)
    view.elapsed = _seconds(
        description.get("ProcessingStartTime") or description.get("CreationTime"),
        description.get("ProcessingEndTime"),
        now,
    )
    view.max_runtime = (description.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    reasons = [description.get(key) for key in ("FailureReason", "ExitMessage")]
    view.reason = ": ".join(str(r) for r in reasons if r) or None
    view.log_prefix = f"{name}/"
    view.console = console_url(region, view.resource.kind, name)


def transform_view(
    view: JobView, description: Mapping[str, Any], now: dt.datetime, region: str
) -> None:
    """Fill ``view`` from a DescribeTransformJob answer."""
    status = str(description.get("TransformJobStatus"))
    name = str(description.get("TransformJobName"))
    view.job = view.job or name
    view.status = status
    view.outcome = _OUTCOMES.get(status, Outcome.RUNNING)
    view.elapsed = _seconds(
        description.get("TransformStartTime") or description.get("CreationTime"),
        description.get("TransformEndTime"),
        now,
    )
    view.reason = description.get("FailureReason")
    view.log_prefix = f"{name}/"
    view.console = console_url(region, view.resource.kind, name)


def tuning_view(
    view: JobView, description: Mapping[str, Any], now: dt.datetime, region: str
) -> None:
    """Fill ``view`` from a DescribeHyperParameterTuningJob answer."""
    status = str(description.get("HyperParameterTuningJobStatus"))
    name = str(description.get("HyperParameterTuningJobName"))
    view.job = name
    view.status = status
    view.outcome = _OUTCOMES.get(status, Outcome.RUNNING)
    view.elapsed = _seconds(
        description.get("CreationTime"), description.get("HyperParameterTuningEndTime"), now
    )
    config = description.get("HyperParameterTuningJobConfig") or {}
    limits = config.get("ResourceLimits") or {}
    view.planned = limits.get("MaxNumberOfTrainingJobs")
    view.max_runtime = limits.get("MaxRuntimeInSeconds")
    view.counts = {
        key: int(value)
        for key, value in (description.get("TrainingJobStatusCounters") or {}).items()
        if value
    }
    best = description.get("BestTrainingJob") or {}
    objective = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    if best and objective:
        view.best = (
            str(best.get("TrainingJobName")),
            str(objective.get("MetricName")),
            float(objective.get("Value", 0.0)),
        )
    view.reason = description.get("FailureReason") or None
    view.log_prefix = f"{name}-"
    view.console = console_url(region, TUNING, name)


def queued_view(
    view: JobView,
    service_job: Mapping[str, Any],
    training_job: Mapping[str, Any] | None,
    now: dt.datetime,
    region: str,
) -> None:
    """Fill ``view`` from a DescribeServiceJob answer and (once Batch started it) its
    latest attempt's training job."""
    if training_job is not None:
        training_view(view, training_job, now, region)
    view.job = str(service_job.get("jobName"))
    status = str(service_job.get("status"))
    view.status = status
    outcome = _OUTCOMES.get(status)
    if outcome is not None:
        view.outcome = outcome
    elif status in QUEUED_STATUSES and training_job is None:
        view.outcome = Outcome.PENDING
    else:
        view.outcome = Outcome.RUNNING
    if training_job is None:
        created = service_job.get("createdAt")
        if isinstance(created, int | float):
            start = dt.datetime.fromtimestamp(created / 1000, dt.UTC)
            view.elapsed = _seconds(start, None, now)
    if service_job.get("statusReason") and view.outcome is Outcome.FAILED:
        training_reason = view.reason
        view.reason = str(service_job["statusReason"]) + (
            f" (training job: {training_reason})" if training_reason else ""
        )


def _training_job_name(service_job: Mapping[str, Any]) -> str | None:
    attempt = service_job.get("latestAttempt") or {}
    arn = (attempt.get("serviceResourceId") or {}).get("value")
    if isinstance(arn, str) and ":training-job/" in arn:
        return arn.rsplit("/", 1)[1]
    return None


class Describer:
    """Describes the jobs a :class:`StackState` found, each ended job once."""

    def __init__(self, clients: Clients, logs: LogReader, *, log_lines: int) -> None:
        self._clients = clients
        self._logs = logs
        self._log_lines = log_lines
        self._ended: dict[tuple[str, str], JobView] = {}

    def stack(self, state: StackState, now: dt.datetime) -> StackView:
        """Each job of the stack ``state`` found."""
        jobs = [self.view(r, state.jobs.get(r.logical_id), now) for r in state.resources]
        return StackView(state, jobs)

    def view(self, resource: JobResource, job: str | None, now: dt.datetime) -> JobView:
        if job is None:
            return JobView(resource)
        cached = self._ended.get((resource.logical_id, job))
        if cached is not None:
            return cached
        view = JobView(resource, job=job)
        region = self._clients.region
        try:
            if resource.queued:
                service_job = self._clients.batch.describe_service_job(jobId=job)
                name = _training_job_name(service_job)
                training_job = (
                    self._clients.sagemaker.describe_training_job(TrainingJobName=name)
                    if name
                    else None
                )
                queued_view(view, service_job, training_job, now, region)
            elif resource.kind is TRANSFORM:
                transform = self._clients.sagemaker.describe_transform_job(TransformJobName=job)
                transform_view(view, transform, now, region)
            elif resource.kind is PROCESSING:
                processing = self._clients.sagemaker.describe_processing_job(ProcessingJobName=job)
                processing_view(view, processing, now, region)
            elif resource.kind is TUNING:
                tuning = self._clients.sagemaker.describe_hyper_parameter_tuning_job(
                    HyperParameterTuningJobName=job
                )
                tuning_view(view, tuning, now, region)
            else:
                training = self._clients.sagemaker.describe_training_job(TrainingJobName=job)
                training_view(view, training, now, region)
        except Exception as error:
            if error_code(error) in ("ValidationException", "ResourceNotFound", "ClientException"):
                return JobView(resource, job=job)  # named, not created (yet)
            raise
        # A completed job's last lines too: read once (an ended view is kept), as its
        # log no longer changes.
        shown = (Outcome.RUNNING, Outcome.FAILED, Outcome.COMPLETED)
        if view.outcome in shown and view.log_prefix:
            view.logs = self._logs.tail(
                view.log_prefix, self._log_lines, view.resource.kind.log_group
            )
        if view.ended:
            self._ended[(resource.logical_id, job)] = view
        return view


@dataclass
class StackView:
    """A stack and its jobs, as one refresh saw them."""

    state: StackState
    jobs: list[JobView]
