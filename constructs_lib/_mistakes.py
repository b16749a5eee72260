"""Values the API would take, or CDK would answer with a bare error, that are almost
surely mistakes: each becomes a problem naming the member (and so the prop), the
value and the rule. Shared by every kind of job: checked on the training definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from aws_cdk import Size, SizeRoundingBehavior, Token
from aws_cdk import aws_kms as kms
from constructs import Construct

from ._schema.validate import Problem
from ._stacks import region_of, resource_region
from .request import TrainingJobProps

#: The request members that hold an S3 URI the library built from a bucket and a key
#: prefix.
_S3_MEMBERS = ("S3Uri", "S3OutputPath")
#: ``s3://<bucket>/<key prefix>``, the bucket a name or a CDK token.
_S3_URI = re.compile(r"^s3://(?:\$\{Token\[[^\]]*\]\}|[^/]+)/(?P<prefix>.*)$", re.S)


def _s3_values(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if key in _S3_MEMBERS and isinstance(item, str):
                yield child, item
            else:
                yield from _s3_values(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _s3_values(item, f"{path}[{index}]")


def s3_prefix_problems(request: Mapping[str, Any]) -> list[Problem]:
    """Key prefixes written as an ``s3://`` URI or with a leading ``/``: SageMaker would
    read ``s3://<bucket>/s3://...`` or ``s3://<bucket>//...``."""
    problems: list[Problem] = []
    for path, uri in _s3_values(request, ""):
        match = _S3_URI.match(uri)
        prefix = match["prefix"] if match else ""
        if prefix.startswith(("s3://", "/")):
            problems.append(
                Problem(
                    path,
                    prefix,
                    "is a key prefix in the bucket, e.g. 'train/': not an s3:// URI, "
                    "and without a leading /",
                )
            )
    return problems


def _region(key: kms.IKey) -> str | None:
    return resource_region(key)


def key_region_problems(scope: Construct, props: TrainingJobProps) -> list[Problem]:
    """KMS keys of another region than the job's: SageMaker uses keys of its own."""
    stack_region = region_of(scope)
    if Token.is_unresolved(stack_region):
        return []
    keys = [
        ("ResourceConfig.VolumeKmsKeyId", props.volume_encryption_key),
        ("OutputDataConfig.KmsKeyId", props.output.encryption_key),
    ]
    problems: list[Problem] = []
    for path, key in keys:
        region = _region(key) if key is not None else None
        if region is not None and region != stack_region:
            problems.append(
                Problem(
                    path,
                    key.key_arn if key is not None else None,
                    f"the key is in {region}, the job in {stack_region}: SageMaker encrypts "
                    "with keys of the job's region (a multi-Region replica key there works)",
                )
            )
    return problems


def volume_gibibytes(size: Size) -> tuple[int, Problem | None]:
    """The volume in whole GiB (rounded down for rendering), and the problem when it
    is not a whole number of GiB."""
    whole = int(size.to_gibibytes(rounding=SizeRoundingBehavior.FLOOR))
    mebibytes = size.to_mebibytes(rounding=SizeRoundingBehavior.FLOOR)
    if mebibytes != whole * 1024:
        return whole, Problem(
            "ResourceConfig.VolumeSizeInGB",
            f"{mebibytes} MiB",
            "SageMaker sizes volumes in whole GiB: use Size.gibibytes(...)",
        )
    return whole, None


def definition_problems(scope: Construct, props: TrainingJobProps) -> list[Problem]:
    """The mistakes of a training definition that its props show before rendering."""
    problems = key_region_problems(scope, props)
    if props.volume_size is not None:
        _, problem = volume_gibibytes(props.volume_size)
        if problem is not None:
            problems.append(problem)
    return problems
