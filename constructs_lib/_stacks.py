"""What a construct's stack is, asked once per construct: ``Stack.of`` crosses to the
CDK's JavaScript side, and a stack of many jobs asks it of the same buckets, keys and
scopes for every job. A construct never changes stack."""

from __future__ import annotations

import weakref

from aws_cdk import IResource, Stack, Token
from constructs import IConstruct

_STACKS: weakref.WeakKeyDictionary[IConstruct, Stack] = weakref.WeakKeyDictionary()
_REGIONS: weakref.WeakKeyDictionary[Stack, str] = weakref.WeakKeyDictionary()


def stack_of(construct: IConstruct) -> Stack:
    """``Stack.of(construct)``, remembered."""
    found = _STACKS.get(construct)
    if found is None:
        found = _STACKS[construct] = Stack.of(construct)
    return found


def region_of(construct: IConstruct) -> str:
    """The region of ``construct``'s stack (a token when the stack is agnostic)."""
    stack = stack_of(construct)
    found = _REGIONS.get(stack)
    if found is None:
        found = _REGIONS[stack] = stack.region
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
