"""The framework containers' image URIs, resolved from ``frameworks.json`` as the
SageMaker Python SDK's ``image_uris.retrieve`` resolves them (same arguments, same
rules, same tags), without the SDK.

The functions raise :class:`Choice` for a bad argument; the constructs turn it into
an error naming their path and prop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..._shared.suggest import did_you_mean
from . import load_frameworks

TRAINING = "training"
INFERENCE = "inference"
INFERENCE_GRAVITON = "inference_graviton"
HUGGING_FACE = "huggingface"

# The SDK's rules that live in its code rather than its data (sagemaker-core's
# fw_utils.py and image_uris.py); the SDK-differential test checks them.
#: Instance families of AWS Graviton, and the frameworks with Graviton images.
GRAVITON_FAMILIES = frozenset({"m6g", "m6gd", "c6g", "c6gd", "c6gn", "c7g", "r6g", "r6gd"})
GRAVITON_FRAMEWORKS = frozenset({"tensorflow", "pytorch", "xgboost", "sklearn"})
#: The tags of the Graviton images of XGBoost and scikit-learn.
ARM64_TAGS = {
    "xgboost": {"1.5-1": "1.5-1-arm64", "1.3-1": "1.3-1-arm64"},
    "sklearn": {"1.0-1": "1.0-1-arm64-cpu-py3"},
}
#: Container versions the SDK appends on p4d instances (or with smdistributed).
P4D_CONTAINER_VERSIONS = {
    "tensorflow-2.3-gpu-py37": "cu110-ubuntu18.04-v3",
    "tensorflow-2.3.1-gpu-py37": "cu110-ubuntu18.04",
    "tensorflow-2.3.2-gpu-py37": "cu110-ubuntu18.04",
    "tensorflow-1.15-gpu-py37": "cu110-ubuntu18.04-v8",
    "tensorflow-1.15.4-gpu-py37": "cu110-ubuntu18.04",
    "tensorflow-1.15.5-gpu-py37": "cu110-ubuntu18.04",
    "mxnet-1.8-gpu-py37": "cu110-ubuntu16.04-v1",
    "mxnet-1.8.0-gpu-py37": "cu110-ubuntu16.04",
    "pytorch-1.6-gpu-py36": "cu110-ubuntu18.04-v3",
    "pytorch-1.6.0-gpu-py36": "cu110-ubuntu18.04",
    "pytorch-1.6-gpu-py3": "cu110-ubuntu18.04-v3",
    "pytorch-1.6.0-gpu-py3": "cu110-ubuntu18.04",
}
#: Repositories whose tag starts with the Neuron SDK's version.
NEURON_SDK_REPOSITORIES = frozenset({"pytorch-training-neuron", "pytorch-training-neuronx"})
_FAMILY = re.compile(r"^ml[\._]([a-z\d\-]+)\.?\w*$")


class Choice(ValueError):  # noqa: N818  (raised for a choice among valid ones)
    """An argument that is not among the valid choices."""

    def __init__(
        self, argument: str, value: Any, rule: str, choices: Iterable[object] = ()
    ) -> None:
        """:param choices: the valid values, for a 'Did you mean ...?' of a misspelt one."""
        rule += did_you_mean(value, choices)
        super().__init__(f"{argument}: {value!r} is invalid: {rule}")
        self.argument = argument
        self.value = value
        self.rule = rule


def _choices(values: Any) -> str:
    return ", ".join(sorted(map(str, values), key=_version_key))


def _version_key(text: str) -> tuple[Any, ...]:
    """Orders ``1.10`` after ``1.9``, and words after numbers."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"[.-]", text)
    )


def instance_family(instance_type: str | None) -> str:
    """``p3`` of ``ml.p3.2xlarge`` (empty for anything else), as the SDK reads it."""
    match = _FAMILY.match(instance_type) if instance_type else None
    return match[1] if match else ""


