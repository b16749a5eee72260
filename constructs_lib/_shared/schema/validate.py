"""Validate a CreateTrainingJob (or CreateHyperParameterTuningJob) request against
the distilled botocore shapes, and against the cross-field rules the API documents.

Pure Python, no CDK: values that are CDK tokens (or CloudFormation intrinsics) are
skipped, never guessed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..suggest import did_you_mean
from . import load

# Java's Unicode classes in a few botocore patterns, widened to Python equivalents:
# a wider class never rejects a valid value.
_JAVA_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\w", r"\p{Z}": r"\s", r"\p{Alnum}": "A-Za-z0-9"}
_STRING_TOKEN = re.compile(r"\$\{Token\[|#\{Token\[")
# CDK encodes number tokens as doubles near -1.8881545897087626e+289.
_NUMBER_TOKEN_LIMIT = -1e289


@dataclass(frozen=True)
class Problem:
    """One violation: where (API path), the value, and the rule it breaks."""

    path: str
    value: Any
    rule: str


def is_unresolved(value: Any) -> bool:
    """Whether ``value`` is (or holds) a CDK token or a CloudFormation intrinsic."""
    if isinstance(value, str):
        return _STRING_TOKEN.search(value) is not None
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value <= _NUMBER_TOKEN_LIMIT
    if isinstance(value, Mapping):
        return len(value) == 1 and (
            next(iter(value)) == "Ref" or str(next(iter(value))).startswith("Fn::")
        )
    # Any other object than a list (an IResolvable) resolves at synth time.
    return not isinstance(value, list | tuple)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    for java, python in _JAVA_CLASSES.items():
        pattern = pattern.replace(java, python)
    try:
        return re.compile(pattern)
    except re.error:  # pragma: no cover - every pattern of today's model compiles
        return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _describe(value: Any) -> str:
    return type(value).__name__


class Validator:
    """Walks a request along the schema's shapes and yields each :class:`Problem`."""

    def __init__(self, schema: Mapping[str, Any] | None = None) -> None:
        schema = schema or load()
        self.shapes: Mapping[str, Any] = schema["shapes"]
        self.root: str = schema["root"]

    def shape(self, path: str) -> Mapping[str, Any]:
        """The shape at an API path such as ``ResourceConfig.InstanceType``."""
        shape: Mapping[str, Any] = self.shapes[self.root]
        for part in path.split("."):
            shape = self.shapes[shape["members"][part]]
        return shape

    def problems(self, request: Mapping[str, Any]) -> list[Problem]:
        return list(self._check(request, self.root, ""))

    def _check(self, value: Any, shape_name: str, path: str) -> Iterator[Problem]:
        if is_unresolved(value):
            return
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            yield from self._structure(value, shape, path)
        elif kind == "list":
            yield from self._list(value, shape, path)
        elif kind == "map":
            yield from self._map(value, shape, path)
        elif kind == "string":
            yield from self._string(value, shape, path)
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                yield Problem(path, value, f"must be an integer, not a {_describe(value)}")
            else:
                yield from self._range(value, shape, path, "")
        elif kind in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                yield Problem(path, value, f"must be a number, not a {_describe(value)}")
            else:
                yield from self._range(value, shape, path, "")
        elif kind == "boolean" and not isinstance(value, bool):
            yield Problem(path, value, f"must be true or false, not a {_describe(value)}")

    def _structure(self, value: Any, shape: Mapping[str, Any], path: str) -> Iterator[Problem]:
        if not isinstance(value, Mapping):
            yield Problem(path, value, f"must be an object, not a {_describe(value)}")
            return
        members = shape["members"]
        for name in shape["required"]:
            if name not in value:
                yield Problem(_join(path, name), None, "is required")
        for name, item in value.items():
            if name not in members:
                known = ", ".join(members)
                yield Problem(
                    _join(path, name),
                    item,
                    f"is not a member of {path or 'the request'}; its members are {known}",
                )
                continue
            yield from self._check(item, members[name], _join(path, name))

    def _list(self, value: Any, shape: Mapping[str, Any], path: str) -> Iterator[Problem]:
        if not isinstance(value, list | tuple):
            yield Problem(path, value, f"must be a list, not a {_describe(value)}")
            return
        if not any(is_unresolved(item) and isinstance(item, str) for item in value):
            yield from self._range(len(value), shape, path, " items")
        for index, item in enumerate(value):
            yield from self._check(item, shape["member"], f"{path}[{index}]")

    def _map(self, value: Any, shape: Mapping[str, Any], path: str) -> Iterator[Problem]:
        if not isinstance(value, Mapping):
            yield Problem(path, value, f"must be an object, not a {_describe(value)}")
            return
        yield from self._range(len(value), shape, path, " entries")
        for key, item in value.items():
            for problem in self._check(key, shape["key"], path):
                yield Problem(path, key, f"keys {problem.rule}")
            yield from self._check(item, shape["value"], f"{path}[{key!r}]")

    def _string(self, value: Any, shape: Mapping[str, Any], path: str) -> Iterator[Problem]:
        if not isinstance(value, str):
            yield Problem(path, value, f"must be a string, not a {_describe(value)}")
            return
        if "enum" in shape and value not in shape["enum"]:
            choices = shape["enum"]
            shown = ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
            yield Problem(path, value, f"must be one of {shown}{did_you_mean(value, choices)}")
            return
        yield from self._range(len(value), shape, path, " characters", value)
        pattern = shape.get("pattern")
        compiled = _compiled(pattern) if pattern else None
        if compiled is not None and compiled.fullmatch(value) is None:
            yield Problem(path, value, f"must match the pattern {pattern}")

    @staticmethod
    def _range(
        size: float, shape: Mapping[str, Any], path: str, unit: str, shown: Any = None
    ) -> Iterator[Problem]:
        """``min``/``max`` of the shape: a value's own bounds, or a size's (``unit``)."""
        value = size if shown is None else shown
        verb = "have" if unit else "be"
        if "min" in shape and size < shape["min"]:
            yield Problem(path, value, f"must {verb} at least {shape['min']}{unit}")
        if "max" in shape and size > shape["max"]:
            yield Problem(path, value, f"must {verb} at most {shape['max']}{unit}")


