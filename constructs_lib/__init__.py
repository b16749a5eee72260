"""SageMaker training jobs as resources of a CloudFormation stack, for the AWS CDK."""

from .data import CompressionType, InputMode, TrainingInput, TrainingOutput
from .image import TrainingImage
from .instance_type import InstanceType
from .provider import TrainingJobProvider
from .training_job import TrainingJob

__all__ = [
    "CompressionType",
    "InputMode",
    "InstanceType",
    "TrainingImage",
    "TrainingInput",
    "TrainingJob",
    "TrainingJobProvider",
    "TrainingOutput",
]
