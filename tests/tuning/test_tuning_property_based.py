"""Property: any props of a HyperparameterTuningJob either give a request SageMaker's
model accepts (after CloudFormation's stringification and the handler's coercion),
or raise the documented ``ValueError`` at synth. No other exception escapes."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from constructs_lib import (
    CategoricalRange,
    Completion,
    ContinuousRange,
    HyperbandConfig,
    HyperparameterTuningJob,
    IntegerRange,
    MetricDefinition,
    ScalingType,
    TrainingDefinition,
    TrainingImage,
    TrainingInput,
    TrainingOutput,
    TuningObjective,
    TuningStrategy,
    WarmStart,
    WarmStartType,
)
from tests.deliver import deliver_tuning

EXAMPLES = 500
DOCUMENTED = re.compile(r"^\[Tuned/Tune\d+\] \w.*? \([\w., ]+\): .* is invalid: .+", re.S)


def mostly(valid: st.SearchStrategy[Any], invalid: st.SearchStrategy[Any]) -> Any:
    """``valid`` 24 times in 25, else ``invalid`` (the invalid branch is not the one
    hypothesis's simplest examples take)."""
    return st.integers(0, 24).flatmap(lambda n: invalid if n == 24 else valid)


keys = st.from_regex(r"\A[a-z_][a-z0-9_]{0,10}\Z")
numbers = st.floats(-10, 10, allow_nan=False, width=32) | st.integers(-10, 100)


@st.composite
def a_range(draw: st.DrawFn) -> ContinuousRange | IntegerRange | CategoricalRange:
    kind = draw(st.sampled_from(["continuous", "integer", "categorical"]))
    name = draw(mostly(keys, st.sampled_from(["", "num_round"])))
    if kind == "categorical":
        values = draw(mostly(st.lists(keys, min_size=1, max_size=4), st.just([])))
        return CategoricalRange(name, values)
    scaling = draw(
        st.none()
        | mostly(
            st.sampled_from([ScalingType.AUTO, ScalingType.LINEAR]), st.sampled_from(ScalingType)
        )
    )
    if kind == "integer":
        low = draw(mostly(st.integers(1, 20), st.integers(-5, 0)))
        high = draw(mostly(st.integers(low + 1, low + 50), st.integers(low - 3, low)))
        return IntegerRange(name, low, high, scaling=scaling)
    low_f = draw(st.floats(0.0001, 0.9, allow_nan=False))
    high_f = draw(mostly(st.floats(low_f + 0.01, 0.99), numbers))
    return ContinuousRange(name, low_f, float(high_f), scaling=scaling)


@st.composite
def prop_sets(draw: st.DrawFn) -> dict[str, Any]:
    strategy = draw(st.sampled_from(TuningStrategy))
    metrics = draw(st.sampled_from([[], [("loss", r"loss=(\S+)")]]))
    objective = draw(
        mostly(st.just("loss" if metrics else "validation:rmse"), st.sampled_from(["", "other"]))
    )
    total = draw(st.none() | mostly(st.integers(1, 50), st.integers(-1, 0)))
    return {
        "ranges": draw(mostly(st.lists(a_range(), min_size=1, max_size=4), st.just([]))),
        "strategy": strategy,
        "max_jobs": total,
        "max_parallel_jobs": draw(mostly(st.integers(1, 5), st.integers(-1, 0))),
        "max_runtime": draw(st.none() | mostly(st.integers(120, 2700), st.integers(1, 50_000))),
        "early_stopping": draw(st.none() | st.booleans()),
        "hyperband": draw(
            st.none() | st.builds(HyperbandConfig, st.integers(1, 5), st.integers(5, 9))
        )
        if strategy == TuningStrategy.HYPERBAND or draw(st.integers(0, 20)) == 0
        else None,
        "random_seed": draw(st.none() | mostly(st.integers(0, 1000), st.just(-1))),
        "target": draw(st.none() | st.floats(0, 1)),
        "name": draw(
            st.none()
            | mostly(
                st.from_regex(r"\A[a-zA-Z0-9](-?[a-zA-Z0-9]){0,15}\Z"),
                st.text(min_size=1, max_size=40),
            )
        ),
        "tags": draw(
            st.none() | mostly(st.dictionaries(keys, keys, max_size=4), st.just({"aws:x": "y"}))
        ),
        "objective": objective,
        "maximize": draw(st.booleans()),
        "metrics": metrics,
        "static": draw(st.none() | st.dictionaries(keys, keys, max_size=4)),
        "warm_start": draw(st.integers(0, 9)) == 0,
        "wait_condition": draw(st.integers(0, 4)) == 0,
        "additional_request": draw(
            mostly(
                st.sampled_from([{}, {}, {"Autotune": {"Mode": "Enabled"}}, {"Tags": None}]),
                st.sampled_from(
                    [
                        {"Bogus": 1},
                        {"HyperParameterTuningJobConfig": {"Strategy": "Smart"}},
                        {"TrainingJobDefinition": {"EnableNetworkIsolation": "yes"}},
                        {"WarmStartConfig": {"ParentHyperParameterTuningJobs": []}},
                    ]
                ),
            )
        ),
    }


class World:
    """One stack, shared by every example (each adds a tuning job of its own id)."""

    def __init__(self) -> None:
        self.stack = Stack(App(), "Tuned")
        self.bucket = s3.Bucket(self.stack, "Data")
        self.role = iam.Role.from_role_arn(
            self.stack, "Role", "arn:aws:iam::123456789012:role/execution", mutable=False
        )
        self.ids = itertools.count()
        self.outcomes: dict[str, int] = {"valid": 0, "rejected": 0}


@pytest.fixture(scope="module")
def world() -> World:
    return World()


def build(world: World, spec: dict[str, Any]) -> HyperparameterTuningJob:
    objective = (TuningObjective.maximize if spec["maximize"] else TuningObjective.minimize)(
        spec["objective"]
    )
    runtime = spec["max_runtime"]
    return HyperparameterTuningJob(
        world.stack,
        f"Tune{next(world.ids)}",
        training=TrainingDefinition(
            image=TrainingImage.from_registry("123456789012.dkr.ecr.us-east-1.amazonaws.com/r:1"),
            inputs=[TrainingInput.from_bucket("train", world.bucket, "train/")],
            output=TrainingOutput.to_bucket(world.bucket, "tuning/"),
            metric_definitions=[MetricDefinition(name=n, regex=r) for n, r in spec["metrics"]],
            hyperparameters=spec["static"],
            role=world.role,
        ),
        objective=objective,
        ranges=spec["ranges"],
        strategy=spec["strategy"],
        max_jobs=spec["max_jobs"],
        max_parallel_jobs=spec["max_parallel_jobs"],
        max_runtime=Duration.seconds(runtime) if runtime else None,
        early_stopping=spec["early_stopping"],
        hyperband=spec["hyperband"],
        random_seed=spec["random_seed"],
        target_objective_value=spec["target"],
        tuning_job_name=spec["name"],
        tags=spec["tags"],
        warm_start=WarmStart(["parent-tuning-job"], type=WarmStartType.TRANSFER_LEARNING)
        if spec["warm_start"]
        else None,
        completion=Completion.wait_condition() if spec["wait_condition"] else None,
        additional_request=spec["additional_request"],
    )


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=prop_sets())
def test_tuning_props_give_a_valid_request_or_the_documented_error(
    world: World, spec: dict[str, Any]
) -> None:
    try:
        job = build(world, spec)
    except ValueError as error:
        assert DOCUMENTED.match(str(error)), f"undocumented error message: {error}"
        world.outcomes["rejected"] += 1
        return
    deliver_tuning(job)  # raises ModelValidationError if the API would reject it
    world.outcomes["valid"] += 1


def test_the_property_explored_both_outcomes(world: World) -> None:
    print(world.outcomes)
    assert world.outcomes["valid"] >= EXAMPLES // 10, world.outcomes
    assert world.outcomes["rejected"] >= EXAMPLES // 10, world.outcomes