# ---------------------------------------------------------------------------
# Cross-field rules, each as the API documentation states it
# ---------------------------------------------------------------------------


def _present(container: Mapping[str, Any] | None, key: str) -> bool:
    return isinstance(container, Mapping) and container.get(key) is not None


def _number(value: Any) -> float | None:
    """``value`` as a number, or None when it is absent, a token or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or is_unresolved(value):
        return None
    return float(value)


def cross_field_problems(request: Mapping[str, Any]) -> list[Problem]:
    """The rules that span several members (the shapes cannot state them)."""
    rules = (
        _algorithm_rules,
        _stopping_rules,
        _resource_rules,
        _serverless_rules,
        _uniqueness_rules,
    )
    return [problem for rule in rules for problem in rule(request)]


def _is_serverless(request: Mapping[str, Any]) -> bool:
    return request.get("ServerlessJobConfig") is not None


def _is_spot(request: Mapping[str, Any]) -> bool:
    return request.get("EnableManagedSpotTraining") is True


def _algorithm_rules(request: Mapping[str, Any]) -> Iterator[Problem]:
    algorithm = request.get("AlgorithmSpecification")
    if isinstance(algorithm, Mapping):
        if _present(algorithm, "TrainingImage") == _present(algorithm, "AlgorithmName"):
            yield Problem(
                "AlgorithmSpecification",
                {k: algorithm.get(k) for k in ("TrainingImage", "AlgorithmName")},
                "needs exactly one of TrainingImage and AlgorithmName",
            )
    elif not _is_serverless(request):
        yield Problem("AlgorithmSpecification", None, "is required unless ServerlessJobConfig")
    if not _is_serverless(request):
        for member in ("ResourceConfig", "StoppingCondition"):
            if request.get(member) is None:
                yield Problem(member, None, "is required unless ServerlessJobConfig")


def _stopping_rules(request: Mapping[str, Any]) -> Iterator[Problem]:
    stopping = request.get("StoppingCondition")
    spot = _is_spot(request)
    if not isinstance(stopping, Mapping):
        if spot:
            yield Problem("StoppingCondition", None, "is required with managed spot training")
        return
    path = "StoppingCondition.MaxWaitTimeInSeconds"
    wait = stopping.get("MaxWaitTimeInSeconds")
    if spot and wait is None:
        yield Problem(
            path, None, "is required with managed spot training (EnableManagedSpotTraining)"
        )
    if wait is not None and not spot:
        yield Problem(
            path, wait, "applies only to managed spot training (EnableManagedSpotTraining)"
        )
    runtime = stopping.get("MaxRuntimeInSeconds")
    wait_seconds, runtime_seconds = _number(wait), _number(runtime)
    if wait_seconds is not None and runtime_seconds is not None and wait_seconds < runtime_seconds:
        yield Problem(path, wait, f"must be at least MaxRuntimeInSeconds ({runtime})")


def _resource_rules(request: Mapping[str, Any]) -> Iterator[Problem]:
    resources = request.get("ResourceConfig")
    if not isinstance(resources, Mapping):
        return
    groups = resources.get("InstanceGroups")
    if groups:
        for member in ("InstanceType", "InstanceCount"):
            if _present(resources, member):
                yield Problem(
                    f"ResourceConfig.{member}",
                    resources[member],
                    "cannot be set with InstanceGroups (a heterogeneous cluster sets them "
                    "per group)",
                )
    preferences = resources.get("InstancePreferences")
    if preferences:
        for member in ("InstanceType", "InstanceGroups", "InstancePlacementConfig"):
            if _present(resources, member):
                yield Problem(
                    f"ResourceConfig.{member}",
                    resources[member],
                    "is mutually exclusive with InstancePreferences",
                )
        if _is_spot(request):
            yield Problem(
                "EnableManagedSpotTraining",
                True,
                "is mutually exclusive with ResourceConfig.InstancePreferences",
            )
        if _present(resources, "TrainingPlanArn") and any(
            isinstance(p, Mapping) and p.get("TrainingPlanArns") for p in preferences
        ):
            yield Problem(
                "ResourceConfig.TrainingPlanArn",
                resources["TrainingPlanArn"],
                "is mutually exclusive with per-preference TrainingPlanArns",
            )
    for member in ("SelectedInstanceType", "SelectedInstanceCount"):
        if _present(resources, member):
            yield Problem(
                f"ResourceConfig.{member}",
                resources[member],
                "is read-only: DescribeTrainingJob returns it, CreateTrainingJob does not "
                "accept it",
            )
    yield from _instance_group_references(request, groups)


def _serverless_rules(request: Mapping[str, Any]) -> Iterator[Problem]:
    config = request.get("ServerlessJobConfig")
    if not isinstance(config, Mapping):
        return
    resources = request.get("ResourceConfig")
    if isinstance(resources, Mapping) and _present(resources, "VolumeSizeInGB"):
        yield Problem(
            "ResourceConfig.VolumeSizeInGB",
            resources["VolumeSizeInGB"],
            "cannot be set for a serverless job: SageMaker selects the volume size",
        )
    if config.get("JobType") == "Evaluation" and config.get("EvaluationType") is None:
        yield Problem(
            "ServerlessJobConfig.EvaluationType", None, "is required when JobType is Evaluation"
        )


def _uniqueness_rules(request: Mapping[str, Any]) -> Iterator[Problem]:
    yield from _unique(request.get("InputDataConfig"), "ChannelName", "InputDataConfig")
    yield from _unique(request.get("Tags"), "Key", "Tags")
    for member in ("DebugRuleConfigurations", "ProfilerRuleConfigurations"):
        yield from _unique(request.get(member), "RuleConfigurationName", member)
    hook = request.get("DebugHookConfig")
    if isinstance(hook, Mapping):
        yield from _unique(
            hook.get("CollectionConfigurations"),
            "CollectionName",
            "DebugHookConfig.CollectionConfigurations",
        )
    yield from tag_key_problems(request.get("Tags"))


def tag_key_problems(tags: Any) -> Iterator[Problem]:
    """Tag keys with the ``aws:`` prefix (of a request's ``Tags``), which AWS reserves."""
    for index, tag in enumerate(tags if isinstance(tags, list) else []):
        key = tag.get("Key") if isinstance(tag, Mapping) else None
        if isinstance(key, str) and not is_unresolved(key) and key.lower().startswith("aws:"):
            yield Problem(f"Tags[{index}].Key", key, "the 'aws:' prefix is reserved for AWS")


def _unique(items: Any, key: str, path: str) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, item in enumerate(items or []):
        value = item.get(key) if isinstance(item, Mapping) else None
        if not isinstance(value, str) or is_unresolved(value):
            continue
        if value in seen:
            yield Problem(f"{path}[{index}].{key}", value, f"must be unique within {path}")
        seen.add(value)


def _instance_group_references(request: Mapping[str, Any], groups: Any) -> Iterator[Problem]:
    names = {g.get("InstanceGroupName") for g in groups or [] if isinstance(g, Mapping)}
    for index, channel in enumerate(request.get("InputDataConfig") or []):
        source = channel.get("DataSource", {}) if isinstance(channel, Mapping) else {}
        s3 = source.get("S3DataSource", {}) if isinstance(source, Mapping) else {}
        wanted = s3.get("InstanceGroupNames") if isinstance(s3, Mapping) else None
        for name in wanted or []:
            if isinstance(name, str) and not is_unresolved(name) and name not in names:
                yield Problem(
                    f"InputDataConfig[{index}].DataSource.S3DataSource.InstanceGroupNames",
                    name,
                    "must name an instance group of ResourceConfig.InstanceGroups",
                )
