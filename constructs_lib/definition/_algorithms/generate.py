"""Generate the image tables from the SDK's published image-URI data:
``builtin_algorithms.json`` (SageMaker's built-in algorithms) and ``frameworks.json``
(the framework containers that run your own code); and ``debugger_rules.json``
(SageMaker Debugger's and Profiler's built-in rules: their parameters and
collections, from AWS's ``smdebug-rulesconfig``, which the SDK's ``rule_configs``
are, and the rule evaluator's registries).

Run ``python -m constructs_lib.definition._algorithms.generate`` (it downloads the
``sagemaker-core`` wheel with pip, reads its ``image_uri_config/*.json`` and
installs nothing; the ECR host of each region comes from botocore's endpoint data)
and commit the result.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

PACKAGE = "sagemaker-core"
CONFIG_DIR = "sagemaker/core/image_uri_config/"
#: SageMaker's built-in algorithms (the SDK's data also covers frameworks and
#: inference servers, which are not training algorithms of SageMaker's own).
ALGORITHMS = (
    "blazingtext",
    "factorization-machines",
    "forecasting-deepar",
    "image-classification",
    "ipinsights",
    "kmeans",
    "knn",
    "lda",
    "linear-learner",
    "ntm",
    "object-detection",
    "object2vec",
    "pca",
    "randomcutforest",
    "semantic-segmentation",
    "seq2seq",
    "xgboost",
)
#: The framework containers whose training toolkit runs a script (script mode), and
#: the image scopes the library uses: training, and serving what was trained.
#: ``pytorch-neuron`` is PyTorch's image for Trainium instances.
FRAMEWORKS = ("huggingface", "pytorch", "pytorch-neuron", "sklearn", "tensorflow", "xgboost")
SCOPES = ("training", "inference", "inference_graviton")
#: Versions of a framework's config that are not framework containers: XGBoost's
#: "1" is the built-in algorithm's first image (no training toolkit).
NOT_FRAMEWORK_VERSIONS = {"xgboost": ("1",)}


def _registry_index(registries: list[dict[str, str]], registry: dict[str, str]) -> int:
    registry = dict(sorted(registry.items()))
    if registry not in registries:
        registries.append(registry)
    return registries.index(registry)


def build(configs: dict[str, dict[str, Any]], source: str) -> dict[str, Any]:
    """The compact table: registry maps (region -> account) shared between versions."""
    registries: list[dict[str, str]] = []
    algorithms: dict[str, Any] = {}
    for name in ALGORITHMS:
        config = configs[name]
        config = config.get("training", config)
        versions: dict[str, Any] = {}
        for version, entry in config["versions"].items():
            versions[version] = {
                "repository": entry["repository"],
                "registries": _registry_index(registries, entry["registries"]),
            }
        algorithms[name] = {"aliases": config.get("version_aliases", {}), "versions": versions}
    return {"source": source, "registries": registries, "algorithms": algorithms}


def _compact(value: Any, registries: list[dict[str, str]]) -> Any:
    """``value`` with every ``registries`` map replaced by its index in ``registries``."""
    if not isinstance(value, dict):
        return value
    return {
        key: (
            _registry_index(registries, item)
            if key == "registries" and isinstance(item, dict)
            else _compact(item, registries)
        )
        for key, item in value.items()
    }


def build_frameworks(
    configs: dict[str, dict[str, Any]], source: str, hosts: dict[str, str]
) -> dict[str, Any]:
    """The framework table: each framework's config for each scope, as the SDK's
    ``image_uris.retrieve`` reads it, with shared registry maps, and ``hosts``: the ECR
    host of each region (of these images and of the built-in algorithms')."""
    registries: list[dict[str, str]] = []
    frameworks: dict[str, Any] = {}
    for name in FRAMEWORKS:
        scopes: dict[str, Any] = {}
        for scope in SCOPES:
            config = configs[name].get(scope)
            if config is None:
                continue
            config = dict(config)
            dropped = NOT_FRAMEWORK_VERSIONS.get(name, ())
            config["versions"] = {
                version: entry
                for version, entry in config["versions"].items()
                if version not in dropped
            }
            if "version_aliases" in config:
                config["version_aliases"] = {
                    alias: target
                    for alias, target in config["version_aliases"].items()
                    if target not in dropped
                }
            scopes[scope] = _compact(config, registries)
        frameworks[name] = scopes
    return {
        "source": source,
        "hosts": dict(sorted(hosts.items())),
        "registries": registries,
        "frameworks": frameworks,
    }


def ecr_hosts(regions: set[str]) -> dict[str, str]:
    """The ECR host of each region (``ecr.<region>.<partition's DNS suffix>``), as the
    SDK builds image URIs: from botocore's endpoint data."""
    import botocore.loaders  # noqa: PLC0415  (a development dependency)
    import botocore.regions  # noqa: PLC0415

    resolver = botocore.regions.EndpointResolver(
        botocore.loaders.create_loader().load_data("endpoints")
    )
    hosts: dict[str, str] = {}
    for region in sorted(regions):
        endpoint = resolver.construct_endpoint("ecr", region)
        if endpoint is not None:
            hosts[region] = endpoint["hostname"]
    return hosts


def read_wheel(wheel: Path, names: tuple[str, ...] = ALGORITHMS) -> dict[str, dict[str, Any]]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: json.loads(archive.read(f"{CONFIG_DIR}{name}.json")) for name in names}


