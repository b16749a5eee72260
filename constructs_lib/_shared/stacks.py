"""What a construct's stack is, asked once per construct: ``Stack.of`` crosses to the
CDK's JavaScript side, and a stack of many jobs asks it of the same buckets, keys and
scopes for every job. A construct never changes stack. And what a job gives a stack in
another region (its artifacts), refused."""

from __future__ import annotations

import weakref

import jsii
from aws_cdk import FeatureFlags, IResolveContext, IResource, IStringProducer, Lazy, Stack, Token
from constructs import IConstruct

_STACKS: weakref.WeakKeyDictionary[IConstruct, Stack] = weakref.WeakKeyDictionary()
_REGIONS: weakref.WeakKeyDictionary[Stack, str] = weakref.WeakKeyDictionary()


def stack_of(construct: IConstruct) -> Stack:
    """``Stack.of(construct)``, remembered."""
    found = _STACKS.get(construct)
    if found is None:
        found = _STACKS[construct] = Stack.of(construct)
    return found


_PATHS: weakref.WeakKeyDictionary[IConstruct, str] = weakref.WeakKeyDictionary()


def remember(construct: IConstruct, scope: IConstruct, construct_id: str) -> None:
    """``construct``, just made in ``scope`` as ``construct_id`` (and no stack itself),
    is in ``scope``'s stack, at ``scope``'s path and its id: neither is then asked of
    the JavaScript side (a stack of many jobs makes the same few scopes their
    parents)."""
    _STACKS[construct] = stack_of(scope)
    parent = path_of(scope)
    _PATHS[construct] = f"{parent}/{construct_id}" if parent else construct_id


def path_of(construct: IConstruct) -> str:
    """``construct.node.path``, remembered."""
    found = _PATHS.get(construct)
    if found is None:
        found = _PATHS[construct] = construct.node.path
    return found


def region_of(construct: IConstruct) -> str:
    """The region of ``construct``'s stack (a token when the stack is agnostic)."""
    stack = stack_of(construct)
    found = _REGIONS.get(stack)
    if found is None:
        found = _REGIONS[stack] = stack.region
    return found


_MINIMIZES: weakref.WeakKeyDictionary[Stack, bool] = weakref.WeakKeyDictionary()
#: aws-cdk-lib's feature flag that merges the statements of a policy document.
MINIMIZE_POLICIES = "@aws-cdk/aws-iam:minimizePolicies"


def minimizes_policies(construct: IConstruct) -> bool:
    """Whether ``construct``'s stack has aws-cdk-lib merge policy statements."""
    stack = stack_of(construct)
    found = _MINIMIZES.get(stack)
    if found is None:
        found = _MINIMIZES[stack] = FeatureFlags.of(stack).is_enabled(MINIMIZE_POLICIES) is True
    return found


_RESOURCE_REGIONS: weakref.WeakKeyDictionary[IConstruct, str | None] = weakref.WeakKeyDictionary()


def resource_region(resource: IResource) -> str | None:
    """The region a resource lives in (``resource.env.region``), None when it is a
    token, remembered."""
    if resource in _RESOURCE_REGIONS:
        return _RESOURCE_REGIONS[resource]
    region = resource.env.region
    found = _RESOURCE_REGIONS[resource] = None if Token.is_unresolved(region) else region
    return found


@jsii.implements(IStringProducer)
class _InItsRegion:
    """A job's model artifacts, for consumers in the job's region only."""

    def __init__(self, job: IConstruct, value: str, member: str) -> None:
        self._job = job
        self._value = value
        self._member = member

    def produce(self, context: IResolveContext) -> str:
        consumer = context.scope
        mine, theirs = region_of(self._job), region_of(consumer)
        if not Token.is_unresolved(mine) and not Token.is_unresolved(theirs) and mine != theirs:
            raise ValueError(
                f"[{consumer.node.path}] reads {self._member} of {self._job.node.path}: "
                f"{theirs!r} is invalid: the model is in {mine}, and SageMaker reads model "
                f"artifacts in the region that serves or uses them only. Train in {theirs}, "
                "or copy the artifacts there (S3 replication) and read the copy."
            )
        return self._value


def in_its_region(job: IConstruct, value: str, member: str) -> str:
    """``value`` (a job's artifacts' location, ``member`` names it) for consumers in
    the job's region: a consumer in another region (a cross-region reference) fails the
    synth naming both."""
    return Lazy.uncached_string(_InItsRegion(job, value, member))
