"""SageMaker training jobs as resources of a CloudFormation stack, for the AWS CDK."""

#: The release; the package's only version source (pyproject.toml reads it).
__version__ = "0.1.0"

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
    "ITrainingJob",
    "ITrainingQueue",
    "ImageConfig",
    "InputMode",
    "InstanceGroup",
    "InstancePlacement",
    "InstanceType",
    "IntegerRange",
    "MetricDefinition",
    "MlflowConfig",
    "ModelPackageConfig",
    "OutputCompression",
    "ParameterRange",
    "PlacementSpecification",
    "ProfilerConfig",
    "RecordWrapper",
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
