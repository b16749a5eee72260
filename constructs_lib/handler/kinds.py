"""The kinds of SageMaker job the provider runs through one lifecycle: what differs
between a training job and a hyperparameter tuning job is data, not code.

Imports only the standard library, so the construct library can use it without botocore.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobKind:
    """One kind of SageMaker job, as the lifecycle and the construct see it."""

    #: ``training``, ``tuning``, ``processing`` or ``transform``.
    key: str
    #: How messages name a job of this kind ("Training job", ...).
    noun: str
    #: The API's name for the job in operation names (``Create<api_name>`` ...).
    api_name: str
    #: The custom resource type of the job itself.
    resource_type: str
    #: The resource property holding the Create request.
    request_property: str
    #: The custom resource types reading a finished job's attributes after its wait
    #: condition, and signalling the wait condition of a job that ended early.
    result_resource_type: str
    signal_resource_type: str
    #: The property of result and signal resources naming the job.
    name_property: str
    #: Fields of the request and the description.
    name_field: str
    arn_field: str
    status_field: str
    end_time_field: str
    #: The ARN's resource type (``arn:...:sagemaker:<region>:<account>:<arn_resource>/<name>``).
    arn_resource: str
    #: The API's limit of a name.
    max_name_length: int
    #: Generated names when the resource gives no prefix.
    default_prefix: str
    #: The EventBridge detail-type of the job's state changes.
    detail_type: str
    #: Request members that change without a new job (by tags or the Update call).
    updatable_members: tuple[str, ...]
    updatable_resource_members: tuple[str, ...]
    #: Whether ``Update<api_name>`` exists.
    has_update_operation: bool
    #: Whether ``Delete<api_name>`` exists (a transform job's record cannot be deleted).
    has_delete_operation: bool = True
    #: Where the request holds its training job's definition (a dotted path's start):
    #: the request itself, or a tuning job's ``TrainingJobDefinition.``.
    definition_path: str = ""
    #: The CloudWatch log group of the job's containers, and its streams' names
    #: (``{name}``: the job's).
    log_group: str = "/aws/sagemaker/TrainingJobs"
    log_streams: str = "{name}/*"
    #: The SageMaker console's page of such jobs (``#/<page>/<name>``).
    console_page: str = "jobs"
    #: The usage SageMaker's instance quotas name (``ml.m5.xlarge for <usage> usage``).
    quota_usage: str = "training job"

    @property
    def create_operation(self) -> str:
        return f"Create{self.api_name}"

    @property
    def describe_operation(self) -> str:
        return f"Describe{self.api_name}"

    @property
    def stop_operation(self) -> str:
        return f"Stop{self.api_name}"

    @property
    def delete_operation(self) -> str:
        return f"Delete{self.api_name}"

    @property
    def update_operation(self) -> str:
        return f"Update{self.api_name}"

    @property
    def name_pattern(self) -> re.Pattern[str]:
        """The API's name pattern, with its length limit."""
        return re.compile(rf"^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,{self.max_name_length - 1}}}$")

    def is_name(self, value: str) -> bool:
        """Whether ``value`` can be a job name of this kind at all."""
        return len(value) <= self.max_name_length and self.name_pattern.match(value) is not None

    def without_in_place(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The part of a Create request whose change needs a new job."""
        kept = {k: v for k, v in request.items() if k not in self.updatable_members}
        resources = kept.get("ResourceConfig")
        if isinstance(resources, Mapping):
            kept["ResourceConfig"] = {
                k: v for k, v in resources.items() if k not in self.updatable_resource_members
            }
        return kept

    def request_hash(self, request: Mapping[str, Any]) -> str:
        """A digest of :meth:`without_in_place` of ``request`` as the resource requests
        it (with its fixed name, if any; without the generated one): two requests have
        the same digest exactly when one job serves both."""
        text = json.dumps(
            self.without_in_place(request), sort_keys=True, separators=(",", ":"), default=str
        )
        return hashlib.sha256(text.encode()).hexdigest()[:REQUEST_HASH_CHARS]


REQUEST_HASH_CHARS = 32

TRAINING = JobKind(
    key="training",
    noun="Training job",
    api_name="TrainingJob",
    resource_type="Custom::SageMakerTrainingJob",
    request_property="TrainingJobRequest",
    result_resource_type="Custom::SageMakerTrainingJobResult",
    signal_resource_type="Custom::SageMakerTrainingJobSignal",
    name_property="TrainingJobName",
    name_field="TrainingJobName",
    arn_field="TrainingJobArn",
    status_field="TrainingJobStatus",
    end_time_field="TrainingEndTime",
    arn_resource="training-job",
    max_name_length=63,
    default_prefix="training-job",
    detail_type="SageMaker Training Job State Change",
    # Tags (AddTags/DeleteTags) and what UpdateTrainingJob accepts.
    updatable_members=("Tags", "ProfilerConfig", "ProfilerRuleConfigurations", "RemoteDebugConfig"),
    updatable_resource_members=("KeepAlivePeriodInSeconds",),
    has_update_operation=True,
)

TUNING = JobKind(
    key="tuning",
    noun="Hyperparameter tuning job",
    api_name="HyperParameterTuningJob",
    resource_type="Custom::SageMakerHyperparameterTuningJob",
    request_property="TuningJobRequest",
    result_resource_type="Custom::SageMakerTuningJobResult",
    signal_resource_type="Custom::SageMakerTuningJobSignal",
    name_property="TuningJobName",
    name_field="HyperParameterTuningJobName",
    arn_field="HyperParameterTuningJobArn",
    status_field="HyperParameterTuningJobStatus",
    end_time_field="HyperParameterTuningEndTime",
    arn_resource="hyper-parameter-tuning-job",
    max_name_length=32,
    default_prefix="tuning",
    detail_type="SageMaker HyperParameter Tuning Job State Change",
    # Tags only: there is no UpdateHyperParameterTuningJob.
    updatable_members=("Tags",),
    updatable_resource_members=(),
    has_update_operation=False,
    definition_path="TrainingJobDefinition.",
    # Its training jobs log to streams named after it.
    log_streams="{name}-*",
    console_page="hyper-tuning-jobs",
)

PROCESSING = JobKind(
    key="processing",
    noun="Processing job",
    api_name="ProcessingJob",
    resource_type="Custom::SageMakerProcessingJob",
    request_property="ProcessingJobRequest",
    result_resource_type="Custom::SageMakerProcessingJobResult",
    signal_resource_type="Custom::SageMakerProcessingJobSignal",
    name_property="ProcessingJobName",
    name_field="ProcessingJobName",
    arn_field="ProcessingJobArn",
    status_field="ProcessingJobStatus",
    end_time_field="ProcessingEndTime",
    arn_resource="processing-job",
    max_name_length=63,
    default_prefix="processing-job",
    detail_type="SageMaker Processing Job State Change",
    # Tags only: there is no UpdateProcessingJob.
    updatable_members=("Tags",),
    updatable_resource_members=(),
    has_update_operation=False,
    log_group="/aws/sagemaker/ProcessingJobs",
    console_page="processing-jobs",
    quota_usage="processing job",
)

TRANSFORM = JobKind(
    key="transform",
    noun="Transform job",
    api_name="TransformJob",
    resource_type="Custom::SageMakerTransformJob",
    request_property="TransformJobRequest",
    result_resource_type="Custom::SageMakerTransformJobResult",
    signal_resource_type="Custom::SageMakerTransformJobSignal",
    name_property="TransformJobName",
    name_field="TransformJobName",
    arn_field="TransformJobArn",
    status_field="TransformJobStatus",
    end_time_field="TransformEndTime",
    arn_resource="transform-job",
    max_name_length=63,
    default_prefix="transform-job",
    detail_type="SageMaker Transform Job State Change",
    # Tags only: there is neither UpdateTransformJob nor DeleteTransformJob.
    updatable_members=("Tags",),
    updatable_resource_members=(),
    has_update_operation=False,
    has_delete_operation=False,
    log_group="/aws/sagemaker/TransformJobs",
    console_page="transform-jobs",
    quota_usage="transform job",
)

KINDS = (TRAINING, TUNING, PROCESSING, TRANSFORM)
_BY_RESOURCE_TYPE = {
    resource_type: (kind, role)
    for kind in KINDS
    for resource_type, role in (
        (kind.resource_type, "job"),
        (kind.result_resource_type, "result"),
        (kind.signal_resource_type, "signal"),
    )
}


def by_resource_type(resource_type: str | None) -> tuple[JobKind, str]:
    """The kind of job a custom resource is about, and its role: ``job``, ``result``
    or ``signal``. An unknown type is a training job (the only kind of 0.1)."""
    return _BY_RESOURCE_TYPE.get(resource_type or "", (TRAINING, "job"))


def by_key(key: str | None) -> JobKind:
    """The kind named ``key``; a missing key is a training job."""
    for kind in KINDS:
        if kind.key == key:
            return kind
    return TRAINING


#: Every SageMaker operation the handler calls: the operations of each kind, the tags,
#: and DescribeTrainingJob (a tuning job's best training job). The handler ships the
#: SageMaker model of exactly these (``handler/models``, see ``models.py``).
SAGEMAKER_OPERATIONS = tuple(
    sorted(
        {
            operation
            for kind in KINDS
            for operation in (
                kind.create_operation,
                kind.describe_operation,
                kind.stop_operation,
                *((kind.delete_operation,) if kind.has_delete_operation else ()),
                *((kind.update_operation,) if kind.has_update_operation else ()),
            )
        }
        | {"AddTags", "DeleteTags", "ListTags", "DescribeTrainingJob"}
    )
)
