"""Images SageMaker publishes per region (built-in algorithms, framework
containers): their URI and repository ARN in a stack, as plain strings where the
stack's region is known, else a ``CfnMapping`` lookup."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from aws_cdk import Aws, CfnMapping, Stack, Token

from . import _algorithms
from ._algorithms.frameworks import ResolvedImage


def framework_image(stack: Stack, resolved: ResolvedImage) -> tuple[str, str]:
    """The URI of a resolved framework image in ``stack`` (its region checked by the
    resolution), and its repository's ARN; one mapping per registry table."""
    return regional_image(
        stack,
        registries=resolved.accounts(),
        mapping_id=f"SageMakerFrameworkRegistries{resolved.registries}",
        repository=resolved.repository,
        tag=resolved.tag,
        unpublished=lambda region: f"{resolved.framework} is not published in {region!r}",
    )


def regional_image(
    stack: Stack,
    *,
    registries: Mapping[str, str],
    mapping_id: str,
    repository: str,
    tag: str,
    unpublished: Callable[[str], str],
) -> tuple[str, str]:
    """The URI of an image SageMaker publishes per region (from ``registries``, region
    -> account), and its repository's ARN: plain strings when the stack's region is
    known, a ``CfnMapping`` lookup (one per registry table per stack, shared by the
    jobs that use it) in a region-agnostic stack.

    :param unpublished: the error message for a region without the image.
    """
    region = stack.region
    if Token.is_unresolved(region):
        existing = stack.node.try_find_child(mapping_id)
        mapping = (
            existing
            if isinstance(existing, CfnMapping)
            else CfnMapping(
                stack,
                mapping_id,
                mapping={name: {"account": account} for name, account in registries.items()},
            )
        )
        account = mapping.find_in_map(Aws.REGION, "account")
        uri = f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{repository}:{tag}"
        registry_region: str = Aws.REGION
    else:
        if region not in registries:
            raise ValueError(unpublished(region))
        account = registries[region]
        uri = f"{account}.dkr.{_algorithms.ecr_host(region)}/{repository}:{tag}"
        registry_region = region
    repository_arn = f"arn:{Aws.PARTITION}:ecr:{registry_region}:{account}:repository/{repository}"
    return uri, repository_arn
