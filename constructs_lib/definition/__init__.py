"""The request's typed parts: what a job definition says, and the checks of it that need
no job.

Holds the images (:mod:`._image`, :mod:`._framework_image`, :mod:`._registries` and
the data package :mod:`._algorithms`: SageMaker's built-in algorithms, framework
containers and Debugger rules per region), the S3 locations and request sections
(:mod:`._config`), the channels and output (:mod:`._data`), your own code and script
mode (:mod:`._code`, :mod:`._script_mode`), distribution (:mod:`._distribution`), the
debugger and profiler with their built-in rules (:mod:`._debugger`), instance types
(:mod:`._instance_type`), the CreateTrainingJob request rendered from
:class:`TrainingJobProps` (:mod:`._request`), and the synth-time mistakes, cautions and
secrets (:mod:`._mistakes`, :mod:`._cautions`, :mod:`._secrets`).

May import: _shared, security. Imported by: core, serving, schedule, training, tuning,
testing, and the root, which re-exports the names below.
"""

from __future__ import annotations

from ._code import JobCode, TrainingCode
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
    "JobCode",
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
