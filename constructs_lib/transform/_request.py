"""A transform job's props, captured once, and the CreateTransformJob request they
render: a pure function of the props and the model's name, in the API's own shape and
casing, ``additional_request`` merged in last."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Size, SizeRoundingBehavior
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from .._shared.remembered import seconds
from ..core._problems import prop_of
from ..definition._config import ExperimentConfig, prune
from ..definition._instance_type import InstanceType
from ..definition._request import dataclass_of, merge, render_tags
from ._io import BatchStrategy, DataProcessing, TransformInput, TransformOutput

#: The SDK's ``Transformer`` takes both; the library's defaults.
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
#: SageMaker's limit of a request's payload.
MAX_PAYLOAD_MB = 100


@dataclass(frozen=True, kw_only=True)
class TransformProps:
    """What a ``TransformJob`` renders into its request (see its props)."""

    model: Any
    input: TransformInput
    output: TransformOutput
    model_role: iam.IRole | None = None
    instance_type: InstanceType | None = None
    instance_count: int | None = None
    max_concurrent_transforms: int | None = None
    max_payload: Size | None = None
    batch_strategy: BatchStrategy | None = None
    environment: Mapping[str, str] | None = None
    data_processing: DataProcessing | None = None
    volume_encryption_key: kms.IKey | None = None
    invocation_timeout: Duration | None = None
    max_retries: int | None = None
    experiment: ExperimentConfig | None = None
    tags: Mapping[str, str] | None = None
    transform_job_name: str | None = None
    additional_request: Mapping[str, Any] | None = None


def transform_props_of(arguments: Mapping[str, Any]) -> TransformProps:
    """The props among a constructor's ``arguments``."""
    return dataclass_of(TransformProps, arguments)


_PROPS = {
    "TransformJobName": "transform_job_name",
    "ModelName": "model",
    "MaxConcurrentTransforms": "max_concurrent_transforms",
    "ModelClientConfig.InvocationsTimeoutInSeconds": "invocation_timeout",
    "ModelClientConfig.InvocationsMaxRetries": "max_retries",
    "MaxPayloadInMB": "max_payload",
    "BatchStrategy": "batch_strategy",
    "Environment": "environment",
    "TransformInput": "input",
    "TransformOutput": "output",
    "TransformResources.InstanceType": "instance_type",
    "TransformResources.InstanceCount": "instance_count",
    "TransformResources.VolumeKmsKeyId": "volume_encryption_key",
    "DataProcessing": "data_processing",
    "ExperimentConfig": "experiment",
    "Tags": "tags",
}


def transform_props_for_path(path: str) -> str:
    """The prop that sets the request member at ``path`` (or ``additional_request``)."""
    return prop_of(path, _PROPS)


def payload_mb(size: Size) -> Any:
    """``max_payload`` in whole MB (MiB, as SageMaker counts them; a token stays one)."""
    return size.to_mebibytes(rounding=SizeRoundingBehavior.FLOOR)


def render_transform_request(props: TransformProps, *, model_name: str) -> dict[str, Any]:
    """The CreateTransformJob request (values may be CDK tokens), its members in the
    order the SDK's ``Transformer.transform`` sends them."""
    client_config = {
        key: value
        for key, value in (
            (
                "InvocationsTimeoutInSeconds",
                seconds(props.invocation_timeout) if props.invocation_timeout else None,
            ),
            ("InvocationsMaxRetries", props.max_retries),
        )
        if value is not None
    }
    resources: dict[str, Any] = {
        "InstanceCount": props.instance_count if props.instance_count is not None else 1,
        "InstanceType": str(props.instance_type or InstanceType.of(DEFAULT_INSTANCE_TYPE)),
    }
    if props.volume_encryption_key is not None:
        resources["VolumeKmsKeyId"] = props.volume_encryption_key.key_arn
    request = {
        "TransformJobName": props.transform_job_name,
        "ModelName": model_name,
        "TransformInput": props.input.render(),
        "TransformOutput": props.output.render(),
        "TransformResources": resources,
        "BatchStrategy": props.batch_strategy.value if props.batch_strategy else None,
        "MaxConcurrentTransforms": props.max_concurrent_transforms,
        "MaxPayloadInMB": payload_mb(props.max_payload) if props.max_payload else None,
        "Environment": dict(sorted(props.environment.items())) if props.environment else None,
        "DataProcessing": (props.data_processing.render() or None)
        if props.data_processing
        else None,
        "ModelClientConfig": client_config or None,
        "ExperimentConfig": props.experiment.render() if props.experiment else None,
        "Tags": render_tags(props.tags) if props.tags else None,
    }
    return merge(prune(request), props.additional_request or {})
