"""SageMaker's framework containers (PyTorch, TensorFlow, Hugging Face, scikit-learn,
XGBoost) as training images: resolved per region and processor from the SDK's
image-URI data (``_algorithms/frameworks.json``), as ``image_uris.retrieve`` does."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aws_cdk import Token
from constructs import Construct

from .._shared.stacks import region_of
from ._algorithms import frameworks
from ._algorithms.frameworks import TRAINING, Choice, ResolvedImage

#: The first version whose SDK estimator turns the metrics time series on.
_METRICS_TIME_SERIES_FROM = {"pytorch": (1, 3), "tensorflow": (1, 15), "huggingface": (0,)}


@dataclass(frozen=True)
class FrameworkSpec:
    """What a framework image was asked for, and what it resolved to for a job."""

    framework: str
    version: str
    py_version: str | None
    base_framework_version: str | None
    processor: str | None

    @property
    def metrics_time_series(self) -> bool:
        """Whether the SDK's estimator of this framework turns SageMaker's metrics
        time series on (``enable_sagemaker_metrics``): PyTorch 1.3 and later,
        TensorFlow 1.15 and later, Hugging Face always."""
        first = _METRICS_TIME_SERIES_FROM.get(self.framework)
        if first is None:
            return False
        numbers = tuple(int(part) for part in re.findall(r"\d+", self.version)[:2])
        return numbers >= first

    def resolve(
        self,
        *,
        scope: str,
        instance_type: str | None = None,
        processor: str | None = None,
        smdistributed: bool = False,
        version: str | None = None,
        py_version: str | None = None,
        base_framework_version: str | None = None,
    ) -> ResolvedImage:
        """This framework's image for ``scope`` (the same version and Python unless
        given)."""
        return frameworks.resolve(
            self.framework,
            version or self.version,
            scope=scope,
            py_version=py_version or self.py_version,
            base_framework_version=base_framework_version or self.base_framework_version,
            instance_type=instance_type,
            processor=processor,
            smdistributed=smdistributed,
        )


def describe(spec: FrameworkSpec) -> str:
    arguments = [repr(spec.framework), repr(spec.version)]
    for name in ("py_version", "base_framework_version", "processor"):
        value = getattr(spec, name)
        if value is not None:
            arguments.append(f"{name}={value!r}")
    return f"TrainingImage.from_framework({', '.join(arguments)})"


def job_processor(
    scope: Construct, spec: FrameworkSpec, instance_types: Sequence[str]
) -> tuple[str | None, str | None]:
    """The instance type that decides the image (a concrete one of the job's) and the
    processor to ask for when none is concrete."""
    concrete = [name for name in instance_types if not Token.is_unresolved(name)]
    processors = {frameworks.processor_of(name) for name in concrete}
    if len(processors) > 1:
        raise ValueError(
            f"[{scope.node.path}] image: {describe(spec)} is invalid for instance types "
            f"{', '.join(sorted(set(concrete)))}: they run different images "
            f"({', '.join(sorted(processors))}); use one processor per job"
        )
    if concrete:
        return concrete[0], spec.processor
    return None, spec.processor


def resolve_in(
    scope: Construct, resolve: Callable[[], ResolvedImage], failure: Callable[[Choice], str]
) -> ResolvedImage:
    """``resolve()``, checked against ``scope``'s region when it is known; a bad
    choice becomes an error of ``failure``'s message."""
    try:
        resolved = resolve()
        region = region_of(scope)
        if not Token.is_unresolved(region):
            resolved.check_region(region)
    except Choice as choice:
        raise ValueError(failure(choice)) from None
    return resolved


def resolve_for_job(
    scope: Construct,
    spec: FrameworkSpec,
    *,
    instance_types: Sequence[str],
    smdistributed: bool = False,
) -> ResolvedImage:
    """The training image of ``spec`` for a job of ``instance_types`` in ``scope``'s
    region, or an error naming the job's path, the image and the valid choices."""
    instance_type, processor = job_processor(scope, spec, instance_types)
    return resolve_in(
        scope,
        lambda: spec.resolve(
            scope=TRAINING,
            instance_type=instance_type,
            processor=processor,
            smdistributed=smdistributed,
        ),
        lambda choice: f"[{scope.node.path}] image: {describe(spec)}: {choice}",
    )
