"""Framework images against the SDK: the URIs ``TrainingImage.from_framework`` (and
the serving images) resolve equal what the SageMaker SDK's ``image_uris.retrieve``
returns, over every framework, version, Python version, processor and scope of the
shipped table, in regions of every partition the images are published in."""

from __future__ import annotations

import itertools
from typing import Any

from constructs_lib.definition._algorithms import frameworks, load_frameworks
from tests import toolkit

#: Every case in the first region, and in one of the others in turn.
REGIONS = ("us-east-1", "eu-central-1", "cn-north-1", "us-gov-west-1", "ap-southeast-7")
INSTANCE_TYPES = {
    # CPU, GPU, the p4d images of old releases, Trainium (PyTorch's Neuron image), P2.
    "training": (
        "ml.m5.xlarge",
        "ml.g5.xlarge",
        "ml.p4d.24xlarge",
        "ml.trn1.2xlarge",
        "ml.p2.xlarge",
    ),
    # CPU, GPU, Graviton, Inferentia.
    "inference": ("ml.m5.xlarge", "ml.g5.xlarge", "ml.c7g.xlarge", "ml.inf1.xlarge"),
}


def _grid() -> list[dict[str, Any]]:
    """Each framework x version (aliases too) x base framework x Python version x
    instance type, for training and inference: in us-east-1, and in one of the other
    regions in turn."""
    table = load_frameworks()["frameworks"]
    cases: list[dict[str, Any]] = []
    regions = itertools.cycle(REGIONS[1:])
    for framework in frameworks.frameworks():
        for scope, instance_types in INSTANCE_TYPES.items():
            config = table[framework].get(scope)
            if config is None:
                continue
            aliases = config.get("version_aliases", {})
            for version in [*config["versions"], *aliases]:
                entry = config["versions"][aliases.get(version, version)]
                bases: list[str | None] = [None]
                if framework == "huggingface":
                    bases = [k for k in entry if k != "version_aliases"]
                    bases += list(entry.get("version_aliases", {}))
                for base in bases:
                    inner = (
                        entry[entry.get("version_aliases", {}).get(base, base)] if base else entry
                    )
                    pythons = inner.get("py_versions") if "repository" in inner else list(inner)
                    for py_version, instance_type, region in itertools.product(
                        pythons or [None], instance_types, (REGIONS[0], None)
                    ):
                        cases.append(
                            {
                                "framework": framework,
                                "version": version,
                                "py_version": py_version,
                                "base_framework_version": base,
                                "instance_type": instance_type,
                                "scope": scope,
                                "region": region or next(regions),
                            }
                        )
    return cases


def _ours(case: dict[str, Any]) -> dict[str, str]:
    try:
        image = frameworks.resolve(
            case["framework"],
            case["version"],
            scope=case["scope"],
            py_version=case["py_version"],
            base_framework_version=case["base_framework_version"],
            instance_type=case["instance_type"],
        )
        return {"uri": image.uri(case["region"])}
    except frameworks.Choice as choice:
        return {"error": str(choice), "argument": choice.argument}


def _substituted(case: dict[str, Any], sdk_uri: str) -> bool:
    """The SDK's one liberty: where a scope has a single version, it returns that
    version's image whatever version was asked for. The library refuses instead."""
    name = case["framework"]
    family = frameworks.instance_family(case["instance_type"])
    scope = case["scope"]
    if family.startswith("trn") or family.startswith("inf"):
        name = f"{name}-neuron"
    if scope == "inference" and family in frameworks.GRAVITON_FAMILIES:
        scope = "inference_graviton"
    config = frameworks.scope_config(name, scope) or {}
    [only] = config.get("versions") or [None]
    tag = sdk_uri.rsplit(":", 1)[1]
    return only is not None and only != case["version"] and tag.startswith(only)


def test_uris_equal_the_sdks() -> None:
    cases = _grid()
    assert len(cases) > 2000
    answers = toolkit.sdk_retrieve(cases)
    agreed = refused = 0
    different: list[str] = []
    compared: set[tuple[str, str, str]] = set()
    for case, ours, sdk in zip(cases, map(_ours, cases), answers, strict=True):
        if "uri" in ours and ours.get("uri") == sdk.get("uri"):
            agreed += 1
            compared.add((case["framework"], case["scope"], case["region"]))
        elif ("error" in ours and "error" in sdk) or (
            ours.get("argument") == "version" and "uri" in sdk and _substituted(case, sdk["uri"])
        ):
            refused += 1
        else:
            different.append(f"{case}: ours {ours}, SDK {sdk}")
    assert not different, "\n".join(different[:20])
    # Most of the grid are images (the rest: Python versions or processors a version
    # does not have, versions of other scopes).
    assert agreed > len(cases) / 2
    assert refused > 0
    # Every framework in both scopes, and every region (China's too), had images.
    assert {(f, s) for f, s, _ in compared} >= {
        (f, s) for f in frameworks.frameworks() for s in INSTANCE_TYPES if f != "huggingface"
    } | {("huggingface", "training"), ("huggingface", "inference")}
    assert {r for _, _, r in compared} == set(REGIONS)
