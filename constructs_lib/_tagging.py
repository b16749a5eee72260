"""``Tags.of(scope).add(...)`` reaches a job as it reaches aws-cdk-lib's resources: the
job construct is taggable (``ITaggable``, a ``TagManager`` of its resource type), and
its request's ``Tags`` are rendered at synth from the manager, which starts with the
job's own ``tags`` (as an L1's tags prop: ``Tags.of`` overrides them, by priority).
A queued job's tags reach its service job and, through Batch, its training job.

SageMaker allows 50 tags, of which the library uses some: the total is checked at synth,
once the tags of every ``Tags.of`` are known.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

import jsii
from aws_cdk import IStableAnyProducer, Lazy, TagManager, TagType
from constructs import Construct, IValidation

from ._job import MAX_TAGS
from .handler import properties as cr_props

_RESERVED_PREFIX = "aws:"


def taggable(
    scope: Construct,
    resource_type: str,
    request: dict[str, Any],
    additional_request: Mapping[str, Any] | None,
    provider: Construct,
) -> TagManager:
    """The tags of the job ``scope`` (of ``resource_type``), starting with its own: the
    request's ``Tags``, which from now on render from them at synth (none: no member),
    their number and keys checked at synth (once for the stack, on its ``provider``).
    An ``additional_request`` that removes the member (``{"Tags": None}``) keeps it
    removed, ``Tags.of`` included."""
    if additional_request is not None and additional_request.get("Tags", ...) is None:
        return TagManager(TagType.KEY_VALUE, resource_type)
    own = request.get("Tags")
    initial = (
        {str(tag["Key"]): tag["Value"] for tag in own if isinstance(tag, Mapping)}
        if isinstance(own, list)
        else None
    )
    tags = TagManager(TagType.KEY_VALUE, resource_type, initial or None)
    request["Tags"] = Lazy.any(_Rendered(tags))
    jobs = _TAGGED.get(provider)
    if jobs is None:
        jobs = _TAGGED[provider] = []
        provider.node.add_validation(_TagRules(jobs))
    jobs.append((scope, tags))
    return tags


#: Each stack's taggable jobs, by the stack's provider (one validation per stack).
_TAGGED: weakref.WeakKeyDictionary[Construct, list[tuple[Construct, TagManager]]] = (
    weakref.WeakKeyDictionary()
)


@jsii.implements(IValidation)
class _TagRules:
    """The tag rules of every job of a stack, once their ``Tags.of`` are applied."""

    def __init__(self, jobs: list[tuple[Construct, TagManager]]) -> None:
        self._jobs = jobs

    def validate(self) -> list[str]:
        errors: list[str] = []
        for scope, manager in self._jobs:
            errors.extend(_problems(scope, manager.tag_values()))
        return errors


def _problems(scope: Construct, tags: Mapping[str, str]) -> list[str]:
    errors = []
    if len(tags) > MAX_TAGS:
        errors.append(
            f"[{scope.node.path}] Tags (tags, Tags.of): {len(tags)} is invalid: must have at "
            f"most {MAX_TAGS} tags (SageMaker allows 50; the library adds "
            f"{len(cr_props.LIBRARY_TAGS)} to recognise its jobs), the job's own and those "
            "of Tags.of(...) together"
        )
    reserved = sorted(key for key in tags if key.startswith(_RESERVED_PREFIX))
    if reserved:
        errors.append(
            f"[{scope.node.path}] Tags (Tags.of): {reserved[0]!r} is invalid: the "
            f"'{_RESERVED_PREFIX}' prefix is reserved"
        )
    return errors


@jsii.implements(IStableAnyProducer)
class _Rendered:
    """The tags as the request's ``Tags`` (``[{"Key", "Value"}]``, sorted), at synth."""

    def __init__(self, tags: TagManager) -> None:
        self._tags = tags

    def produce(self) -> Any:
        return self._tags.render_tags()
