"""A processing job's props, captured once, and the CreateProcessingJob request they
render: a pure function of the props and what the job bound (image, code, network),
in the API's own shape and casing, ``additional_request`` merged in last."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Size, SizeRoundingBehavior
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms

from .._shared.remembered import seconds
from ..core._problems import prop_of
from ..definition._code import TrainingCode
from ..definition._config import ExperimentConfig, prune
from ..definition._image import TrainingImage
from ..definition._instance_type import InstanceType
from ..definition._request import dataclass_of, merge, render_tags
from ._code import BoundCode
from ._io import ProcessingInput, ProcessingOutput
from ._report import EvaluationReport

#: The SDK's processors' defaults.
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
DEFAULT_VOLUME_GIB = 30


@dataclass(frozen=True, kw_only=True)
class ProcessingProps:
    """What a ``ProcessingJob`` renders into its request (see its props)."""

    image: TrainingImage
    code: TrainingCode | None = None
    command: Sequence[str] | None = None
    entrypoint: Sequence[str] | None = None
    arguments: Sequence[str] | None = None
    environment: Mapping[str, str] | None = None
    inputs: Sequence[ProcessingInput] = ()
    outputs: Sequence[ProcessingOutput] = ()
    output_encryption_key: kms.IKey | None = None
    instance_type: InstanceType | None = None
    instance_count: int | None = None
    volume_size: Size | None = None
    volume_encryption_key: kms.IKey | None = None
    max_runtime: Duration | None = None
    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: Sequence[ec2.ISecurityGroup] | None = None
    network_isolation: bool | None = None
    inter_container_traffic_encryption: bool | None = None
    experiment: ExperimentConfig | None = None
    tags: Mapping[str, str] | None = None
    processing_job_name: str | None = None
    report: EvaluationReport | None = None
    additional_request: Mapping[str, Any] | None = None


def processing_props_of(arguments: Mapping[str, Any]) -> ProcessingProps:
    """The props among a constructor's ``arguments``, inputs and outputs as tuples."""
    return dataclass_of(ProcessingProps, arguments, tuples=frozenset({"inputs", "outputs"}))


#: Each request member's prop, for messages (the longest matching path wins).
_PROPS = {
    "ProcessingJobName": "processing_job_name",
    "ProcessingInputs": "inputs",
    "ProcessingOutputConfig.Outputs": "outputs",
    "ProcessingOutputConfig.KmsKeyId": "output_encryption_key",
    "ProcessingResources.ClusterConfig.InstanceType": "instance_type",
    "ProcessingResources.ClusterConfig.InstanceCount": "instance_count",
    "ProcessingResources.ClusterConfig.VolumeSizeInGB": "volume_size",
    "ProcessingResources.ClusterConfig.VolumeKmsKeyId": "volume_encryption_key",
    "StoppingCondition.MaxRuntimeInSeconds": "max_runtime",
    "AppSpecification.ImageUri": "image",
    "AppSpecification.ContainerEntrypoint": "entrypoint, code",
    "AppSpecification.ContainerArguments": "arguments",
    "Environment": "environment",
    "NetworkConfig.EnableNetworkIsolation": "network_isolation",
    "NetworkConfig.EnableInterContainerTrafficEncryption": "inter_container_traffic_encryption",
    "NetworkConfig.VpcConfig": "vpc, vpc_subnets, security_groups",
    "RoleArn": "role",
    "ExperimentConfig": "experiment",
    "Tags": "tags",
    "report": "report",
    "quality_gate": "quality_gate",
}


def processing_props_for_path(path: str) -> str:
    """The prop that sets the request member at ``path`` (or ``additional_request``)."""
    return prop_of(path, _PROPS)


def render_processing_request(
    props: ProcessingProps,
    *,
    role_arn: str,
    image_uri: str,
    default_runtime: Duration,
    code: BoundCode | None = None,
    vpc_config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The CreateProcessingJob request (values may be CDK tokens).

    :param image_uri: the bound image's URI.
    :param code: the bound code: its inputs follow the user's, and its script is the
        entrypoint, as the SDK's ``FrameworkProcessor`` sends them.
    :param vpc_config: the rendered ``VpcConfig``; default: none.
    """
    inputs = [item.render() for item in props.inputs]
    if code is not None:
        inputs += code.inputs()
    output_config = (
        prune(
            {
                "Outputs": [output.render() for output in props.outputs],
                "KmsKeyId": (
                    props.output_encryption_key.key_arn if props.output_encryption_key else None
                ),
            }
        )
        if props.outputs
        else None
    )
    count = props.instance_count if props.instance_count is not None else 1
    instance_type = str(props.instance_type or InstanceType.of(DEFAULT_INSTANCE_TYPE))
    network = prune(
        {
            "EnableInterContainerTrafficEncryption": props.inter_container_traffic_encryption,
            "EnableNetworkIsolation": props.network_isolation,
            "VpcConfig": dict(vpc_config) if vpc_config else None,
        }
    )
    request = {
        "ProcessingJobName": props.processing_job_name,
        "ProcessingInputs": inputs or None,
        "ProcessingOutputConfig": output_config,
        "ProcessingResources": {
            "ClusterConfig": prune(
                {
                    "InstanceCount": count,
                    "InstanceType": instance_type,
                    "VolumeSizeInGB": (
                        props.volume_size.to_gibibytes(rounding=SizeRoundingBehavior.FLOOR)
                        if props.volume_size is not None
                        else DEFAULT_VOLUME_GIB
                    ),
                    "VolumeKmsKeyId": (
                        props.volume_encryption_key.key_arn if props.volume_encryption_key else None
                    ),
                }
            )
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": seconds(props.max_runtime or default_runtime)},
        "AppSpecification": prune(
            {
                "ImageUri": image_uri,
                "ContainerEntrypoint": (
                    code.entrypoint
                    if code is not None
                    else list(props.entrypoint)
                    if props.entrypoint is not None
                    else None
                ),
                "ContainerArguments": list(props.arguments) if props.arguments else None,
            }
        ),
        "Environment": dict(sorted(props.environment.items())) if props.environment else None,
        "NetworkConfig": network or None,
        "RoleArn": role_arn,
        "ExperimentConfig": props.experiment.render() if props.experiment else None,
        "Tags": render_tags(props.tags) if props.tags else None,
    }
    return merge(prune(request), props.additional_request or {})
