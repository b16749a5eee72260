"""The CreateTrainingJob request of a TrainingJob, rendered from its props.

Pure: :func:`render_request` turns :class:`TrainingJobProps` and a role ARN into the
request dict in the API's own shape and casing (values may be CDK tokens). One small
``render_*`` function per section.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_cdk import Duration, Size, SizeRoundingBehavior
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms

from .._shared.remembered import seconds
from ._code import TrainingCode
from ._config import (
    Checkpoint,
    ExperimentConfig,
    InstanceGroup,
    InstancePlacement,
    MetricDefinition,
    MlflowConfig,
    ModelPackageConfig,
    ServerlessJobConfig,
    prune,
)
from ._data import InputMode, TrainingInput, TrainingOutput
from ._debugger import DebugHookConfig, ProfilerConfig, RuleConfiguration, TensorBoardOutput
from ._distribution import Distribution
from ._image import ImageConfig, TrainingImage
from ._instance_type import InstanceType

DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
DEFAULT_VOLUME_GIB = 30


@dataclass(frozen=True, kw_only=True)
class TrainingJobProps:
    """Everything a :class:`~constructs_lib.TrainingJob` renders into its request.
    See ``TrainingJob`` for each prop's meaning and default."""

    image: TrainingImage | None = None
    output: TrainingOutput
    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: Sequence[ec2.ISecurityGroup] | None = None
    inputs: Sequence[TrainingInput] = ()
    input_mode: InputMode = InputMode.FILE
    metric_definitions: Sequence[MetricDefinition] = ()
    enable_metrics_time_series: bool | None = None
    container_entrypoint: Sequence[str] | None = None
    container_arguments: Sequence[str] | None = None
    instance_type: InstanceType | None = None
    instance_count: int | None = None
    instance_groups: Sequence[InstanceGroup] = ()
    instance_placement: InstancePlacement | None = None
    volume_size: Size | None = None
    volume_encryption_key: kms.IKey | None = None
    keep_alive: Duration | None = None
    max_runtime: Duration | None = None
    max_wait: Duration | None = None
    max_pending: Duration | None = None
    spot_training: bool | None = None
    checkpoint: Checkpoint | None = None
    hyperparameters: Mapping[str, Any] | None = None
    code: TrainingCode | None = None
    distribution: Distribution | None = None
    environment: Mapping[str, str] | None = None
    tags: Mapping[str, str] | None = None
    training_job_name: str | None = None
    network_isolation: bool | None = None
    inter_container_traffic_encryption: bool | None = None
    max_retry_attempts: int | None = None
    debug_hook: DebugHookConfig | None = None
    debug_rules: Sequence[RuleConfiguration] = ()
    profiler: ProfilerConfig | None = None
    profiler_rules: Sequence[RuleConfiguration] = ()
    tensor_board_output: TensorBoardOutput | None = None
    experiment: ExperimentConfig | None = None
    infra_check: bool | None = None
    remote_debug: bool | None = None
    session_tag_chaining: bool | None = None
    mlflow: MlflowConfig | None = None
    serverless: ServerlessJobConfig | None = None
    model_package: ModelPackageConfig | None = None
    additional_request: Mapping[str, Any] | None = None


#: For each CreateTrainingJob member, the props that set it. A member without typed
#: props is set through ``additional_request`` (see ESCAPE_HATCH_ONLY).
#: The props held as tuples, whatever sequence the constructor got.
_Props = TypeVar("_Props")

_TUPLES = frozenset(
    {
        "inputs",
        "security_groups",
        "metric_definitions",
        "instance_groups",
        "debug_rules",
        "profiler_rules",
    }
)


