"""SageMaker Debugger's and Profiler's built-in rules, by name, as the SDK sends
them (``Rule.sagemaker(rule_configs.loss_not_decreasing())``): parameters and tensor
collections from ``_algorithms/debugger_rules.json``, the evaluator image of the
job's region, and the debugger hook the rules read."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Size, Stack
from constructs import Construct

from .._shared.suggest import did_you_mean
from . import _algorithms, _registries
from ._config import DebugCollection, DebugHookConfig, ProfilerConfig, RuleConfiguration, S3Location
from ._instance_type import InstanceType
from ._script_mode import as_text

#: Where the rules of each kind go (the prop), and the table of each.
_KINDS = {"debug_rules": "debugger", "profiler_rules": "profiler"}


def _table() -> dict[str, Any]:
    return _algorithms.load_rules()


def builtin(
    rule: str,
    *,
    parameters: Mapping[str, Any] | None,
    name: str | None,
    instance_type: InstanceType | None,
    volume_size: Size | None,
    local_path: str | None,
    output: S3Location | None,
) -> RuleConfiguration:
    """A built-in rule (see :meth:`RuleConfiguration.builtin`), its image unbound."""
    table = _table()
    known = {**table["debugger"], **table["profiler"]}
    if rule not in known:
        raise ValueError(
            f"RuleConfiguration.builtin: rule {rule!r} is not one of SageMaker's built-in "
            f"rules ({', '.join(sorted(known))}).{did_you_mean(rule, known)} For a rule "
            "of your own, create RuleConfiguration(name=..., evaluator_image=...)"
        )
    given = {str(key): as_text(value) for key, value in (parameters or {}).items()}
    bad = {key: value for key, value in given.items() if not isinstance(value, str)}
    if bad:
        raise TypeError(
            f"RuleConfiguration.builtin({rule!r}): parameters must be strings or "
            f"numbers, got {bad!r}"
        )
    return RuleConfiguration(
        name=name or rule,
        evaluator_image="",
        instance_type=instance_type,
        volume_size=volume_size,
        local_path=local_path,
        output=output,
        parameters={**known[rule]["parameters"], **given},
        builtin_rule=rule,
    )


def bind(
    scope: Construct,
    *,
    debug_rules: Sequence[RuleConfiguration],
    profiler_rules: Sequence[RuleConfiguration],
    debug_hook: DebugHookConfig | None,
    profiler: ProfilerConfig | None,
    output: S3Location,
) -> Bound:
    """The job's rules with the region's evaluator image; its debugger hook with the
    collections its built-in debugger rules read, and its profiler on for its
    built-in profiler rules (writing to ``output``, the job's output path, unless
    given: the SDK's defaults)."""
    bound: dict[str, tuple[RuleConfiguration, ...]] = {}
    for prop, rules in (("debug_rules", debug_rules), ("profiler_rules", profiler_rules)):
        bound[prop] = tuple(_bound(scope, prop, rule) for rule in rules)
    return Bound(
        bound["debug_rules"],
        bound["profiler_rules"],
        _hook(debug_rules, debug_hook, output),
        _profiler(scope, profiler_rules, profiler, output),
    )


@dataclasses.dataclass(frozen=True)
class Bound:
    """A job's rules and the configurations they read, bound to the job."""

    debug_rules: tuple[RuleConfiguration, ...]
    profiler_rules: tuple[RuleConfiguration, ...]
    debug_hook: DebugHookConfig | None
    profiler: ProfilerConfig | None


def _profiler(
    scope: Construct,
    rules: Sequence[RuleConfiguration],
    profiler: ProfilerConfig | None,
    output: S3Location,
) -> ProfilerConfig | None:
    if not any(rule.builtin_rule for rule in rules):
        return profiler
    if profiler is not None and profiler.disable:
        raise ValueError(
            f"[{scope.node.path}] profiler_rules: the built-in profiler rules read what the "
            "profiler records, and profiler=ProfilerConfig(disable=True) turns it off: "
            "remove the rules or the disable"
        )
    if profiler is None:
        return ProfilerConfig(output=output, disable=False)
    return profiler if profiler.output else dataclasses.replace(profiler, output=output)


def _hook(
    rules: Sequence[RuleConfiguration], debug_hook: DebugHookConfig | None, output: S3Location
) -> DebugHookConfig | None:
    table = _table()["debugger"]
    builtins = [r.builtin_rule for r in rules if r.builtin_rule is not None]
    if not builtins:
        return debug_hook
    collections = list(debug_hook.collections) if debug_hook is not None else []
    for rule in builtins:
        for collection in table[rule]["collections"]:
            wanted = DebugCollection(
                name=collection["CollectionName"],
                parameters=collection.get("CollectionParameters"),
            )
            if wanted not in collections:
                collections.append(wanted)
    if debug_hook is None:
        return DebugHookConfig(output=output, collections=tuple(collections))
    return dataclasses.replace(debug_hook, collections=tuple(collections))


def _bound(scope: Construct, prop: str, rule: RuleConfiguration) -> RuleConfiguration:
    if rule.builtin_rule is None:
        return rule
    kind = _KINDS[prop]
    table = _table()
    if rule.builtin_rule not in table[kind]:
        other = "profiler_rules" if prop == "debug_rules" else "debug_rules"
        raise ValueError(
            f"[{scope.node.path}] {prop}: {rule.builtin_rule!r} is a built-in rule of "
            f"{'SageMaker Profiler' if kind == 'debugger' else 'SageMaker Debugger'}, "
            f"not of {'Debugger' if kind == 'debugger' else 'Profiler'}: give it in {other}"
        )
    stack = Stack.of(scope)
    uri, _ = _registries.regional_image(
        stack,
        registries=table["registries"],
        mapping_id="SageMakerRuleEvaluatorRegistries",
        repository=table["repository"],
        tag=table["tag"],
        unpublished=lambda region: (
            f"[{scope.node.path}] {prop}: SageMaker publishes no rule evaluator (built-in "
            f"rule {rule.builtin_rule!r}) in {region!r}; its regions: "
            f"{', '.join(sorted(table['registries']))}"
        ),
    )
    return dataclasses.replace(rule, evaluator_image=uri)
