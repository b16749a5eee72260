"""The CreateHyperParameterTuningJob request outside its training definition: the
props (captured once), the prop that sets each member, the request and config the
props render, and the rules of the request that its shapes cannot state."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration

from .._shared.schema import load
from .._shared.schema.validate import Problem, Validator, is_unresolved
from ..core._completion import CompletionMode
from ..core._problems import tag_problems
from ..core._timing import MAX_WAIT_CONDITION_RUNTIME, MAX_WAITED_RUNTIME
from ..definition._config import prune
from ..definition._request import dataclass_of, merge, props_for_path, render_tags
from ._config import (
    HyperbandConfig,
    ParameterRange,
    TuningObjective,
    TuningStrategy,
    WarmStart,
    render_ranges,
)
from ._definition import DEFINITION_PROPS

OPERATION = "CreateHyperParameterTuningJob"
SCHEMA = load(OPERATION)
VALIDATOR = Validator(SCHEMA)
#: SageMaker's limit of a tuning job's run (ResourceLimits.MaxRuntimeInSeconds).
MAX_TUNING_RUNTIME_SECONDS = int(
    SCHEMA["shapes"]["HyperParameterTuningMaxRuntimeInSeconds"].get("max", 15768000)
)
#: Training jobs a tuning job runs unless told (not for the grid strategy, whose
#: number is the number of combinations).
DEFAULT_MAX_JOBS = 10

CONFIG = "HyperParameterTuningJobConfig"
#: The prop that sets each member of the tuning request outside the training definition.
_PROP_FOR_PATH = {
    "HyperParameterTuningJobName": "tuning_job_name",
    f"{CONFIG}.Strategy": "strategy",
    f"{CONFIG}.StrategyConfig": "hyperband",
    f"{CONFIG}.HyperParameterTuningJobObjective": "objective",
    f"{CONFIG}.ResourceLimits.MaxNumberOfTrainingJobs": "max_jobs",
    f"{CONFIG}.ResourceLimits.MaxParallelTrainingJobs": "max_parallel_jobs",
    f"{CONFIG}.ResourceLimits.MaxRuntimeInSeconds": "max_runtime",
    f"{CONFIG}.ParameterRanges": "ranges",
    f"{CONFIG}.TrainingJobEarlyStoppingType": "early_stopping",
    f"{CONFIG}.RandomSeed": "random_seed",
    f"{CONFIG}.TuningJobCompletionCriteria.TargetObjectiveMetricValue": "target_objective_value",
    "WarmStartConfig": "warm_start",
    "Tags": "tags",
    "Autotune": "autotune",
    "completion": "completion",
    "max_quota_wait": "max_quota_wait",
}


def tuning_props_for_path(path: str) -> str:
    """The prop(s) that set the member at ``path`` of a CreateHyperParameterTuningJob
    request (``training.<prop>`` inside the training definition)."""
    plain = re.sub(r"\[[^\]]*\]", "", path)
    if plain.startswith("TrainingJobDefinition."):
        inner = plain.removeprefix("TrainingJobDefinition.")
        if inner.startswith("StaticHyperParameters"):
            inner = "HyperParameters" + inner.removeprefix("StaticHyperParameters")
        # Of the props that set the member in a TrainingJob, those a TrainingDefinition has.
        props = [prop for prop in props_for_path(inner).split(", ") if prop in DEFINITION_PROPS]
        if not props:
            return "additional_request"
        return ", ".join(f"training.{prop}" for prop in props)
    parts = plain.split(".")
    for depth in range(len(parts), 0, -1):
        prop = _PROP_FOR_PATH.get(".".join(parts[:depth]))
        if prop:
            return prop
    return "additional_request"


#: Members of the tuning job's config listed member by member (some typed, some not).
_EXPANDED = ("ResourceLimits", "TuningJobCompletionCriteria")


def api_member_paths() -> list[str]:
    """Every member of a CreateHyperParameterTuningJob request, down to the members of
    its config and of its training definition: the rows of the README's table."""
    shapes = SCHEMA["shapes"]
    paths: list[str] = []
    for member in shapes[SCHEMA["root"]]["members"]:
        if member == CONFIG:
            for child, shape in shapes[CONFIG]["members"].items():
                if child in _EXPANDED:
                    paths.extend(f"{member}.{child}.{leaf}" for leaf in shapes[shape]["members"])
                else:
                    paths.append(f"{member}.{child}")
        elif member == "TrainingJobDefinition":
            definition = shapes["HyperParameterTrainingJobDefinition"]["members"]
            paths.extend(f"{member}.{child}" for child in definition)
        else:
            paths.append(member)
    return paths


