"""SageMaker Debugger and Profiler: the hook that saves tensors, the profiler, the
TensorBoard output, and the rules that evaluate them, in their own containers. The
built-in rules go by name, as the SDK sends them
(``Rule.sagemaker(rule_configs.loss_not_decreasing())``): parameters and tensor
collections from ``_algorithms/debugger_rules.json``, the evaluator image of the job's
region, and the debugger hook the rules read. One module, as the SDK's
``sagemaker.debugger``: the classes and their built-in table need each other."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration, Size
from constructs import Construct

from .._shared.stacks import stack_of
from .._shared.suggest import did_you_mean
from . import _algorithms, _registries
from ._config import S3Location, _optional_map, prune
from ._instance_type import InstanceType
from ._script_mode import as_text

#: Where the rules of each kind go (the prop), and the table of each.
_KINDS = {"debug_rules": "debugger", "profiler_rules": "profiler"}


@dataclass(frozen=True, kw_only=True)
class DebugCollection:
    """A tensor collection the debugger hook saves."""

    name: str
    parameters: Mapping[str, str] | None = None

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune(
            {"CollectionName": self.name, "CollectionParameters": _optional_map(self.parameters)}
        )


@dataclass(frozen=True, kw_only=True)
class DebugHookConfig:
    """SageMaker Debugger's hook: where tensors go and which collections."""

    output: S3Location
    local_path: str | None = None
    hook_parameters: Mapping[str, str] | None = None
    collections: Sequence[DebugCollection] = ()

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune(
            {
                "LocalPath": self.local_path,
                "S3OutputPath": self.output.s3_uri,
                "HookParameters": _optional_map(self.hook_parameters),
                "CollectionConfigurations": [c.render() for c in self.collections] or None,
            }
        )


@dataclass(frozen=True, kw_only=True)
class RuleConfiguration:
    """A Debugger or Profiler rule, evaluated by its own container."""

    name: str
    evaluator_image: str
    instance_type: InstanceType | None = None
    volume_size: Size | None = None
    local_path: str | None = None
    output: S3Location | None = None
    parameters: Mapping[str, str] | None = None
    builtin_rule: str | None = None
    """The built-in rule this is (see :meth:`builtin`); its evaluator image is the
    region's, set when a job binds it."""

    @staticmethod
    def builtin(
        rule: str,
        *,
        parameters: Mapping[str, Any] | None = None,
        name: str | None = None,
        instance_type: InstanceType | None = None,
        volume_size: Size | None = None,
        local_path: str | None = None,
        output: S3Location | None = None,
    ) -> RuleConfiguration:
        """One of SageMaker's built-in Debugger rules (``LossNotDecreasing``,
        ``VanishingGradient``, ``Overfit`` ...) or Profiler rules (``ProfilerReport``,
        ``LowGPUUtilization`` ...), as the SDK's ``Rule.sagemaker(rule_configs...)``
        and ``ProfilerRule.sagemaker(rule_configs...)`` send them: the rule's own
        parameters (``rule_to_invoke``, a profiler rule's defaults), and the evaluator
        image SageMaker publishes in the job's region. A Debugger rule in
        ``debug_rules`` adds the tensor collections it reads to the job's debugger hook
        (a hook writing to the job's output path when ``debug_hook`` is not set).

        :param rule: the rule's name, as SageMaker's rule list spells it.
        :param parameters: the rule's parameters (numbers are sent as strings);
            default: the rule's.
        :param name: the rule configuration's name; default: ``rule``.
        """
        return _builtin(
            rule,
            parameters=parameters,
            name=name,
            instance_type=instance_type,
            volume_size=volume_size,
            local_path=local_path,
            output=output,
        )

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune(
            {
                "RuleConfigurationName": self.name,
                "LocalPath": self.local_path,
                "S3OutputPath": self.output.s3_uri if self.output else None,
                "RuleEvaluatorImage": self.evaluator_image,
                "InstanceType": str(self.instance_type) if self.instance_type else None,
                "VolumeSizeInGB": self.volume_size.to_gibibytes() if self.volume_size else None,
                "RuleParameters": _optional_map(self.parameters),
            }
        )


@dataclass(frozen=True, kw_only=True)
class ProfilerConfig:
    """SageMaker Profiler settings; ``disable=True`` turns the default profiling off."""

    output: S3Location | None = None
    interval: Duration | None = None
    parameters: Mapping[str, str] | None = None
    disable: bool | None = None

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune(
            {
                "S3OutputPath": self.output.s3_uri if self.output else None,
                "ProfilingIntervalInMilliseconds": (
                    self.interval.to_milliseconds() if self.interval else None
                ),
                "ProfilingParameters": _optional_map(self.parameters),
                "DisableProfiler": self.disable,
            }
        )


@dataclass(frozen=True, kw_only=True)
class TensorBoardOutput:
    """Where TensorBoard data is written (synced from ``local_path``)."""

    output: S3Location
    local_path: str | None = None

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune({"LocalPath": self.local_path, "S3OutputPath": self.output.s3_uri})


def _table() -> dict[str, Any]:
    return _algorithms.load_rules()


def _builtin(
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
    stack = stack_of(scope)
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
