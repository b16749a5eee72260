"""What every training job has, one of the stack's or an imported one: its name,
ARN and model, rules on its state changes, and its instance metrics."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ..core._events import StateChangeRules
from ..core._job import derived_job_arn
from ..handler.kinds import TRAINING, JobKind
from ..provider import METRICS_NAMESPACE


class ITrainingJob(StateChangeRules, Construct):
    """A training job: one of this stack (:class:`TrainingJob`) or an existing one
    (:meth:`TrainingJob.from_training_job_name`)."""

    @property
    def training_job_name(self) -> str:
        """The job's name."""
        raise NotImplementedError

    @property
    def training_job_arn(self) -> str:
        """The job's ARN."""
        raise NotImplementedError

    @property
    def model_data_url(self) -> str:
        """The S3 URI of the job's ``model.tar.gz``."""
        raise NotImplementedError

    # -- events (StateChangeRules) ---------------------------------------

    def _state_change_subject(self) -> tuple[JobKind, str]:
        return TRAINING, self.training_job_name

    def _rule_names(self, job_name: str) -> Any:
        """What the job's rules match by name: the job (a job with a schedule: its
        runs too)."""
        from ..schedule._scheduling import rule_names  # noqa: PLC0415 - light, no import cycle

        return rule_names(self, job_name)

    # -- CloudWatch metrics -------------------------------------------------

    def metric_instance(
        self,
        metric_name: str,
        *,
        host: str = "algo-1",
        period: Duration | None = None,
        statistic: str = "Average",
    ) -> cloudwatch.Metric:
        """An instance metric SageMaker publishes for the job (namespace
        ``/aws/sagemaker/TrainingJobs``, dimension ``Host`` = ``<job>/<host>``)."""
        return cloudwatch.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name=metric_name,
            dimensions_map={"Host": f"{self.training_job_name}/{host}"},
            period=period or Duration.minutes(1),
            statistic=statistic,
        )

    def metric_cpu_utilization(self, *, host: str = "algo-1") -> cloudwatch.Metric:
        """The CPU utilization of instance ``host`` (percent, 1-minute average)."""
        return self.metric_instance("CPUUtilization", host=host)

    def metric_memory_utilization(self, *, host: str = "algo-1") -> cloudwatch.Metric:
        """The memory utilization of instance ``host`` (percent, 1-minute average)."""
        return self.metric_instance("MemoryUtilization", host=host)

    def metric_gpu_utilization(self, *, host: str = "algo-1") -> cloudwatch.Metric:
        """The GPU utilization of instance ``host`` (percent, 1-minute average)."""
        return self.metric_instance("GPUUtilization", host=host)

    def metric_gpu_memory_utilization(self, *, host: str = "algo-1") -> cloudwatch.Metric:
        """The GPU memory utilization of instance ``host`` (percent, 1-minute average)."""
        return self.metric_instance("GPUMemoryUtilization", host=host)

    def metric_disk_utilization(self, *, host: str = "algo-1") -> cloudwatch.Metric:
        """The disk utilization of instance ``host`` (percent, 1-minute average)."""
        return self.metric_instance("DiskUtilization", host=host)


class _ImportedTrainingJob(ITrainingJob):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        arn: str | None,
        model_data_url: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._name = name
        self._arn = arn or derived_job_arn(self, TRAINING, name)
        self._model_data_url = model_data_url

    @property
    def training_job_name(self) -> str:
        return self._name

    @property
    def training_job_arn(self) -> str:
        return self._arn

    @property
    def model_data_url(self) -> str:
        if self._model_data_url is None:
            raise ValueError(
                f"[{self.node.path}] model_data_url: None is invalid: an imported job knows "
                "its model artifacts only when given: use "
                "TrainingJob.from_training_job_attributes(..., model_data_url=...)"
            )
        return self._model_data_url