def _regions(value: Any) -> set[str]:
    if not isinstance(value, dict):
        return set()
    found: set[str] = set()
    for key, item in value.items():
        if key == "registries" and isinstance(item, dict):
            found.update(item)
        else:
            found |= _regions(item)
    return found


#: The rules' package (the SDK v2's pinned version) and the evaluator image.
RULES_PACKAGE = "smdebug-rulesconfig==1.0.1"
RULES_CONFIG = "smdebug_rulesconfig/debugger_rules/rule_config_jsons/ruleConfigs.json"
RULE_EVALUATOR = ("sagemaker-debugger-rules", "latest")


def build_rules(wheel: Path, debugger: dict[str, Any], source: str) -> dict[str, Any]:
    """The built-in rules: debugger rules with the parameters and tensor collections
    the SDK sends for them, profiler rules with their default parameters (as the SDK
    sends them: strings), and the evaluator's account per region."""
    import importlib  # noqa: PLC0415
    import inspect  # noqa: PLC0415

    with zipfile.ZipFile(wheel) as archive:
        configs = json.loads(archive.read(RULES_CONFIG))
    debugger_rules = {
        name: {
            "parameters": config["DebugRuleConfiguration"]["RuleParameters"],
            "collections": config.get("CollectionConfigurations", []),
        }
        for name, config in configs.items()
    }
    sys.path.insert(0, str(wheel))
    try:
        rules = importlib.import_module("smdebug_rulesconfig.profiler_rules.rules")
        profiler_rules = {
            name: {
                "parameters": {
                    **{
                        key: str(parameter.default)
                        for key, parameter in inspect.signature(cls.__init__).parameters.items()
                        if parameter.default is not inspect.Parameter.empty
                    },
                    "rule_to_invoke": name,
                }
            }
            for name, cls in vars(rules).items()
            if inspect.isclass(cls)
            and issubclass(cls, rules.ProfilerRuleBase)
            and cls is not rules.ProfilerRuleBase
        }
    finally:
        sys.path.remove(str(wheel))
    latest = debugger["versions"]["latest"]
    return {
        "source": f"{source}, {wheel.name}",
        "registries": dict(sorted(latest["registries"].items())),
        "repository": latest["repository"],
        "tag": RULE_EVALUATOR[1],
        "debugger": debugger_rules,
        "profiler": profiler_rules,
    }


def main() -> None:
    from . import FRAMEWORK_FILE, RULES_FILE, TABLE_FILE  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", folder, PACKAGE],
            check=True,
        )
        [wheel] = Path(folder).glob("*.whl")
        table = build(read_wheel(wheel), source=wheel.name)
        configs = read_wheel(wheel, FRAMEWORKS)
        [debugger] = read_wheel(wheel, ("debugger",)).values()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                folder,
                RULES_PACKAGE,
            ],
            check=True,
        )
        [rules_wheel] = Path(folder).glob("smdebug_rulesconfig*.whl")
        rules = build_rules(rules_wheel, debugger, source=wheel.name)
    hosts = ecr_hosts(_regions(configs) | _regions(table))
    frameworks = build_frameworks(configs, source=table["source"], hosts=hosts)
    TABLE_FILE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    FRAMEWORK_FILE.write_text(json.dumps(frameworks, indent=1, sort_keys=True) + "\n")
    RULES_FILE.write_text(json.dumps(rules, indent=1, sort_keys=True) + "\n")
    print(f"wrote {TABLE_FILE} and {FRAMEWORK_FILE} from {table['source']}", file=sys.stderr)


if __name__ == "__main__":
    main()
