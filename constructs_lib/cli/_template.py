"""The jobs of a stack, as its template declares them: each ``Custom::SageMaker...Job``
resource, its construct path, the name prefix of the jobs it starts, and (a queued job)
its queue. Plain data, read from a cloud assembly or from CloudFormation's copy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..handler.kinds import KINDS, JobKind
from ..handler.properties import NAME_PREFIX, QUEUE

_JOB_TYPES = {kind.resource_type: kind for kind in KINDS}
#: What CDK appends to a construct's path for the resource it renders.
_RESOURCE_SUFFIXES = ("/Resource/Default", "/Resource")


@dataclass(frozen=True)
class JobResource:
    """One job resource of a stack's template."""

    stack: str
    logical_id: str
    kind: JobKind
    #: The construct's path in the stack (``Train``, ``Pipeline/Tune``), else the
    #: logical id (a template without path metadata).
    path: str
    #: Generated job names start with ``<name_prefix>-``.
    name_prefix: str
    #: The name the user fixed, where the template holds it as a string.
    fixed_name: str | None
    #: A queued job's queue (``JobQueue``), as the template holds it: an ARN, or a
    #: reference to the stack's queue.
    queue: Any = None

    @property
    def queued(self) -> bool:
        return self.queue is not None


def construct_path(path: str, stack: str) -> str:
    """A resource's path as the construct's: ``MlStack/Train/Resource/Default`` is
    ``Train``."""
    path = path.strip("/").removeprefix(f"{stack}/")
    for suffix in _RESOURCE_SUFFIXES:
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


def _path(
    stack: str, logical_id: str, resource: Mapping[str, Any], paths: Mapping[str, str]
) -> str:
    if logical_id in paths:
        return paths[logical_id]
    metadata = resource.get("Metadata")
    path = metadata.get("aws:cdk:path") if isinstance(metadata, Mapping) else None
    return construct_path(path, stack) if isinstance(path, str) else logical_id


def job_resources(
    template: Mapping[str, Any], stack: str, paths: Mapping[str, str] | None = None
) -> list[JobResource]:
    """The job resources of ``template`` (the stack named ``stack``), by path.

    :param paths: construct paths by logical id (a cloud assembly's metadata); default:
        the template's path metadata (``cdk deploy`` writes it), else logical ids.
    """
    found: list[JobResource] = []
    resources = template.get("Resources")
    for logical_id, resource in (resources if isinstance(resources, Mapping) else {}).items():
        if not isinstance(resource, Mapping):
            continue
        kind = _JOB_TYPES.get(str(resource.get("Type")))
        if kind is None:
            continue
        properties = resource.get("Properties")
        properties = properties if isinstance(properties, Mapping) else {}
        request = properties.get(kind.request_property)
        fixed = request.get(kind.name_field) if isinstance(request, Mapping) else None
        queue = properties.get(QUEUE)
        prefix = properties.get(NAME_PREFIX)
        found.append(
            JobResource(
                stack=stack,
                logical_id=str(logical_id),
                kind=kind,
                path=_path(stack, str(logical_id), resource, paths or {}),
                name_prefix=prefix if isinstance(prefix, str) else kind.default_prefix,
                fixed_name=fixed if isinstance(fixed, str) else None,
                queue=queue.get("JobQueue") if isinstance(queue, Mapping) else None,
            )
        )
    return sorted(found, key=lambda job: (job.path, job.logical_id))


def resolve(value: Any, physical_ids: Mapping[str, str]) -> str | None:
    """A template value as a string: itself, or the physical id a ``Ref`` or
    ``Fn::GetAtt`` names (an ARN, for the stack's queues); None where unknown."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and isinstance(argument, str):
            return physical_ids.get(argument)
        if function == "Fn::GetAtt" and isinstance(argument, list) and argument:
            return physical_ids.get(str(argument[0]))
    return None
