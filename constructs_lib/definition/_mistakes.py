"""Values the API would take, or CDK would answer with a bare error, that are almost
surely mistakes: each becomes a problem naming the member (and so the prop), the
value and the rule. Shared by every kind of job: checked on the training definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aws_cdk import Annotations, Size, SizeRoundingBehavior
from aws_cdk import aws_kms as kms
from constructs import Construct

from .._shared.schema.validate import Problem, is_unresolved
from .._shared.stacks import region_of, resource_region
from .._shared.suggest import did_you_mean
from ._config import MetricDefinition, S3Location
from ._image import ImageConfig
from ._request import TrainingJobProps

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
    if is_unresolved(stack_region):
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


def metric_regex_problems(props: TrainingJobProps) -> list[Problem]:
    """Metric definitions whose regex does not compile or has other than one capture
    group: SageMaker reads the value from the first group, and a job whose regex never
    gives one ends without the metric, after its paid run."""
    problems: list[Problem] = []
    for index, definition in enumerate(props.metric_definitions):
        path = f"AlgorithmSpecification.MetricDefinitions[{index}].Regex"
        regex = definition.regex
        if not isinstance(regex, str) or is_unresolved(regex):
            continue
        try:
            groups = re.compile(regex).groups
        except re.error as error:
            problems.append(Problem(path, regex, f"does not compile as a regex: {error}"))
            continue
        if groups != 1:
            problems.append(
                Problem(
                    path,
                    regex,
                    f"has {groups} capture groups: SageMaker reads {definition.name}'s value "
                    "from exactly one, e.g. r'loss=([0-9.]+)' (make the others "
                    "non-capturing: (?:...))",
                )
            )
    return problems


def _pip_needs_an_index(requirements: str) -> bool:
    """Whether a ``requirements.txt`` downloads: it names packages and does not install
    from files only (``--no-index`` with ``--find-links`` to wheels in the code)."""
    lines = [line.split("#", 1)[0].strip() for line in requirements.splitlines()]
    wanted = [line for line in lines if line and not line.startswith("-")]
    return bool(wanted) and "--no-index" not in requirements


#: A requirements.txt that installs from an index, in a job without network access.
PIP_WITHOUT_NETWORK_WARNING_ID = "constructs-lib:pip-without-network"


def warn_of_pip_without_network(scope: Construct, props: TrainingJobProps) -> None:
    """Code that installs a ``requirements.txt`` from an index, in a job without network
    access: the container's pip reaches no index there. A warning: what the framework
    container already has installs (pip finds it satisfied)."""
    if not props.network_isolation or props.code is None:
        return
    requirements = props.code.local_file("requirements.txt")
    if requirements is None or not _pip_needs_an_index(requirements.read_text()):
        return
    Annotations.of(scope).add_warning_v2(
        PIP_WITHOUT_NETWORK_WARNING_ID,
        "network_isolation: the code's requirements.txt names packages pip installs from "
        "a package index, and a job without network access reaches none: any the "
        "framework container does not have already fails to install, after the job "
        "started. Ship their wheels in the code ('--no-index' and '--find-links <dir>' "
        "lines in requirements.txt) or build them into the image "
        "(TrainingImage.from_asset); constructs_lib.testing.run_locally rehearses the "
        "install offline.",
    )


def located(props: TrainingJobProps) -> list[tuple[str, str, S3Location]]:
    """The S3 locations a definition's props name: ``(request member, prop, location)``
    of the output, each input channel and the checkpoint."""
    found: list[tuple[str, str, Any]] = [
        ("OutputDataConfig.S3OutputPath", "output", props.output.location)
    ]
    found.extend(
        (f"InputDataConfig[{index}].DataSource.S3DataSource.S3Uri", f"inputs[{index}]", c.location)
        for index, c in enumerate(props.inputs)
    )
    if props.checkpoint is not None:
        found.append(("CheckpointConfig.S3Uri", "checkpoint", props.checkpoint.location))
    return [(path, prop, location) for path, prop, location in found if location is not None]


def bucket_region_problems(scope: Construct, props: TrainingJobProps) -> list[Problem]:
    """Buckets of another region than the job's: SageMaker reads and writes S3 in the
    job's region only."""
    stack_region = region_of(scope)
    if is_unresolved(stack_region):
        return []
    problems: list[Problem] = []
    for path, _, location in located(props):
        region = resource_region(location.bucket)
        if region is not None and region != stack_region:
            problems.append(
                Problem(
                    path,
                    location.bucket.bucket_name,
                    f"the bucket is in {region}, the job in {stack_region}: SageMaker "
                    "reads and writes S3 in the job's region only (replicate the data, "
                    "or train in the bucket's region)",
                )
            )
    return problems


#: Instance families whose instances carry local NVMe storage (EC2's instance store
#: volumes), which a hardware module encrypts: SageMaker refuses a VolumeKmsKeyId there.
LOCAL_STORAGE_FAMILIES = frozenset(
    {
        "c5d", "m5d", "r5d", "g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de",
        "p5", "p5e", "p5en", "p6-b200", "trn1", "trn1n", "trn2",
    }
)  # fmt: skip


def local_storage_problems(props: TrainingJobProps) -> list[Problem]:
    """A volume key with an instance type whose storage is local: CreateTrainingJob
    refuses it ("You can't request a VolumeKmsKeyId when using an instance type with
    local storage")."""
    if props.volume_encryption_key is None:
        return []
    types = [str(props.instance_type)] if props.instance_type is not None else []
    types.extend(str(group.instance_type) for group in props.instance_groups or ())
    local = [t for t in types if t.count(".") >= 2 and t.split(".")[1] in LOCAL_STORAGE_FAMILIES]
    if not local:
        return []
    return [
        Problem(
            "ResourceConfig.VolumeKmsKeyId",
            props.volume_encryption_key.key_arn,
            f"{', '.join(local)} store data on local NVMe volumes, which a hardware "
            "module on the instance encrypts, and SageMaker refuses a volume key with "
            "them: drop volume_encryption_key, or choose an instance type without local "
            "storage (ml.m5, ml.c5, ml.p3...)",
        )
    ]


def definition_problems(scope: Construct, props: TrainingJobProps) -> list[Problem]:
    """The mistakes of a training definition that its props show before rendering."""
    problems = key_region_problems(scope, props)
    problems.extend(local_storage_problems(props))
    if props.volume_size is not None:
        _, problem = volume_gibibytes(props.volume_size)
        if problem is not None:
            problems.append(problem)
    problems.extend(metric_regex_problems(props))
    problems.extend(bucket_region_problems(scope, props))
    return problems


def check_metric_name(
    scope: Construct,
    name: str,
    definitions: Sequence[MetricDefinition],
    image: ImageConfig | None,
) -> None:
    """A metric read from a job must be one it reports: one of its metric definitions
    (or any, for an image that reports its own: a built-in algorithm's). Else the
    deploy would fail after the paid run, the attribute missing."""
    defined = [definition.name for definition in definitions]
    if name in defined or is_unresolved(name):
        return
    if image is not None and image.emits_metrics:
        return
    hint = did_you_mean(name, defined)
    raise ValueError(
        f"[{scope.node.path}] metric: {name!r} is invalid: the job reports only the "
        f"metrics its metric_definitions capture from its log "
        f"({', '.join(repr(d) for d in defined) or 'none'}).{hint} To read it, add "
        f"MetricDefinition({name!r}, r'<regex whose one group is the value>') to "
        "metric_definitions."
    )
