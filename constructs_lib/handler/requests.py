"""Requests and names: the request a resource asks for, what of it may change in
place, and the deterministic names of generated jobs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .coerce import CoercionError, coerce
from .kinds import PROCESSING, TRAINING, TRANSFORM, TUNING, JobKind
from .properties import (
    LIBRARY_TAGS,
)

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
from .runtime import TrainingJobError

MAX_NAME_LENGTH = TRAINING.max_name_length


NAME_HASH_LENGTH = 12


DEFAULT_NAME_PREFIX = TRAINING.default_prefix


#: The construct prop that fixes a job's name, per kind (for messages).
_NAME_PROPS = {
    TRAINING.key: "training_job_name",
    TUNING.key: "tuning_job_name",
    PROCESSING.key: "processing_job_name",
    TRANSFORM.key: "transform_job_name",
}


#: What a job of each kind changes in place (for messages).
_IN_PLACE = {
    TRAINING.key: "only tags, profiler, remote debug and warm-pool keep-alive change in place",
    TUNING.key: "only tags change in place",
    PROCESSING.key: "only tags change in place",
    TRANSFORM.key: "only tags change in place",
}


def _training_definition(request: Mapping[str, Any]) -> Mapping[str, Any]:
    """The training job (definition) of a Create request of either kind."""
    definition = request.get("TrainingJobDefinition")
    if isinstance(definition, Mapping):
        return definition
    definitions = request.get("TrainingJobDefinitions")
    if isinstance(definitions, list) and definitions and isinstance(definitions[0], Mapping):
        first: Mapping[str, Any] = definitions[0]
        return first
    return request


def vpc_config(request: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The VPC a job's instances run in: a training job's, the (first) training
    definition's of a tuning job, a processing job's ``NetworkConfig``'s."""
    network = request.get("NetworkConfig")
    holder = network if isinstance(network, Mapping) else _training_definition(request)
    vpc = holder.get("VpcConfig")
    return vpc if isinstance(vpc, Mapping) and vpc else None


def _instance_type(request: Mapping[str, Any]) -> str:
    cluster = (request.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    if cluster.get("InstanceType"):
        return str(cluster["InstanceType"])
    transform = request.get("TransformResources") or {}
    if transform.get("InstanceType"):
        return str(transform["InstanceType"])
    definition = _training_definition(request)
    resources = definition.get("ResourceConfig") or {}
    if resources.get("InstanceType"):
        return str(resources["InstanceType"])
    tuning_resources = definition.get("HyperParameterTuningResourceConfig") or {}
    return str(tuning_resources.get("InstanceType", "?"))


def _role_arn(request: Mapping[str, Any]) -> str:
    return str(_training_definition(request).get("RoleArn", "?"))


def render_request(
    properties: Mapping[str, Any], client: SageMakerClient, kind: JobKind = TRAINING
) -> dict[str, Any]:
    """The Create request of the resource properties, in API types."""
    prop = kind.request_property
    raw = properties.get(prop)
    if not isinstance(raw, dict):
        raise TrainingJobError(
            f"The resource property {prop} must be an object holding the "
            f"{kind.create_operation} request, got {raw!r}"
        )
    shape = client.meta.service_model.operation_model(kind.create_operation).input_shape
    if shape is None:  # pragma: no cover - the model always has an input shape
        raise TrainingJobError(f"The SageMaker model has no {kind.create_operation} input shape")
    try:
        request: dict[str, Any] = coerce(raw, shape)
    except CoercionError as error:
        raise TrainingJobError(f"Invalid {prop}: {error}") from error
    return request


def needs_replacement(
    old: Mapping[str, Any], new: Mapping[str, Any], kind: JobKind = TRAINING
) -> bool:
    """Whether a change of request needs a new job."""
    return kind.without_in_place(old) != kind.without_in_place(new)


def update_request(
    old: Mapping[str, Any], new: Mapping[str, Any], description: Mapping[str, Any]
) -> dict[str, Any]:
    """The UpdateTrainingJob parameters (without the name) for the in-place changes
    that can still affect the job: profiler and remote debug while it runs, the
    warm-pool keep-alive while it runs or its warm pool is available."""
    status = description.get("TrainingJobStatus")
    pool = description.get("WarmPoolStatus", {}).get("Status")
    running = status == "InProgress"
    update: dict[str, Any] = {}
    if running and old.get("ProfilerConfig") != new.get("ProfilerConfig"):
        update["ProfilerConfig"] = new.get("ProfilerConfig") or {"DisableProfiler": True}
    if running and old.get("ProfilerRuleConfigurations") != new.get("ProfilerRuleConfigurations"):
        rules = new.get("ProfilerRuleConfigurations")
        if rules:
            update["ProfilerRuleConfigurations"] = rules
    if running and old.get("RemoteDebugConfig") != new.get("RemoteDebugConfig"):
        update["RemoteDebugConfig"] = {
            "EnableRemoteDebug": bool(
                (new.get("RemoteDebugConfig") or {}).get("EnableRemoteDebug", False)
            )
        }
    old_keep = old.get("ResourceConfig", {}).get("KeepAlivePeriodInSeconds")
    new_keep = new.get("ResourceConfig", {}).get("KeepAlivePeriodInSeconds")
    if old_keep != new_keep and (running or pool == "Available"):
        update["ResourceConfig"] = {"KeepAlivePeriodInSeconds": new_keep or 0}
    return update


def _without_tags(request: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in request.items() if k != "Tags"}


def _tags(request: Mapping[str, Any]) -> dict[str, str]:
    return {
        tag["Key"]: tag["Value"]
        for tag in request.get("Tags", [])
        if tag["Key"] not in LIBRARY_TAGS
    }


def generated_name(
    prefix: str,
    *,
    stack_id: str,
    logical_id: str,
    request_id: str,
    max_length: int = MAX_NAME_LENGTH,
    default_prefix: str = DEFAULT_NAME_PREFIX,
) -> str:
    """A deterministic job name: ``<prefix>-<hash of stack, resource and request>``.

    The same request (a retry) gives the same name; another request, another name.
    The result is at most ``max_length`` characters (63 for a training job, 32 for a
    tuning job) and matches the API's name pattern; ``default_prefix`` stands in
    for a prefix without usable characters.
    """
    digest = hashlib.sha256(f"{stack_id}|{logical_id}|{request_id}".encode()).hexdigest()
    clean = re.sub(r"[^a-z0-9-]+", "-", prefix.lower()).strip("-")
    clean = clean[: max_length - NAME_HASH_LENGTH - 1].rstrip("-")
    fallback = default_prefix[: max_length - NAME_HASH_LENGTH - 1].rstrip("-")
    return f"{clean or fallback}-{digest[:NAME_HASH_LENGTH]}"


def is_job_name(value: str, kind: JobKind = TRAINING) -> bool:
    """Whether ``value`` can be a job name of ``kind`` at all."""
    return kind.is_name(value)
