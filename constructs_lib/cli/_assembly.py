"""Which stacks to watch, and where their templates come from: a synthesized cloud
assembly (``cdk.out``: its ``manifest.json``, nested assemblies of stages included),
or CloudFormation's copy of a deployed stack's template."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._template import JobResource, construct_path, job_resources

STACK_ARTIFACT = "aws:cloudformation:stack"
NESTED_ASSEMBLY = "cdk:cloud-assembly"
#: What an environment-agnostic stack's manifest says in place of a region.
UNKNOWN_REGION = "unknown-region"


class WatchError(Exception):
    """What keeps the command from watching: its message says what to do."""


@dataclass(frozen=True)
class StackSource:
    """A stack to watch."""

    #: The stack's name in CloudFormation.
    name: str
    #: Its region where the assembly says it, else None (the session's).
    region: str | None = None
    #: Its template from the assembly; None: CloudFormation's copy.
    template: Mapping[str, Any] | None = None
    #: How the assembly names it (``Stage/Stack``), for messages.
    display_name: str = ""
    #: Construct paths by logical id, from the assembly's metadata.
    paths: Mapping[str, str] = field(default_factory=dict)
    #: The CDK bootstrap version the stack's deploy needs, and the SSM parameter that
    #: holds the account's (None: a synthesizer that needs none).
    bootstrap: tuple[int, str] | None = None

    def jobs(self, template: Mapping[str, Any] | None = None) -> list[JobResource]:
        """The jobs of ``template`` (default: the assembly's; none without one)."""
        template = template if template is not None else self.template
        if template is None:
            return []
        return job_resources(template, self.name, self.paths)


def _artifacts(directory: Path) -> Iterator[tuple[str, Mapping[str, Any], Path]]:
    manifest_path = directory / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise WatchError(
            f"{directory} is no cloud assembly (it has no manifest.json): give the "
            "directory `cdk synth` writes, e.g. --assembly cdk.out"
        ) from None
    for artifact_id, artifact in (manifest.get("artifacts") or {}).items():
        if artifact.get("type") == NESTED_ASSEMBLY:
            nested = (artifact.get("properties") or {}).get("directoryName")
            if isinstance(nested, str):
                yield from _artifacts(directory / nested)
        elif artifact.get("type") == STACK_ARTIFACT:
            yield artifact_id, artifact, directory


def _paths(artifact: Mapping[str, Any], directory: Path, stack: str) -> dict[str, str]:
    """Logical id -> construct path, from the artifact's ``aws:cdk:logicalId`` entries."""
    metadata = dict(artifact.get("metadata") or {})
    extra = artifact.get("additionalMetadataFile")
    if isinstance(extra, str) and (directory / extra).is_file():
        metadata.update(json.loads((directory / extra).read_text()))
    return {
        str(entry["data"]): construct_path(path, stack)
        for path, entries in metadata.items()
        for entry in entries
        if isinstance(entry, Mapping) and entry.get("type") == "aws:cdk:logicalId"
    }


def _source(artifact_id: str, artifact: Mapping[str, Any], directory: Path) -> StackSource:
    properties = artifact.get("properties") or {}
    template = json.loads((directory / properties["templateFile"]).read_text())
    name = str(properties.get("stackName") or artifact_id)
    environment = str(artifact.get("environment", ""))
    region = environment.rsplit("/", 1)[-1] if environment.startswith("aws://") else ""
    required = properties.get("requiresBootstrapStackVersion")
    parameter = properties.get("bootstrapStackVersionSsmParameter")
    return StackSource(
        name=name,
        region=region if region and region != UNKNOWN_REGION else None,
        template=template,
        display_name=str(artifact.get("displayName") or artifact_id),
        paths=_paths(artifact, directory, artifact_id),
        bootstrap=(
            (int(required), str(parameter))
            if isinstance(required, int) and isinstance(parameter, str)
            else None
        ),
    )


def from_assembly(directory: Path, wanted: Sequence[str]) -> list[StackSource]:
    """The stacks of the assembly in ``directory``: those ``wanted`` (by stack name,
    artifact id or display name), or else every stack that has jobs."""
    sources = [_source(*found) for found in _artifacts(directory)]
    if wanted:
        chosen = []
        for name in wanted:
            matches = [s for s in sources if name in (s.name, s.display_name)]
            if not matches:
                known = ", ".join(sorted(s.display_name for s in sources)) or "none"
                raise WatchError(f"the assembly {directory} has no stack {name!r} (it has {known})")
            chosen.extend(matches)
        return chosen
    with_jobs = [source for source in sources if source.jobs()]
    if not with_jobs:
        known = ", ".join(sorted(s.display_name for s in sources)) or "none"
        raise WatchError(
            f"no stack of the assembly {directory} has jobs of the library (stacks: {known})"
        )
    return with_jobs