def dataclass_of(
    cls: type[_Props], arguments: Mapping[str, Any], *, tuples: frozenset[str] = frozenset()
) -> _Props:
    """The members of the props dataclass ``cls`` among a constructor's ``arguments``
    (its keywords, captured once), those named in ``tuples`` as tuples (frozen: a
    caller's list changed later changes nothing)."""
    names = {field.name for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(
        **{
            name: tuple(value) if name in tuples and value is not None else value
            for name, value in arguments.items()
            if name in names
        }
    )


def props_of(arguments: Mapping[str, Any]) -> TrainingJobProps:
    """The training definition among a constructor's ``arguments`` (``TrainingJob``'s
    keywords, captured once): the :class:`TrainingJobProps` members, sequences as
    tuples."""
    return dataclass_of(TrainingJobProps, arguments, tuples=_TUPLES)


PROPS_FOR_MEMBER: dict[str, tuple[str, ...]] = {
    "TrainingJobName": ("training_job_name",),
    "HyperParameters": ("hyperparameters", "code", "distribution"),
    "AlgorithmSpecification": (
        "image",
        "input_mode",
        "metric_definitions",
        "enable_metrics_time_series",
        "container_entrypoint",
        "container_arguments",
    ),
    "RoleArn": ("role",),
    "VpcConfig": ("vpc", "vpc_subnets", "security_groups"),
    "InputDataConfig": ("inputs",),
    "OutputDataConfig": ("output",),
    "ResourceConfig": (
        "instance_type",
        "instance_count",
        "instance_groups",
        "instance_placement",
        "volume_size",
        "volume_encryption_key",
        "keep_alive",
    ),
    "StoppingCondition": ("max_runtime", "max_wait", "max_pending"),
    "Tags": ("tags",),
    "EnableNetworkIsolation": ("network_isolation",),
    "EnableInterContainerTrafficEncryption": ("inter_container_traffic_encryption",),
    "EnableManagedSpotTraining": ("spot_training",),
    "CheckpointConfig": ("checkpoint",),
    "DebugHookConfig": ("debug_hook",),
    "DebugRuleConfigurations": ("debug_rules",),
    "TensorBoardOutputConfig": ("tensor_board_output",),
    "ExperimentConfig": ("experiment",),
    "ProfilerConfig": ("profiler",),
    "ProfilerRuleConfigurations": ("profiler_rules",),
    "Environment": ("environment",),
    "RetryStrategy": ("max_retry_attempts",),
    "RemoteDebugConfig": ("remote_debug",),
    "InfraCheckConfig": ("infra_check",),
    "SessionChainingConfig": ("session_tag_chaining",),
    "ServerlessJobConfig": ("serverless",),
    "MlflowConfig": ("mlflow",),
    "ModelPackageConfig": ("model_package",),
}

#: The prop that sets a nested member, where its section has several props.
PROP_FOR_PATH: dict[str, str] = {
    "AlgorithmSpecification.TrainingImage": "image",
    "AlgorithmSpecification.AlgorithmName": "image",
    "AlgorithmSpecification.TrainingImageConfig": "image",
    "AlgorithmSpecification.TrainingInputMode": "input_mode",
    "AlgorithmSpecification.MetricDefinitions": "metric_definitions",
    "AlgorithmSpecification.EnableSageMakerMetricsTimeSeries": "enable_metrics_time_series",
    "AlgorithmSpecification.ContainerEntrypoint": "container_entrypoint",
    "AlgorithmSpecification.ContainerArguments": "container_arguments",
    "ResourceConfig.InstanceType": "instance_type",
    "ResourceConfig.InstanceCount": "instance_count",
    "ResourceConfig.InstanceGroups": "instance_groups",
    "ResourceConfig.InstancePlacementConfig": "instance_placement",
    "ResourceConfig.VolumeSizeInGB": "volume_size",
    "ResourceConfig.VolumeKmsKeyId": "volume_encryption_key",
    "ResourceConfig.KeepAlivePeriodInSeconds": "keep_alive",
    "StoppingCondition.MaxRuntimeInSeconds": "max_runtime",
    "StoppingCondition.MaxWaitTimeInSeconds": "max_wait",
    "StoppingCondition.MaxPendingTimeInSeconds": "max_pending",
    "VpcConfig.Subnets": "vpc_subnets",
    "VpcConfig.SecurityGroupIds": "security_groups",
    # The user's values (code and distribution add the toolkit's own).
    "HyperParameters": "hyperparameters",
    "HyperParameters.sagemaker_distribution": "distribution",  # _script_mode's problems
    # How the deployment waits (problems of _timing: completion.timeout...).
    "completion": "completion",
    "max_quota_wait": "max_quota_wait",
}


def props_for_path(path: str) -> str:
    """The prop(s) that set the API member at ``path`` (e.g. ``ResourceConfig.
    InstanceCount`` -> ``instance_count``), or ``additional_request``."""
    plain = re.sub(r"\[[^\]]*\]", "", path)
    parts = plain.split(".")
    for depth in range(len(parts), 0, -1):
        prop = PROP_FOR_PATH.get(".".join(parts[:depth]))
        if prop:
            return prop
    props = PROPS_FOR_MEMBER.get(parts[0])
    return ", ".join(props) if props else "additional_request"


#: Members (or parts) reached only through ``additional_request`` for now, with why.
ESCAPE_HATCH_ONLY: dict[str, str] = {
    "ResourceConfig.TrainingPlanArn": "training plans are rare",
    "ResourceConfig.InstancePreferences": "flexible training plans are rare",
    "InputDataConfig.DataSource.DatasetSource": "new; set whole channels if needed",
}


def render_algorithm_specification(
    props: TrainingJobProps, image: ImageConfig | None, *, sdk_defaults: bool = True
) -> dict[str, Any] | None:
    """``AlgorithmSpecification``; none for a serverless job without an image.

    :param sdk_defaults: whether members the SDK's estimators default (the metrics
        time series) take its defaults; a tuning job's definition has no such member.
    """
    if image is None:
        return None
    time_series = props.enable_metrics_time_series
    framework = image.framework
    if time_series is None and sdk_defaults and framework and framework.metrics_time_series:
        time_series = True  # as the SDK's PyTorch, TensorFlow and Hugging Face estimators
    return prune(
        {
            **image.specification,
            "TrainingInputMode": props.input_mode.value,
            "MetricDefinitions": [m.render() for m in props.metric_definitions] or None,
            "EnableSageMakerMetricsTimeSeries": time_series,
            "ContainerEntrypoint": _list(props.container_entrypoint),
            "ContainerArguments": _list(props.container_arguments),
        }
    )


def render_resource_config(props: TrainingJobProps) -> dict[str, Any] | None:
    """``ResourceConfig``: instance type and count (or groups), volume, warm pool."""
    groups = [group.render() for group in props.instance_groups]
    serverless = props.serverless is not None
    instance_type = props.instance_type or (
        None if groups or serverless else InstanceType.of(DEFAULT_INSTANCE_TYPE)
    )
    instance_count = props.instance_count
    if instance_count is None and not groups and not serverless:
        instance_count = 1
    volume = props.volume_size
    # A size that is not whole GiB is a problem of its own (_mistakes): render its floor.
    volume_gib = volume.to_gibibytes(rounding=SizeRoundingBehavior.FLOOR) if volume else None
    if volume_gib is None and not serverless:
        volume_gib = DEFAULT_VOLUME_GIB
    config = prune(
        {
            "InstanceType": str(instance_type) if instance_type else None,
            "InstanceCount": instance_count,
            "VolumeSizeInGB": volume_gib,
            "VolumeKmsKeyId": (
                props.volume_encryption_key.key_arn if props.volume_encryption_key else None
            ),
            "KeepAlivePeriodInSeconds": seconds(props.keep_alive) if props.keep_alive else None,
            "InstanceGroups": groups or None,
            "InstancePlacementConfig": (
                props.instance_placement.render() if props.instance_placement else None
            ),
        }
    )
    return config or None


def instance_types(props: TrainingJobProps) -> list[str]:
    """The instance types the job runs on (its groups', or its one type, the default
    included; none for a serverless job without one)."""
    if props.instance_groups:
        return [str(group.instance_type) for group in props.instance_groups]
    if props.instance_type is None and props.serverless is not None:
        return []
    return [str(props.instance_type or InstanceType.of(DEFAULT_INSTANCE_TYPE))]


def render_stopping_condition(props: TrainingJobProps, default_runtime: Duration) -> dict[str, Any]:
    """``StoppingCondition``."""
    return prune(
        {
            "MaxRuntimeInSeconds": seconds(props.max_runtime or default_runtime),
            "MaxWaitTimeInSeconds": seconds(props.max_wait) if props.max_wait else None,
            "MaxPendingTimeInSeconds": (seconds(props.max_pending) if props.max_pending else None),
        }
    )


def render_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``Tags``, sorted by key so the template is stable."""
    return [{"Key": key, "Value": tags[key]} for key in sorted(tags)]


def render_request(
    props: TrainingJobProps,
    *,
    role_arn: str,
    default_runtime: Duration,
    image: ImageConfig | None = None,
    inputs: Sequence[TrainingInput] | None = None,
    vpc_config: Mapping[str, Any] | None = None,
    hyperparameters: Mapping[str, str] | None = None,
    tuned: bool = False,
) -> dict[str, Any]:
    """The CreateTrainingJob request, ``additional_request`` merged in last.

    :param image: the bound image (see ``TrainingImage.bind``); none for a serverless job.
    :param inputs: the bound channels (see ``TrainingInput.bind``); default: ``props.inputs``.
    :param vpc_config: the rendered ``VpcConfig``; default: none.
    :param hyperparameters: the encoded ``HyperParameters`` (see ``_script_mode``);
        default: ``props.hyperparameters`` as they are.
    :param tuned: the request of a tuning job's definition (no metrics time series).
    """
    channels = props.inputs if inputs is None else inputs

    def enabled(flag: bool | None, member: str) -> dict[str, bool] | None:
        return None if flag is None else {member: flag}

    request = {
        "TrainingJobName": props.training_job_name,
        "HyperParameters": (
            _sorted(props.hyperparameters) if hyperparameters is None else hyperparameters or None
        ),
        "AlgorithmSpecification": render_algorithm_specification(
            props, image, sdk_defaults=not tuned
        ),
        "RoleArn": role_arn,
        "InputDataConfig": [channel.render() for channel in channels] or None,
        "OutputDataConfig": props.output.render(),
        "ResourceConfig": render_resource_config(props),
        "VpcConfig": dict(vpc_config) if vpc_config else None,
        "StoppingCondition": render_stopping_condition(props, default_runtime),
        "Tags": render_tags(props.tags) if props.tags else None,
        "EnableNetworkIsolation": props.network_isolation,
        "EnableInterContainerTrafficEncryption": props.inter_container_traffic_encryption,
        "EnableManagedSpotTraining": props.spot_training,
        "CheckpointConfig": props.checkpoint.render() if props.checkpoint else None,
        "DebugHookConfig": props.debug_hook.render() if props.debug_hook else None,
        "DebugRuleConfigurations": [r.render() for r in props.debug_rules] or None,
        "TensorBoardOutputConfig": (
            props.tensor_board_output.render() if props.tensor_board_output else None
        ),
        "ExperimentConfig": props.experiment.render() if props.experiment else None,
        "ProfilerConfig": props.profiler.render() if props.profiler else None,
        "ProfilerRuleConfigurations": [r.render() for r in props.profiler_rules] or None,
        "Environment": _sorted(props.environment),
        "RetryStrategy": (
            None
            if props.max_retry_attempts is None
            else {"MaximumRetryAttempts": props.max_retry_attempts}
        ),
        "RemoteDebugConfig": enabled(props.remote_debug, "EnableRemoteDebug"),
        "InfraCheckConfig": enabled(props.infra_check, "EnableInfraCheck"),
        "SessionChainingConfig": enabled(props.session_tag_chaining, "EnableSessionTagChaining"),
        "ServerlessJobConfig": props.serverless.render() if props.serverless else None,
        "MlflowConfig": props.mlflow.render() if props.mlflow else None,
        "ModelPackageConfig": props.model_package.render() if props.model_package else None,
    }
    return merge(prune(request), props.additional_request or {})


def merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``extra`` merged in: objects merge member by member, anything
    else (lists, scalars) replaces, and ``None`` removes the member."""
    merged = dict(base)
    for key, value in extra.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _sorted(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(sorted(values.items())) if values else None


def _list(values: Sequence[str] | None) -> list[str] | None:
    return list(values) if values is not None else None
