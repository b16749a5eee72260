"""Property: any props either give a request that SageMaker's model accepts (after
CloudFormation's stringification and the handler's coercion), or raise the
documented ``ValueError`` at synth. No other exception escapes."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from aws_cdk import App, Duration, Size, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constructs_lib import (
    Checkpoint,
    CompressionType,
    InputMode,
    InstanceGroup,
    InstanceType,
    MetricDefinition,
    RecordWrapper,
    S3DataDistribution,
    TrainingImage,
    TrainingInput,
    TrainingJob,
    TrainingOutput,
)
from tests.deliver import deliver

EXAMPLES = 1000
# "[path] API.Path (prop): value is invalid: rule", possibly followed by more problems.
DOCUMENTED = re.compile(r"^\[Props/Job\d+\] \w.*? \([\w, ]+\): .* is invalid: .+", re.S)


def mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]) -> Any:
    """``valid`` 24 times in 25, else ``invalid``: with some twenty fields, about half
    the prop sets are valid and half break one rule or more."""
    return st.integers(0, 24).flatmap(lambda n: invalid if n == 0 else valid)


valid_names = st.from_regex(r"\A[a-zA-Z0-9](-?[a-zA-Z0-9]){0,20}\Z")
names = mostly(valid_names, st.text(max_size=70))
channel_names = mostly(st.from_regex(r"\A[A-Za-z0-9._-]{1,20}\Z"), st.text(max_size=70))
text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30)
keys = st.from_regex(r"\A[a-z_][a-z0-9_]{0,15}\Z")
valid_types = st.sampled_from(["ml.m5.xlarge", "ml.c5.2xlarge", "ml.g5.xlarge", "ml.p3.2xlarge"])
instance_types = mostly(valid_types, st.just("ml.made.up"))
snippets = mostly(
    st.sampled_from(
        [
            {},
            {},
            {"VpcConfig": {"SecurityGroupIds": ["sg-0123456789abcdef0"], "Subnets": ["subnet-1"]}},
            {"RetryStrategy": {"MaximumRetryAttempts": 3}},
            {"StoppingCondition": {"MaxPendingTimeInSeconds": 1800}},
            {"ResourceConfig": {"KeepAlivePeriodInSeconds": 60}},
        ]
    ),
    st.sampled_from(
        [
            {"VpcConfig": {"SecurityGroupIds": [], "Subnets": ["subnet-1"]}},
            {"Bogus": True},
            {"RetryStrategy": {"MaximumRetryAttempts": 0}},
            {"AlgorithmSpecification": {"AlgorithmName": "algo"}},
            {"EnableNetworkIsolation": "yes"},
            {"Environment": {"K": 5}},
            {"StoppingCondition": None},
        ]
    ),
)


@st.composite
def channel(draw: st.DrawFn, group_names: list[str]) -> dict[str, Any]:
    groups = (
        draw(st.lists(st.sampled_from(group_names), max_size=2, unique=True))
        if group_names
        else None
    )
    return {
        "name": draw(channel_names),
        "prefix": draw(st.sampled_from(["", "train/", "a/b/"])),
        "content_type": draw(st.none() | mostly(text, st.text(min_size=257, max_size=260))),
        "input_mode": draw(st.none() | st.sampled_from(InputMode)),
        "compression": draw(st.none() | st.sampled_from(CompressionType)),
        "distribution": draw(st.none() | st.sampled_from(S3DataDistribution)),
        "record_wrapper": draw(st.none() | st.sampled_from(RecordWrapper)),
        "shuffle_seed": draw(st.none() | st.integers(0, 2**40)),
        "groups": draw(mostly(st.just(groups), st.just(["nope"]))),
    }


@st.composite
def prop_sets(draw: st.DrawFn) -> dict[str, Any]:
    use_groups = draw(st.integers(0, 5)) == 0
    groups = (
        draw(
            st.lists(
                st.tuples(st.sampled_from(["a", "b", "c"]), valid_types),
                min_size=1,
                max_size=3,
                unique_by=lambda g: g[0],
            )
        )
        if use_groups
        else []
    )
    channels = draw(
        mostly(
            st.lists(channel([g[0] for g in groups]), max_size=4, unique_by=lambda c: c["name"]),
            st.lists(channel([g[0] for g in groups]), min_size=21, max_size=22),
        )
    )
    runtime = draw(st.none() | mostly(st.integers(1, 2700), st.integers(2701, 10_000)))
    spot = draw(st.none() | st.booleans())
    wait = None
    if spot:
        floor = runtime or 2700
        wait = draw(mostly(st.integers(min(floor, 2700), 2700), st.integers(1, 9000)))
    spec: dict[str, Any] = {
        "channels": channels,
        "training_job_name": draw(st.none() | names),
        "instance_type": None if groups else draw(st.none() | instance_types),
        "instance_count": None
        if groups
        else draw(st.none() | mostly(st.integers(1, 4), st.integers(-1, 0))),
        "groups": groups,
        "volume_gib": draw(st.none() | mostly(st.integers(1, 200), st.just(0))),
        "volume_key": draw(st.booleans()),
        "keep_alive": draw(st.none() | mostly(st.integers(1, 3600), st.integers(3601, 9000))),
        "max_runtime": runtime,
        "max_wait": wait,
        "max_pending": draw(st.none() | mostly(st.integers(1800, 2_419_200), st.integers(1, 1799))),
        "spot_training": spot,
        "checkpoint": draw(st.booleans()),
        "hyperparameters": draw(
            st.none()
            | mostly(
                st.dictionaries(keys, text, max_size=8),
                st.dictionaries(
                    st.text(max_size=5), st.text(max_size=5), min_size=101, max_size=102
                ),
            )
        ),
        "environment": draw(
            st.none()
            | mostly(
                st.dictionaries(st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,10}\Z"), text, max_size=4),
                st.dictionaries(st.text(max_size=4), text, min_size=1, max_size=2),
            )
        ),
        "tags": draw(
            st.none()
            | mostly(
                st.dictionaries(keys, keys, max_size=5),
                st.sampled_from([{"aws:x": "y"}, {f"k{i}": "v" for i in range(50)}]),
            )
        ),
        "metrics": draw(
            st.lists(
                st.tuples(
                    mostly(keys, st.just("")),
                    # A regex with one group for the value (SageMaker's), or none.
                    mostly(keys.map(lambda key: f"{key}=([0-9.]+)"), st.just("")),
                ),
                max_size=3,
            )
        ),
        "entrypoint": draw(st.none() | st.lists(keys, max_size=3)),
        "network_isolation": draw(st.none() | st.booleans()),
        "max_retry_attempts": draw(st.none() | mostly(st.integers(1, 30), st.integers(31, 40))),
        "algorithm_name": draw(st.integers(0, 9)) == 0,
        "additional_request": draw(snippets),
    }
    return spec


class World:
    """One stack, shared by every example (each adds a job with its own id)."""

    def __init__(self) -> None:
        self.stack = Stack(App(), "Props")
        self.bucket = s3.Bucket(self.stack, "Data")
        self.key = kms.Key(self.stack, "Key")
        # An imported, immutable role: grants are no-ops, so the stack stays small.
        self.role = iam.Role.from_role_arn(
            self.stack, "Role", "arn:aws:iam::123456789012:role/execution", mutable=False
        )
        self.ids = itertools.count()
        self.outcomes: dict[str, int] = {"valid": 0, "rejected": 0}


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def _seconds(value: int | None) -> Duration | None:
    return None if value is None or value < 1 else Duration.seconds(value)


def build(world: World, spec: dict[str, Any]) -> TrainingJob:
    bucket = world.bucket
    inputs = [
        TrainingInput.from_bucket(
            c["name"],
            bucket,
            c["prefix"],
            content_type=c["content_type"],
            input_mode=c["input_mode"],
            compression=c["compression"],
            distribution=c["distribution"],
            record_wrapper=c["record_wrapper"],
            shuffle_seed=c["shuffle_seed"],
            instance_group_names=c["groups"],
        )
        for c in spec["channels"]
    ]
    image = (
        TrainingImage.from_algorithm_name("my-algorithm")
        if spec["algorithm_name"]
        else TrainingImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/r:1")
    )
    return TrainingJob(
        world.stack,
        f"Job{next(world.ids)}",
        image=image,
        output=TrainingOutput.to_bucket(bucket, "models/"),
        inputs=inputs,
        role=world.role,
        training_job_name=spec["training_job_name"],
        instance_type=InstanceType.of(spec["instance_type"]) if spec["instance_type"] else None,
        instance_count=spec["instance_count"],
        instance_groups=[
            InstanceGroup(name=name, instance_type=InstanceType.of(kind))
            for name, kind in spec["groups"]
        ],
        volume_size=Size.gibibytes(spec["volume_gib"]) if spec["volume_gib"] is not None else None,
        volume_encryption_key=world.key if spec["volume_key"] else None,
        keep_alive=_seconds(spec["keep_alive"]),
        max_runtime=_seconds(spec["max_runtime"]),
        max_wait=_seconds(spec["max_wait"]),
        max_pending=_seconds(spec["max_pending"]),
        spot_training=spec["spot_training"],
        checkpoint=Checkpoint.to_bucket(bucket, "ck/") if spec["checkpoint"] else None,
        hyperparameters=spec["hyperparameters"],
        environment=spec["environment"],
        tags=spec["tags"],
        metric_definitions=[MetricDefinition(name=n, regex=r) for n, r in spec["metrics"]],
        container_entrypoint=spec["entrypoint"],
        network_isolation=spec["network_isolation"],
        max_retry_attempts=spec["max_retry_attempts"],
        additional_request=spec["additional_request"],
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is reproducible
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=prop_sets())
def test_props_give_a_valid_request_or_the_documented_error(
    world: World, spec: dict[str, Any]
) -> None:
    try:
        job = build(world, spec)
    except ValueError as error:
        assert DOCUMENTED.match(str(error)), f"undocumented error message: {error}"
        world.outcomes["rejected"] += 1
        return
    deliver(job)  # raises ModelValidationError if the API would reject the request
    world.outcomes["valid"] += 1


def test_the_property_explored_both_outcomes(world: World) -> None:
    # Runs after the property in this module: both branches were really taken.
    print(world.outcomes)
    assert world.outcomes["valid"] >= EXAMPLES // 10, world.outcomes
    assert world.outcomes["rejected"] >= EXAMPLES // 10, world.outcomes
