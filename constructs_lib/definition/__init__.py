"""definition"""

from __future__ import annotations

from ._code import TrainingCode
from ._config import (
    Checkpoint,
    ExperimentConfig,
    InstanceGroup,
    InstancePlacement,
    MetricDefinition,
    MlflowConfig,
    ModelPackageConfig,
    PlacementSpecification,
    S3Location,
    ServerlessJobConfig,
    ServerlessJobType,
)
from ._data import (
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
from ._debugger import (
    DebugCollection,
    DebugHookConfig,
    ProfilerConfig,
    RuleConfiguration,
    TensorBoardOutput,
)
from ._distribution import Distribution
from ._image import ImageConfig, TrainingImage
from ._instance_type import InstanceType
from ._request import TrainingJobProps, render_request

__all__ = [
    "Checkpoint",
    "CompressionType",
    "DebugCollection",
    "DebugHookConfig",
    "Distribution",
    "ExperimentConfig",
    "FileSystemAccessMode",
    "FileSystemType",
    "ImageConfig",
    "InputMode",
    "InstanceGroup",
    "InstancePlacement",
    "InstanceType",
    "MetricDefinition",
    "MlflowConfig",
    "ModelPackageConfig",
    "OutputCompression",
    "PlacementSpecification",
    "ProfilerConfig",
    "RecordWrapper",
    "RuleConfiguration",
    "S3DataDistribution",
    "S3DataType",
    "S3Location",
    "ServerlessJobConfig",
    "ServerlessJobType",
    "TensorBoardOutput",
    "TrainingCode",
    "TrainingImage",
    "TrainingInput",
    "TrainingJobProps",
    "TrainingOutput",
    "render_request",
]