def render_config(
    *,
    strategy: TuningStrategy,
    hyperband: HyperbandConfig | None,
    objective: TuningObjective,
    ranges: Sequence[ParameterRange],
    json_values: bool,
    mode: CompletionMode,
    max_jobs: int | None,
    max_parallel_jobs: int,
    max_runtime: Duration | None,
    early_stopping: bool | None,
    random_seed: int | None,
    target_objective_value: float | None,
) -> dict[str, Any]:
    """The ``HyperParameterTuningJobConfig`` of the props, ``max_runtime`` defaulting
    to what completion ``mode`` waits, ``max_jobs`` to DEFAULT_MAX_JOBS (but for the
    grid strategy)."""
    if max_runtime is None:
        max_runtime = {
            CompletionMode.WAIT: MAX_WAITED_RUNTIME,
            CompletionMode.WAIT_CONDITION: MAX_WAIT_CONDITION_RUNTIME,
        }.get(mode)
    if max_jobs is None and strategy != TuningStrategy.GRID:
        max_jobs = DEFAULT_MAX_JOBS
    return prune(
        {
            "Strategy": strategy.value,
            "StrategyConfig": hyperband.render() if hyperband else None,
            "HyperParameterTuningJobObjective": objective.render(),
            "ResourceLimits": prune(
                {
                    "MaxNumberOfTrainingJobs": max_jobs,
                    "MaxParallelTrainingJobs": max_parallel_jobs,
                    "MaxRuntimeInSeconds": int(max_runtime.to_seconds()) if max_runtime else None,
                }
            ),
            "ParameterRanges": render_ranges(ranges, json_values=json_values) or None,
            "TrainingJobEarlyStoppingType": (
                None if early_stopping is None else ("Auto" if early_stopping else "Off")
            ),
            "RandomSeed": random_seed,
            "TuningJobCompletionCriteria": (
                None
                if target_objective_value is None
                else {"TargetObjectiveMetricValue": target_objective_value}
            ),
        }
    )


@dataclass(frozen=True, kw_only=True)
class TuningProps:
    """What a ``HyperparameterTuningJob`` renders beside its training definition (see
    the construct for each prop's meaning and default)."""

    objective: TuningObjective
    ranges: tuple[ParameterRange, ...]
    max_jobs: int | None = None
    max_parallel_jobs: int = 1
    max_runtime: Duration | None = None
    strategy: TuningStrategy = TuningStrategy.BAYESIAN
    hyperband: HyperbandConfig | None = None
    early_stopping: bool | None = None
    random_seed: int | None = None
    target_objective_value: float | None = None
    warm_start: WarmStart | None = None
    autotune: bool | None = None
    tags: Mapping[str, str] | None = None
    tuning_job_name: str | None = None
    additional_request: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> TuningProps:
        """The props among the constructor's ``arguments``, captured once."""
        return dataclass_of(cls, arguments, tuples=frozenset({"ranges"}))


