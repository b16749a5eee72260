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
from aws_cdk import CfnResource, CustomResource, IStableAnyProducer, Lazy, TagManager, TagType
from constructs import Construct, IValidation

from .._shared.schema.validate import tag_key_problems
from .._shared.stacks import path_of
from ._problems import describe_problem, tag_problems


def taggable(
    scope: Construct,
    resource_type: str,
    request: dict[str, Any],
    additional_request: Mapping[str, Any] | None,
    provider: Construct,
) -> JobTags:
    """The tags of the job ``scope`` (of ``resource_type``), starting with its own: the
    request's ``Tags``, which from now on render from them at synth (none: no member),
    their number and keys checked at synth (once for the stack, on its ``provider``).
    An ``additional_request`` that removes the member (``{"Tags": None}``) keeps it
    removed, ``Tags.of`` included."""
    if additional_request is not None and additional_request.get("Tags", ...) is None:
        return JobTags(resource_type, None, rendered=False)
    own = request.get("Tags")
    initial = (
        {str(tag["Key"]): tag["Value"] for tag in own if isinstance(tag, Mapping)}
        if isinstance(own, list)
        else None
    )
    tags = JobTags(resource_type, initial or None)
    if initial:
        request["Tags"] = Lazy.any(tags)
    jobs = _TAGGED.get(provider)
    if jobs is None:
        jobs = _TAGGED[provider] = []
        provider.node.add_validation(_TagRules(jobs))
    jobs.append((scope, tags))
    return tags


@jsii.implements(IStableAnyProducer)
class JobTags:
    """A job's tags: its ``TagManager`` (of ``resource_type``, starting with the job's
    own tags), and the request's ``Tags`` (``[{"Key", "Value"}]``) rendered from it at
    synth.

    A job with tags of its own has its manager at once, and its request's ``Tags`` is
    the manager's rendering. A job without makes its manager when something asks for
    it: ``Tags.of``'s aspect, which asks every construct it reaches for its ``tags``,
    or you; its request's ``Tags`` then becomes the manager's rendering (an override
    of its resource's property, where the member would have been: last). A job without
    tags that nothing asked for renders none and costs no crossing to the CDK's
    JavaScript side."""

    def __init__(
        self, resource_type: str, own: Mapping[str, str] | None, *, rendered: bool = True
    ) -> None:
        self._resource_type = resource_type
        #: Whether the request's ``Tags`` are the manager's (not removed).
        self._rendered = rendered
        self._manager: TagManager | None = None
        #: Where the rendering goes once a manager is made (the job's resource and
        #: its request property), for a job without tags of its own.
        self._target: tuple[CustomResource, str] | None = None
        if own:
            self._manager = TagManager(TagType.KEY_VALUE, resource_type, own)

    def render_into(self, resource: CustomResource, request_property: str) -> None:
        """Render into ``resource``'s ``request_property`` once a manager is made."""
        if self._manager is None and self._rendered:
            self._target = (resource, request_property)

    @property
    def manager(self) -> TagManager:
        """The job's ``TagManager`` (``ITaggable.tags``)."""
        if self._manager is None:
            self._manager = TagManager(TagType.KEY_VALUE, self._resource_type)
            if self._target is not None:
                resource, request_property = self._target
                cfn = resource.node.default_child
                assert isinstance(cfn, CfnResource)
                cfn.add_property_override(f"{request_property}.Tags", Lazy.any(self))
        return self._manager

    def produce(self) -> Any:
        return self._manager.render_tags() if self._manager is not None else None

    def values(self) -> Mapping[str, str]:
        """The tags, once every ``Tags.of`` applied."""
        return self._manager.tag_values() if self._manager is not None else {}


#: Each stack's taggable jobs, by the stack's provider (one validation per stack).
_TAGGED: weakref.WeakKeyDictionary[Construct, list[tuple[Construct, JobTags]]] = (
    weakref.WeakKeyDictionary()
)


@jsii.implements(IValidation)
class _TagRules:
    """The tag rules of every job of a stack, once their ``Tags.of`` are applied."""

    def __init__(self, jobs: list[tuple[Construct, JobTags]]) -> None:
        self._jobs = jobs

    def validate(self) -> list[str]:
        errors: list[str] = []
        for scope, tags in self._jobs:
            errors.extend(_problems(scope, tags.values()))
        return errors


def _problems(scope: Construct, tags: Mapping[str, str]) -> list[str]:
    """The request's own tag rules (their number, reserved keys), on the tags once
    every ``Tags.of`` applied."""
    rendered = {"Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}
    problems = [*tag_problems(rendered), *tag_key_problems(rendered["Tags"])]
    return [
        f"[{path_of(scope)}] {describe_problem(problem, lambda _: 'tags, Tags.of')}"
        for problem in problems
    ]
