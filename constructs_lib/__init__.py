"""SageMaker training jobs as resources of a CloudFormation stack, for the AWS CDK.

The names below load on first use, so that what needs none of them (the
``constructs-lib`` console command, ``python -m constructs_lib``) does not import the
AWS CDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: The release; the package's only version source (pyproject.toml reads it).
__version__ = "0.1.0"

if TYPE_CHECKING:
    from ._registering import ModelApproval
    from .code import TrainingCode
    from .completion import Completion, CompletionMode
    from .config import (
        Checkpoint,
        DebugCollection,
        DebugHookConfig,
        ExperimentConfig,
        InstanceGroup,
        InstancePlacement,
        MetricDefinition,
        MlflowConfig,
        ModelPackageConfig,
        PlacementSpecification,
        ProfilerConfig,
        RuleConfiguration,
        S3Location,
        ServerlessJobConfig,
        ServerlessJobType,
        TensorBoardOutput,
    )
    from .data import (
        CompressionType,
        FileSystemAccessMode,
        FileSystemType,
        InputMode,
        OutputCompression,
        RecordWrapper,
        S3DataDistribution,
        S3DataType,
        TrainingInput,
        TrainingOutput,
    )
    from .distribution import Distribution
    from .image import ImageConfig, TrainingImage
    from .instance_type import InstanceType
    from .provider import TrainingJobProvider
    from .quality_gate import MetricThreshold
    from .registry import IModelPackageGroup, ModelPackageGroup, RegisteredModel
    from .request import TrainingJobProps, render_request
    from .training_job import ITrainingJob, TrainingJob
    from .training_queue import FairShare, ITrainingQueue, TrainingQueue
    from .tuning import HyperparameterTuningJob, IHyperparameterTuningJob, TrainingDefinition
    from .tuning_config import (
        CategoricalRange,
        ContinuousRange,
        HyperbandConfig,
        IntegerRange,
        ParameterRange,
        ScalingType,
        TuningObjective,
        TuningStrategy,
        WarmStart,
        WarmStartType,
    )

#: Where each public name lives (what ``__getattr__`` imports on first use).
_EXPORTS = {
    "TrainingCode": ".code",
    "Completion": ".completion",
    "CompletionMode": ".completion",
    "Checkpoint": ".config",
    "DebugCollection": ".config",
    "DebugHookConfig": ".config",
    "ExperimentConfig": ".config",
    "InstanceGroup": ".config",
    "InstancePlacement": ".config",
    "MetricDefinition": ".config",
    "MlflowConfig": ".config",
    "ModelPackageConfig": ".config",
    "PlacementSpecification": ".config",
    "ProfilerConfig": ".config",
    "RuleConfiguration": ".config",
    "S3Location": ".config",
    "ServerlessJobConfig": ".config",
    "ServerlessJobType": ".config",
    "TensorBoardOutput": ".config",
    "CompressionType": ".data",
    "FileSystemAccessMode": ".data",
    "FileSystemType": ".data",
    "InputMode": ".data",
    "OutputCompression": ".data",
    "RecordWrapper": ".data",
    "S3DataDistribution": ".data",
    "S3DataType": ".data",
    "MetricThreshold": ".quality_gate",
    "ModelApproval": "._registering",
    "IModelPackageGroup": ".registry",
    "ModelPackageGroup": ".registry",
    "RegisteredModel": ".registry",
    "TrainingInput": ".data",
    "TrainingOutput": ".data",
    "Distribution": ".distribution",
    "ImageConfig": ".image",
    "TrainingImage": ".image",
    "InstanceType": ".instance_type",
    "TrainingJobProvider": ".provider",
    "TrainingJobProps": ".request",
    "render_request": ".request",
    "ITrainingJob": ".training_job",
    "TrainingJob": ".training_job",
    "FairShare": ".training_queue",
    "ITrainingQueue": ".training_queue",
    "TrainingQueue": ".training_queue",
    "HyperparameterTuningJob": ".tuning",
    "IHyperparameterTuningJob": ".tuning",
    "TrainingDefinition": ".tuning",
    "CategoricalRange": ".tuning_config",
    "ContinuousRange": ".tuning_config",
    "HyperbandConfig": ".tuning_config",
    "IntegerRange": ".tuning_config",
    "ParameterRange": ".tuning_config",
    "ScalingType": ".tuning_config",
    "TuningObjective": ".tuning_config",
    "TuningStrategy": ".tuning_config",
    "WarmStart": ".tuning_config",
    "WarmStartType": ".tuning_config",
}

__all__ = [
    "CategoricalRange",
    "Checkpoint",
    "Completion",
    "CompletionMode",
    "CompressionType",
    "ContinuousRange",
    "DebugCollection",
    "DebugHookConfig",
    "Distribution",
    "ExperimentConfig",
    "FairShare",
    "FileSystemAccessMode",
    "FileSystemType",
    "HyperbandConfig",
    "HyperparameterTuningJob",
    "IHyperparameterTuningJob",
    "IModelPackageGroup",
    "ITrainingJob",
    "ITrainingQueue",
    "ImageConfig",
    "InputMode",
    "InstanceGroup",
    "InstancePlacement",
    "InstanceType",
    "IntegerRange",
    "MetricDefinition",
    "MetricThreshold",
    "MlflowConfig",
    "ModelApproval",
    "ModelPackageConfig",
    "ModelPackageGroup",
    "OutputCompression",
    "ParameterRange",
    "PlacementSpecification",
    "ProfilerConfig",
    "RecordWrapper",
    "RegisteredModel",
    "RuleConfiguration",
    "S3DataDistribution",
    "S3DataType",
    "S3Location",
    "ScalingType",
    "ServerlessJobConfig",
    "ServerlessJobType",
    "TensorBoardOutput",
    "TrainingCode",
    "TrainingDefinition",
    "TrainingImage",
    "TrainingInput",
    "TrainingJob",
    "TrainingJobProps",
    "TrainingJobProvider",
    "TrainingOutput",
    "TrainingQueue",
    "TuningObjective",
    "TuningStrategy",
    "WarmStart",
    "WarmStartType",
    "render_request",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