def processor_of(instance_type: str) -> str:
    """The image processor an instance type runs: ``cpu``, ``gpu``, ``trn`` or ``inf``."""
    family = instance_family(instance_type)
    if family.startswith("inf"):
        return "inf"
    if family.startswith("trn"):
        return "trn"
    return "gpu" if family[:1] in ("g", "p") else "cpu"


def frameworks() -> list[str]:
    """The frameworks whose containers run your code (not the Neuron variants)."""
    return sorted(name for name in load_frameworks()["frameworks"] if "-neuron" not in name)


def scope_config(framework: str, scope: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = load_frameworks()["frameworks"].get(framework, {}).get(scope)
    return found


def full_version(framework: str, version: str, scope: str = TRAINING) -> str:
    """``version`` with an alias (``2.5``) resolved (``2.5.1``)."""
    config = scope_config(framework, scope) or {}
    return str(config.get("version_aliases", {}).get(version, version))


@dataclass(frozen=True)
class ResolvedImage:
    """A framework image: its repository and tag, and its registries (region ->
    account, the ``registries`` index of ``frameworks.json``)."""

    framework: str
    version: str
    scope: str
    repository: str
    tag: str
    registries: int
    processor: str | None
    py_version: str | None
    base_framework_version: str | None = None
    """Hugging Face's base framework as chosen (``pytorch2.0``), else None."""

    def accounts(self) -> dict[str, str]:
        registries: list[dict[str, str]] = load_frameworks()["registries"]
        return registries[self.registries]

    def uri(self, region: str) -> str:
        """The image URI in ``region`` (published there: see :meth:`check_region`)."""
        from . import ecr_host  # noqa: PLC0415

        self.check_region(region)
        return f"{self.accounts()[region]}.dkr.{ecr_host(region)}/{self.repository}:{self.tag}"

    def check_region(self, region: str) -> None:
        if region not in self.accounts():
            raise Choice(
                "region",
                region,
                f"{self.framework} {self.version} {self.scope} images are published in "
                f"{', '.join(sorted(self.accounts()))}",
            )


@dataclass(frozen=True)
class _Config:
    """A framework's config for a scope, as the instance decides it."""

    name: str  # the config's framework: ``pytorch-neuron`` on Trainium
    scope: str  # ``inference_graviton`` on Graviton
    processor: str | None
    family: str
    config: dict[str, Any]

    @property
    def neuron(self) -> bool:
        return self.name.endswith("-neuron")


def _config(
    framework: str, scope: str, instance_type: str | None, processor: str | None
) -> _Config:
    if framework not in frameworks():
        raise Choice(
            "framework", framework, f"choose one of {', '.join(frameworks())}", frameworks()
        )
    family = instance_family(instance_type)
    if instance_type is not None:
        derived = processor_of(instance_type)
        if processor is not None and processor != derived:
            raise Choice(
                "processor", processor, f"the instance type {instance_type} runs {derived} images"
            )
        processor = derived
    # On Trainium and Inferentia, PyTorch and Hugging Face run their Neuron images.
    name = framework
    if processor in ("trn", "inf") and framework in ("pytorch", HUGGING_FACE):
        name = f"{framework}-neuron"
    elif processor == "trn" and framework != "pytorch":
        raise Choice("framework", framework, "Trainium instances run PyTorch images only")
    if scope != TRAINING and family in GRAVITON_FAMILIES:
        if framework not in GRAVITON_FRAMEWORKS:
            raise Choice(
                "framework",
                framework,
                f"Graviton instances run {', '.join(sorted(GRAVITON_FRAMEWORKS))} images only",
            )
        scope = INFERENCE_GRAVITON
    config = scope_config(name, scope)
    if config is None:
        kind = f"{processor} " if name != framework else ""
        raise Choice(
            "framework", framework, f"SageMaker publishes no {kind}{scope} images of {framework}"
        )
    return _Config(name, scope, processor, family, config)


def resolve(
    framework: str,
    version: str,
    *,
    scope: str,
    py_version: str | None = None,
    base_framework_version: str | None = None,
    instance_type: str | None = None,
    processor: str | None = None,
    smdistributed: bool = False,
) -> ResolvedImage:
    """The image ``image_uris.retrieve(framework, region, version, py_version,
    instance_type, image_scope=scope, base_framework_version=...)`` names.

    One difference, on purpose: where a scope has a single version, the SDK returns it
    whatever version was asked for; this refuses a version that is not published.

    :param instance_type: a concrete instance type, which decides the processor (and
        the Neuron image on Trainium); None when it is not known at synth.
    :param processor: the processor when ``instance_type`` is None (``cpu``, ``gpu``,
        ``trn``); with a concrete instance type it must agree.
    :param smdistributed: whether the job uses SageMaker's distributed libraries
        (their images carry other container versions on some old releases).
    """
    found = _config(framework, scope, instance_type, processor)
    config = found.config
    aliases: dict[str, str] = config.get("version_aliases", {})
    versions: dict[str, Any] = config["versions"]
    if version not in versions and version not in aliases:
        on = f" for {found.processor} instances" if found.neuron else ""
        raise Choice(
            "version",
            version,
            f"{framework} {found.scope} images{on} exist for versions "
            f"{_choices([*versions, *aliases])}",
            [*versions, *aliases],
        )
    full_version = aliases.get(version, version)
    entry: dict[str, Any] = versions[full_version]
    what = f"{framework} {version}"
    if framework == HUGGING_FACE:
        base_framework_version, entry = _base_framework(entry, base_framework_version, what)
        base = re.match(r"^(pytorch|tensorflow)(.*)$", base_framework_version)
        assert base is not None
        tag_prefix = f"{base[2]}-transformers{full_version}"
    else:
        tag_prefix = None
    py_version, entry = _python(entry, py_version, what)
    processors = config.get("processors") or entry.get("processors")
    chosen = _processor(processors, found.processor, instance_type, what)
    _check_deprecated(framework, found.family, full_version)
    tag = _tag(
        found,
        framework,
        version,
        entry,
        tag_prefix=tag_prefix or entry.get("tag_prefix", version),
        processor=chosen,
        py_version=py_version,
        p4d=instance_type is not None and (found.family == "p4d" or smdistributed),
    )
    return ResolvedImage(
        framework=framework,
        version=version,
        scope=found.scope,
        repository=entry["repository"],
        tag=tag,
        registries=entry["registries"],
        processor=chosen,
        py_version=py_version,
        base_framework_version=(
            versions[full_version]
            .get("version_aliases", {})
            .get(base_framework_version, base_framework_version)
            if framework == HUGGING_FACE
            else None
        ),
    )


def _tag(
    found: _Config,
    framework: str,
    version: str,
    entry: dict[str, Any],
    *,
    tag_prefix: str,
    processor: str | None,
    py_version: str | None,
    p4d: bool,
) -> str:
    """The image's tag, as the SDK's ``_get_image_tag`` forms it."""
    if framework in ("xgboost", "sklearn") and found.scope == INFERENCE_GRAVITON:
        arm64 = ARM64_TAGS[framework].get(version)
        if arm64 is None:
            raise Choice(
                "version",
                version,
                f"{framework} Graviton images exist for versions {_choices(ARM64_TAGS[framework])}",
            )
        return arm64
    repository: str = entry["repository"]
    container_version = (entry.get("container_version") or {}).get(processor) if processor else None
    if repository in NEURON_SDK_REPOSITORIES:
        sdk_version = sorted(entry["sdk_versions"], reverse=True)[0]
        container_version = f"{sdk_version}-{container_version}"
    if repository in (f"{framework}-inference-graviton", f"{framework}-inference-arm64"):
        container_version = f"{container_version}-sagemaker"
    shown = processor if entry.get("processor_in_tag", True) else None
    if found.neuron:
        shown = "neuron"  # the SDK's inference tool takes the processor's place
    tag = "-".join(part for part in (tag_prefix, shown, py_version, container_version) if part)
    if p4d:
        suffix = P4D_CONTAINER_VERSIONS.get(f"{framework}-{tag}")
        if suffix:
            tag = f"{tag}-{suffix}"
    return tag


def _base_framework(
    entry: dict[str, Any], base: str | None, what: str
) -> tuple[str, dict[str, Any]]:
    """Hugging Face's base framework (``pytorch2.5``, ``tensorflow2.6``): given, or
    the only one."""
    aliases: dict[str, str] = entry.get("version_aliases", {})
    bases = [key for key in entry if key != "version_aliases"]
    if base is None:
        if len(bases) == 1:
            return bases[0], entry[bases[0]]
        raise Choice(
            "base_framework_version",
            None,
            f"{what} has several base frameworks: choose one of {_choices([*bases, *aliases])}",
        )
    full = aliases.get(base, base)
    if full not in bases:
        raise Choice(
            "base_framework_version",
            base,
            f"{what} images are built on {_choices([*bases, *aliases])}",
        )
    return base, entry[full]


def _python(entry: dict[str, Any], py_version: str | None, what: str) -> tuple[str | None, Any]:
    """The Python version: given, the only one, or none where the image has none."""
    # Python versions are listed, or (old TensorFlow) keys of their own entries.
    available = (entry.get("py_versions") or []) if "repository" in entry else list(entry)
    if not available:
        return None, entry
    if py_version is None:
        if len(available) == 1:
            py_version = available[0]
        else:
            raise Choice(
                "py_version", None, f"{what} needs a Python version: one of {_choices(available)}"
            )
    if py_version not in available:
        raise Choice(
            "py_version", py_version, f"{what} images have {_choices(available)}", available
        )
    return py_version, entry.get(py_version) or entry


def _processor(
    processors: list[str] | None, processor: str | None, instance_type: str | None, what: str
) -> str | None:
    if not processors:
        return None
    if processor is None:
        if len(processors) == 1:
            return processors[0]
        raise Choice(
            "processor",
            None,
            f"{what} has images for {_choices(processors)}: the instance type is not known "
            "at synth, so give processor=",
        )
    if processor not in processors:
        shown = f" for {instance_type}" if instance_type else ""
        raise Choice(
            "processor",
            processor,
            f"{what} has no {processor} image{shown}: it has {_choices(processors)}",
        )
    return processor


def _check_deprecated(framework: str, family: str, version: str) -> None:
    """P2 instances run no PyTorch from 1.13 and no TensorFlow from 2.12 (the SDK)."""
    if family != "p2":
        return
    limit = {"pytorch": (1, 13), "tensorflow": (2, 12)}.get(framework)
    numbers = tuple(int(part) for part in re.findall(r"\d+", version)[:2])
    if limit is not None and numbers >= limit:
        raise Choice(
            "instance_type",
            "ml.p2.*",
            f"P2 instances run no {framework} {'.'.join(map(str, limit))} or later",
        )


def versions_table() -> str:
    """The README's table of the framework containers and their versions (full
    versions; the short ones, ``2.5`` for ``2.5.1``, are accepted too)."""
    rows = [
        "| `from_framework(...)` | training versions | serving versions (`inference_container`) "
        "| processors |",
        "|---|---|---|---|",
    ]
    for name in frameworks():
        training = scope_config(name, TRAINING) or {"versions": {}}
        serving = scope_config(name, INFERENCE) or {"versions": {}}
        processors = set(training.get("processors") or [])
        for entry in training["versions"].values():
            processors.update(entry.get("processors") or [])
            if not training.get("processors") and not entry.get("processors"):
                processors.add("any (one image)")
        if scope_config(f"{name}-neuron", TRAINING):
            processors.add("trn")
        rows.append(
            f"| `{name}` | {_listing(name, training)} | {_listing(name, serving)} "
            f"| {', '.join(sorted(processors))} |"
        )
    return "\n".join(rows)


def _listing(framework: str, config: dict[str, Any]) -> str:
    versions = sorted(config["versions"], key=_version_key)
    if framework != HUGGING_FACE:
        return ", ".join(versions)
    listed = []
    for version in versions:
        bases = [b for b in config["versions"][version] if b != "version_aliases"]
        listed.append(f"{version} ({' / '.join(bases)})")
    return ", ".join(listed)
