"""Keywords a call does not take, answered in the library's words: Python's own
``TypeError: __init__() got an unexpected keyword argument 'max_run'`` names neither the
construct nor what to write instead. A keyword the SageMaker SDK uses is named with the
library's (``max_run`` -> ``max_runtime``), a misspelt one with the closest prop.

Imports only the standard library.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .suggest import did_you_mean

F = TypeVar("F", bound=Callable[..., Any])

#: The SageMaker SDK's keywords (estimators, ModelTrainer, tuner) and the library's.
SDK_KEYWORDS: Mapping[str, str] = {
    "max_run": "max_runtime= (a Duration: Duration.minutes(40))",
    "use_spot_instances": "spot_training=True",
    "compute": "instance_type=InstanceType.of(...) and instance_count=",
    "instance_config": "instance_type=InstanceType.of(...) and instance_count=",
    "checkpoint_s3_uri": "checkpoint=Checkpoint.to_bucket(bucket, 'checkpoints/')",
    "checkpoint_local_path": "checkpoint=Checkpoint.to_bucket(..., local_path=...)",
    "entry_point": "code=TrainingCode.from_directory(source_dir, entry_point=...)",
    "source_dir": "code=TrainingCode.from_directory(source_dir, entry_point=...)",
    "source_code": "code=TrainingCode.from_directory(source_dir, entry_point=...)",
    "image_uri": "image=TrainingImage.from_registry(uri) (or .from_framework, .from_algorithm)",
    "training_image": "image=TrainingImage.from_registry(uri)",
    "framework_version": "image=TrainingImage.from_framework(framework, version)",
    "output_path": "output=TrainingOutput.to_bucket(bucket, 'models/')",
    "output_data_config": "output=TrainingOutput.to_bucket(bucket, 'models/')",
    "volume_kms_key": "volume_encryption_key= (a kms.IKey)",
    "output_kms_key": "output=TrainingOutput.to_bucket(..., encryption_key=)",
    "subnets": "vpc= and vpc_subnets=",
    "security_group_ids": "security_groups=",
    "enable_network_isolation": "network_isolation=",
    "encrypt_inter_container_traffic": "inter_container_traffic_encryption=",
    "keep_alive_period_in_seconds": "keep_alive= (a Duration)",
    "base_job_name": "the construct id (or training_job_name=)",
    "job_name": "training_job_name=",
    "enable_sagemaker_metrics": "enable_metrics_time_series=",
    "rules": "debug_rules= and profiler_rules= (RuleConfiguration.builtin(...))",
    "debugger_hook_config": "debug_hook=",
    "profiler_config": "profiler=",
    "max_wait_time_in_seconds": "max_wait= (a Duration)",
    "volume_size_in_gb": "volume_size= (a Size: Size.gibibytes(100))",
    "objective_metric_name": "objective=TuningObjective.minimize('...') (or .maximize)",
    "objective_type": "objective=TuningObjective.minimize('...') (or .maximize)",
    "hyperparameter_ranges": "ranges=[ContinuousRange(...), IntegerRange(...), ...]",
    "estimator": "training=TrainingDefinition(...)",
}


def _path(arguments: inspect.BoundArguments | None, where: str) -> str:
    """``[<scope path>/<id>] <where>``, when the call makes a construct;
    ``[<path>] <where>`` when it is a construct's method."""
    if arguments is None:
        return where
    scope = arguments.arguments.get("scope")
    construct_id = arguments.arguments.get("construct_id")
    node = getattr(scope, "node", None)
    if node is not None and isinstance(construct_id, str):
        path = f"{node.path}/{construct_id}" if node.path else construct_id
        return f"[{path}] {where}"
    try:
        owner = arguments.arguments["self"].node
    except Exception:  # not a construct, or one not made yet
        return where
    return f"[{owner.path}] {where}"


def keywords(where: str, *, refused: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """A call's unknown keywords answered in the library's words: ``where`` names the
    call (``TrainingJob``), ``refused`` says why a keyword that exists elsewhere is not
    taken here (``keep_alive`` on a tuning job's training)."""

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        accepted = [
            name
            for name, parameter in signature.parameters.items()
            if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
            and name != "self"
        ]

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            unknown = [name for name in kwargs if name not in signature.parameters]
            if unknown:
                known = {k: v for k, v in kwargs.items() if k in signature.parameters}
                try:
                    bound: inspect.BoundArguments | None = signature.bind_partial(*args, **known)
                except TypeError:
                    bound = None
                raise TypeError(_message(_path(bound, where), unknown[0], accepted, refused))
            return function(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def _message(where: str, name: str, accepted: list[str], refused: Mapping[str, str] | None) -> str:
    rule = f"{where}: {name}= is not a keyword of it"
    if refused and name in refused:
        return f"{rule}: {refused[name]}"
    if name in SDK_KEYWORDS:
        return f"{rule}: the SageMaker SDK's {name}= is {SDK_KEYWORDS[name]} here"
    hint = did_you_mean(name, accepted)
    if hint:
        return f"{rule}.{hint}"
    props = [a for a in accepted if a not in ("scope", "construct_id")]
    return f"{rule}. It takes: {', '.join(props)}"