def render_tuning_request(
    props: TuningProps, definition: dict[str, Any], *, json_values: bool, mode: CompletionMode
) -> dict[str, Any]:
    """The CreateHyperParameterTuningJob request of ``props`` around the rendered
    training ``definition``, ``additional_request`` merged last."""
    config = render_config(
        strategy=props.strategy,
        hyperband=props.hyperband,
        objective=props.objective,
        ranges=props.ranges,
        json_values=json_values,
        mode=mode,
        max_jobs=props.max_jobs,
        max_parallel_jobs=props.max_parallel_jobs,
        max_runtime=props.max_runtime,
        early_stopping=props.early_stopping,
        random_seed=props.random_seed,
        target_objective_value=props.target_objective_value,
    )
    request = prune(
        {
            "HyperParameterTuningJobName": props.tuning_job_name,
            CONFIG: config,
            "TrainingJobDefinition": definition,
            "WarmStartConfig": props.warm_start.render() if props.warm_start else None,
            "Tags": render_tags(props.tags) if props.tags else None,
            "Autotune": {"Mode": "Enabled"} if props.autotune else None,
        }
    )
    return merge(request, props.additional_request or {})


def runtime_shortfall(
    request: Mapping[str, Any], training_request: Mapping[str, Any]
) -> tuple[int, int, int, int, int] | None:
    """``(jobs, at a time, seconds each, seconds needed, max runtime)`` when the
    training jobs, max_parallel_jobs at a time and each as long as its stopping
    condition lets it run, may need more than the tuning job's max runtime."""
    limits = request.get(CONFIG, {}).get("ResourceLimits") or {}
    stopping = training_request.get("StoppingCondition") or {}
    spot = training_request.get("EnableManagedSpotTraining") is True
    values = [
        limits.get("MaxNumberOfTrainingJobs"),
        limits.get("MaxParallelTrainingJobs"),
        limits.get("MaxRuntimeInSeconds"),
        stopping.get("MaxWaitTimeInSeconds" if spot else "MaxRuntimeInSeconds"),
    ]
    numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0]
    if len(numbers) < len(values):
        return None
    total, parallel, runtime, each = numbers
    needed = -(-total // parallel) * each
    return None if needed <= runtime else (total, parallel, each, needed, runtime)


def longest_run_seconds(request: Mapping[str, Any]) -> float | None:
    """How long the tuning job may run, where the request says so concretely."""
    limits = request.get(CONFIG, {}).get("ResourceLimits") or {}
    value = limits.get("MaxRuntimeInSeconds")
    if value is None or is_unresolved(value) or isinstance(value, bool):
        return None
    return float(value) if isinstance(value, int | float) else None


def number(value: Any) -> float | None:
    if isinstance(value, bool) or is_unresolved(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def tuning_problems(request: Mapping[str, Any]) -> list[Problem]:
    """The rules of a tuning request that its shapes cannot state, as the API
    documentation states them, and the library's own (tags)."""
    problems: list[Problem] = []
    config = request.get(CONFIG)
    if not isinstance(config, Mapping):
        return problems
    strategy = config.get("Strategy")
    limits = config.get("ResourceLimits") or {}
    total, parallel = (
        number(limits.get("MaxNumberOfTrainingJobs")),
        number(limits.get("MaxParallelTrainingJobs")),
    )
    if total is not None and parallel is not None and parallel > total:
        problems.append(
            Problem(
                f"{CONFIG}.ResourceLimits.MaxParallelTrainingJobs",
                int(parallel),
                f"must be at most MaxNumberOfTrainingJobs ({int(total)})",
            )
        )
    if config.get("StrategyConfig") is not None and strategy != "Hyperband":
        problems.append(
            Problem(
                f"{CONFIG}.StrategyConfig",
                config["StrategyConfig"],
                "is only supported with the Hyperband strategy",
            )
        )
    if strategy == "Hyperband" and config.get("TrainingJobEarlyStoppingType") == "Auto":
        problems.append(
            Problem(
                f"{CONFIG}.TrainingJobEarlyStoppingType",
                "Auto",
                "must be Off with the Hyperband strategy, which stops jobs early by itself",
            )
        )
    problems.extend(_range_problems(request, config, strategy))
    problems.extend(tag_problems(request))
    return problems


def _range_problems(
    request: Mapping[str, Any], config: Mapping[str, Any], strategy: Any
) -> list[Problem]:
    problems: list[Problem] = []
    ranges = config.get("ParameterRanges")
    definition = request.get("TrainingJobDefinition") or {}
    if not isinstance(ranges, Mapping) or is_unresolved(ranges):
        ranges = {}
    if not any(ranges.get(member) for member in ranges) and not request.get("Autotune"):
        problems.append(
            Problem(
                f"{CONFIG}.ParameterRanges",
                None,
                "needs at least one range: a tuning job searches hyperparameters",
            )
        )
    static = definition.get("StaticHyperParameters") or {}
    seen: set[str] = set()
    for member, items in ranges.items():
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                continue
            path = f"{CONFIG}.ParameterRanges.{member}[{index}]"
            name = item.get("Name")
            if isinstance(name, str) and not is_unresolved(name):
                if name in seen:
                    problems.append(Problem(f"{path}.Name", name, "is searched by another range"))
                seen.add(name)
                if isinstance(static, Mapping) and name in static:
                    problems.append(
                        Problem(
                            f"{path}.Name",
                            name,
                            "is also a static hyperparameter: a hyperparameter is either "
                            "tuned or static",
                        )
                    )
            if strategy == "Grid" and member != "CategoricalParameterRanges":
                problems.append(
                    Problem(
                        path, item.get("Name"), "the Grid strategy searches categorical ranges only"
                    )
                )
            if member != "CategoricalParameterRanges":
                problems.extend(_numeric_range_problems(path, member, item))
    objective = (config.get("HyperParameterTuningJobObjective") or {}).get("MetricName")
    algorithm = definition.get("AlgorithmSpecification") or {}
    metrics = algorithm.get("MetricDefinitions")
    if isinstance(objective, str) and not is_unresolved(objective) and isinstance(metrics, list):
        names = [m.get("Name") for m in metrics if isinstance(m, Mapping)]
        if names and objective not in names and not any(is_unresolved(n) for n in names):
            problems.append(
                Problem(
                    f"{CONFIG}.HyperParameterTuningJobObjective.MetricName",
                    objective,
                    "is not among the training definition's metric definitions "
                    f"({', '.join(map(str, names))})",
                )
            )
    return problems


def _numeric_range_problems(path: str, member: str, item: Mapping[str, Any]) -> list[Problem]:
    low, high = number(item.get("MinValue")), number(item.get("MaxValue"))
    if low is None or high is None:
        text = item.get("MinValue") if low is None else item.get("MaxValue")
        if is_unresolved(text):
            return []
        bound = "MinValue" if low is None else "MaxValue"
        return [Problem(f"{path}.{bound}", text, "must be a number")]
    problems: list[Problem] = []
    if member == "IntegerParameterRanges":
        for bound, value in (("MinValue", low), ("MaxValue", high)):
            if not value.is_integer():
                problems.append(Problem(f"{path}.{bound}", item.get(bound), "must be an integer"))
    if low >= high:
        problems.append(
            Problem(
                f"{path}.MaxValue",
                item.get("MaxValue"),
                f"must be greater than MinValue ({item.get('MinValue')})",
            )
        )
    scaling = item.get("ScalingType")
    if scaling == "Logarithmic" and low <= 0:
        problems.append(
            Problem(
                f"{path}.MinValue",
                item.get("MinValue"),
                "must be greater than 0 with Logarithmic scaling",
            )
        )
    if scaling == "ReverseLogarithmic":
        if member == "IntegerParameterRanges":
            problems.append(
                Problem(
                    f"{path}.ScalingType",
                    scaling,
                    "ReverseLogarithmic applies to continuous ranges only",
                )
            )
        elif low < 0 or high >= 1:
            problems.append(
                Problem(
                    f"{path}.MaxValue" if high >= 1 else f"{path}.MinValue",
                    item.get("MaxValue") if high >= 1 else item.get("MinValue"),
                    "ReverseLogarithmic scaling needs a range within [0, 1)",
                )
            )
    return problems
