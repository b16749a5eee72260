"""Legal values that are likely mistakes, which the library can see at synth but cannot
judge alone: each is a CDK warning naming the prop, the value and what follows, ending
with the id to acknowledge it by (``Annotations.of(scope).acknowledge_warning(id,
reason)``).

- a framework script on several instances without a distribution;
- a bucket imported without its key (its KMS key gets no grant);
- an execution role imported immutable (no grant reaches it);
- a serving image for CPUs registered for GPU instances (or the reverse);
- a schedule that starts runs more often than one may take.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import Annotations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._shared.schema.validate import is_unresolved
from ._mistakes import located
from ._request import TrainingJobProps

HOSTS_WARNING_ID = "constructs-lib:hosts-without-distribution"
BUCKET_KEY_WARNING_ID = "constructs-lib:bucket-without-key"
IMMUTABLE_ROLE_WARNING_ID = "constructs-lib:immutable-role"
SERVING_PROCESSOR_WARNING_ID = "constructs-lib:serving-processor"
OVERLAPPING_RUNS_WARNING_ID = "constructs-lib:overlapping-runs"

#: Frameworks whose container starts the script once per instance unless a
#: distribution launches it across them (XGBoost's script mode distributes itself).
_LAUNCHED = frozenset({"pytorch", "tensorflow", "huggingface", "mxnet"})
#: Accelerated instance families: NVIDIA GPUs.
_GPU = re.compile(r"^ml\.(g\d|p\d)")


def _warn(scope: Construct, warning_id: str, message: str) -> None:
    Annotations.of(scope).add_warning_v2(warning_id, message)


def warn_of_hosts_without_distribution(
    scope: Construct, props: TrainingJobProps, instances: Any, framework: str | None
) -> None:
    """A framework script on several instances, without a distribution: the container
    starts it on each instance on its own (no torchrun, MPI or parameter server)."""
    if props.code is None or props.distribution is not None or framework not in _LAUNCHED:
        return
    if not isinstance(instances, int) or instances < 2:
        return
    _warn(
        scope,
        HOSTS_WARNING_ID,
        f"instance_count: {instances} without distribution: the {framework} container "
        f"starts your script on each instance on its own, so {instances} instances train "
        f"the same model apart, each on all the data, at {instances} times the cost. Give "
        "distribution=Distribution.torch_distributed() (or the framework's: .mpi(), "
        ".parameter_server(), .data_parallel()), or train on one instance.",
    )


def _imported(bucket: s3.IBucket) -> bool:
    return not isinstance(bucket, s3.Bucket)


def warn_of_buckets_without_keys(scope: Construct, props: TrainingJobProps) -> None:
    """Buckets imported without their key: if one is encrypted with a KMS key of yours,
    the job's role gets no grant on the key and the job fails reading or writing it."""
    seen: set[int] = set()
    for _, prop, location in located(props):
        if location.from_asset:  # the bootstrap bucket: the CDK's
            continue
        bucket = location.bucket
        if id(bucket) in seen or not _imported(bucket) or bucket.encryption_key is not None:
            continue
        seen.add(id(bucket))
        name = bucket.bucket_name
        shown = "" if is_unresolved(name) else f" {name!r}"
        _warn(
            scope,
            BUCKET_KEY_WARNING_ID,
            f"{prop}: the bucket{shown} is imported without its encryption key: if a KMS "
            "key of yours encrypts it, the job's role gets no grant on that key and the "
            "job fails reading or writing it (AccessDenied from KMS), after it started. "
            "Import it with s3.Bucket.from_bucket_attributes(scope, id, bucket_name=..., "
            "encryption_key=kms.Key.from_key_arn(...)); a bucket under S3-managed keys "
            "needs nothing: acknowledge this.",
        )


def warn_of_immutable_role(scope: Construct, role: iam.IRole) -> None:
    """An execution role imported with ``mutable=False``: aws-cdk-lib drops every
    grant to it silently (it wraps the import in a ``MutableRole<id>`` sibling)."""
    if isinstance(role, iam.Role):
        return
    parent = role.node.scope
    if parent is None or parent.node.try_find_child(f"MutableRole{role.node.id}") is None:
        return
    _warn(
        scope,
        IMMUTABLE_ROLE_WARNING_ID,
        f"role: {role.node.path} is imported immutable (mutable=False): the grants this "
        "job needs (its data, code, keys, image, logs) are not added to it, and the job "
        "fails with AccessDenied unless the role's own policies grant them. Import it "
        "mutable, or leave role unset for a role the job makes; acknowledge this if its "
        "policies grant all of it.",
    )


def warn_of_serving_processor(
    scope: Construct, image: Any, instance_types: Sequence[str], where: str
) -> None:
    """A framework serving image for CPUs registered for GPU instances (or for GPUs on
    CPU instances): its ``-cpu``/``-gpu`` tag says which."""
    if not isinstance(image, str) or is_unresolved(image) or not instance_types:
        return
    tag = image.rsplit(":", 1)[-1]
    gpus = [t for t in instance_types if _GPU.match(str(t))]
    cpus = [t for t in instance_types if not _GPU.match(str(t)) and str(t).startswith("ml.")]
    if "-cpu" in tag and gpus:
        wrong, needed = gpus, "GPU"
    elif "-gpu" in tag and cpus:
        wrong, needed = cpus, "CPU"
    else:
        return
    _warn(
        scope,
        SERVING_PROCESSOR_WARNING_ID,
        f"{where}: inference_instance_types: {', '.join(map(str, wrong))} need the "
        f"{needed} serving image, and the container's is {image}: give "
        f"inference_container(instance_type={str(wrong[0])!r}) for those instances, or "
        "list the instance types its image serves.",
    )


_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def schedule_interval(expression: str) -> int | None:
    """The seconds between a schedule's runs, for ``rate(...)`` and the common crons
    (every n minutes or hours; hours listed); None when it is not known."""
    rate = _RATE.match(expression.strip())
    if rate:
        return int(rate[1]) * _UNIT_SECONDS[rate[2].rstrip("s")]
    if not expression.startswith("cron(") or not expression.endswith(")"):
        return None
    fields = expression[5:-1].split()
    if len(fields) != 6:
        return None
    minutes, hours = fields[0], fields[1]
    if minutes == "*":
        return 60
    if minutes.startswith("*/") and minutes[2:].isdigit():
        return int(minutes[2:]) * 60
    if hours == "*":
        return 3600
    if hours.startswith("*/") and hours[2:].isdigit():
        return int(hours[2:]) * 3600
    listed = hours.split(",")
    if len(listed) > 1 and all(h.isdigit() for h in listed):
        points = sorted(int(h) for h in listed)
        gaps = [b - a for a, b in itertools.pairwise(points)]
        gaps.append(24 - points[-1] + points[0])
        return min(gaps) * 3600
    return None


def warn_of_overlapping_runs(scope: Construct, expression: str, longest_run: float | None) -> None:
    """A schedule that starts a run before the last one may have ended."""
    interval = schedule_interval(expression)
    if interval is None or longest_run is None or interval >= longest_run:
        return
    _warn(
        scope,
        OVERLAPPING_RUNS_WARNING_ID,
        f"retrain_on_schedule: schedule: {expression} starts a run every {interval} s, "
        f"and a run may take {longest_run:.0f} s (its max runtime): runs overlap, each on "
        "instances of its own (and of the account's quota), and the later one may finish "
        "first. Schedule less often, or lower max_runtime.",
    )
