"""Typed value classes for the sections of the CreateTrainingJob request.

Each renders its section in the API's own shape with ``render()``; classes that
name S3 locations also grant the execution role what SageMaker needs there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._shared.remembered import bucket_arn, bucket_key, bucket_name, objects_arn
from .._shared.stacks import stack_of
from .._shared.typecheck import arguments, check_props
from ..security._compact import allow_list_bucket
from ..security._nag import KMS_ENCRYPT_DECRYPT, acknowledge_statement, add_statement
from ..security._principal import acknowledgment_scope
from ._instance_type import InstanceType


def grant_key_encrypt_decrypt(key: kms.IKey, grantee: iam.IGrantable) -> None:
    """Encrypt and decrypt with ``key`` (multipart uploads to SSE-KMS need both)."""
    key.grant_encrypt_decrypt(grantee)
    acknowledge_statement(
        grantee.grant_principal,
        KMS_ENCRYPT_DECRYPT,
        [],
        "aws-cdk-lib's KMS encrypt/decrypt grant: the kms:ReEncrypt* and "
        "kms:GenerateDataKey* action families, on this one key.",
    )


def prune(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drop unset (None) members, as the API wants them absent."""
    return {key: value for key, value in values.items() if value is not None}


def _optional_map(values: Mapping[str, str] | None) -> dict[str, str] | None:
    return dict(sorted(values.items())) if values else None


@dataclass(frozen=True)
class S3Location:
    """A bucket and key prefix, e.g. where the debugger or TensorBoard writes."""

    bucket: s3.IBucket
    key_prefix: str = ""
    #: Whether the CDK's bootstrap bucket holds it (a file asset the CDK uploads).
    from_asset: bool = False

    @staticmethod
    def of(bucket: s3.IBucket, key_prefix: str = "") -> S3Location:
        """The objects under ``key_prefix`` of ``bucket`` (default: the whole bucket)."""
        return S3Location(bucket, key_prefix)

    @property
    def s3_uri(self) -> str:
        """``s3://<bucket>/<key prefix>``."""
        return f"s3://{bucket_name(self.bucket)}/{self.key_prefix}"

    @property
    def folder_prefix(self) -> str:
        """The key prefix as a folder: empty, or ending in '/' (S3 matches by prefix,
        and 'job-1' would take 'job-10' too)."""
        prefix = self.key_prefix
        return prefix if not prefix or prefix.endswith("/") else f"{prefix}/"

    @property
    def folder_uri(self) -> str:
        """``s3://<bucket>/<folder prefix>``: where folders under this location start."""
        return f"s3://{bucket_name(self.bucket)}/{self.folder_prefix}"

    @property
    def _key(self) -> kms.IKey | None:
        """The bucket's customer key (read once per bucket)."""
        return bucket_key(self.bucket)

    def _in_another_stack(self, principal: iam.IPrincipal) -> bool:
        """Whether the principal's template refers to the bucket of another stack."""
        scope = acknowledgment_scope(principal)
        return isinstance(scope, Construct) and stack_of(self.bucket) is not stack_of(scope)

    def grant_write(self, grantee: iam.IGrantable) -> None:
        """Put objects (and abort multipart uploads) under the prefix only."""
        principal = grantee.grant_principal
        add_statement(
            principal,
            actions=["s3:PutObject", "s3:AbortMultipartUpload"],
            resources=[objects_arn(self.bucket, f"{self.key_prefix}*")],
            cross_stack=self._in_another_stack(principal),
            reason="SageMaker writes objects whose names it chooses (the job name, checkpoint "
            "and tensor files) under this prefix: the wildcard is the prefix itself.",
        )
        if self._key is not None:
            grant_key_encrypt_decrypt(self._key, grantee)

    def grant_get(self, grantee: iam.IGrantable, *, exact: bool = False) -> None:
        """Get the objects under the prefix (or, ``exact``, the one object it names)."""
        pattern = self.key_prefix if exact else f"{self.key_prefix}*"
        principal = grantee.grant_principal
        add_statement(
            principal,
            actions=["s3:GetObject"],
            resources=[objects_arn(self.bucket, pattern)],
            cross_stack=self._in_another_stack(principal),
            reason="Reads the objects under this key prefix only (a channel, or a job's "
            "artifacts): the wildcard is the prefix itself.",
        )
        if self._key is not None:
            self._key.grant_decrypt(grantee)

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """List the prefix and get its objects."""
        self.grant_get(grantee)
        allow_list_bucket(grantee.grant_principal, bucket_arn(self.bucket), self.key_prefix)


@dataclass(frozen=True)
class MetricDefinition:
    """A metric the algorithm prints, captured from its logs by ``regex`` (its first
    group is the value): ``MetricDefinition("validation:rmse", r"rmse=([0-9.]+)")``."""

    name: str
    regex: str

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return {"Name": self.name, "Regex": self.regex}


@dataclass(frozen=True, kw_only=True)
class InstanceGroup:
    """A group of a heterogeneous cluster (``ResourceConfig.InstanceGroups``)."""

    name: str
    instance_type: InstanceType
    instance_count: int = 1

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return {
            "InstanceGroupName": self.name,
            "InstanceType": str(self.instance_type),
            "InstanceCount": self.instance_count,
        }


@dataclass(frozen=True, kw_only=True)
class PlacementSpecification:
    """How many instances to place on an UltraServer."""

    instance_count: int
    ultra_server_id: str | None = None

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune({"UltraServerId": self.ultra_server_id, "InstanceCount": self.instance_count})


@dataclass(frozen=True, kw_only=True)
class InstancePlacement:
    """Placement of the job's instances within UltraServers (UltraServer capacity only)."""

    enable_multiple_jobs: bool | None = None
    specifications: Sequence[PlacementSpecification] = ()

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune(
            {
                "EnableMultipleJobs": self.enable_multiple_jobs,
                "PlacementSpecifications": [s.render() for s in self.specifications] or None,
            }
        )


@dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """Where managed spot training (or your code) keeps checkpoints: synced between
    ``local_path`` in the container (default ``/opt/ml/checkpoints``) and S3, under a
    folder of each job's own (``<prefix><job name>/``) unless ``shared``."""

    location: S3Location
    local_path: str | None = None
    shared: bool = False

    @staticmethod
    def to_bucket(
        bucket: s3.IBucket,
        key_prefix: str = "",
        *,
        local_path: str | None = None,
        shared: bool = False,
    ) -> Checkpoint:
        """Checkpoints under ``key_prefix`` of ``bucket``, in a folder named after each
        job (``<key prefix><job name>/``, filled in when the job is created, as the
        SDK fills in ``sagemaker_job_name``): a retraining, a scheduled run or a
        replacement starts from none of an earlier job's checkpoints, only a job
        SageMaker resumes (a spot interruption) from its own.

        :param local_path: default: SageMaker's ``/opt/ml/checkpoints``.
        :param shared: every job of the construct syncs ``key_prefix`` itself, so a
            new job resumes the last one's checkpoints (a synth warning says so: a job
            with changed hyperparameters would resume a model trained with others).
            Default: off.
        """
        check_props("Checkpoint.to_bucket", Checkpoint.to_bucket, arguments(locals()))
        return Checkpoint(
            location=S3Location(bucket, key_prefix), local_path=local_path, shared=shared
        )

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing (the location under which
        each job's folder goes)."""
        return prune({"S3Uri": self.location.s3_uri, "LocalPath": self.local_path})

    def named_location(self) -> dict[str, str] | None:
        """The job's own folder, ``{"Prefix", "Suffix"}`` around its name; None when
        shared."""
        if self.shared:
            return None
        # (A trailing '/': S3 syncs by prefix, and 'job-1' would take 'job-10' too.)
        return {"Prefix": self.location.folder_uri, "Suffix": "/"}

    def grant(self, grantee: iam.IGrantable) -> None:
        """Checkpoints are written, and read back after an interruption."""
        self.location.grant_read(grantee)
        self.location.grant_write(grantee)


@dataclass(frozen=True, kw_only=True)
class ExperimentConfig:
    """Associate the job with a SageMaker Experiments experiment, trial and run."""

    experiment_name: str | None = None
    trial_name: str | None = None
    trial_component_display_name: str | None = None
    run_name: str | None = None

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune(
            {
                "ExperimentName": self.experiment_name,
                "TrialName": self.trial_name,
                "TrialComponentDisplayName": self.trial_component_display_name,
                "RunName": self.run_name,
            }
        )


@dataclass(frozen=True, kw_only=True)
class MlflowConfig:
    """Log to a SageMaker managed MLflow tracking server."""

    resource_arn: str
    experiment_name: str | None = None
    run_name: str | None = None

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune(
            {
                "MlflowResourceArn": self.resource_arn,
                "MlflowExperimentName": self.experiment_name,
                "MlflowRunName": self.run_name,
            }
        )


class ServerlessJobType(Enum):
    """``ServerlessJobConfig.JobType``."""

    FINE_TUNING = "FineTuning"
    EVALUATION = "Evaluation"


@dataclass(frozen=True, kw_only=True)
class ServerlessJobConfig:
    """A serverless training job (model customization or evaluation). SageMaker
    chooses instances and volume: ``volume_size`` must then stay unset."""

    base_model_arn: str
    job_type: ServerlessJobType
    accept_eula: bool | None = None
    customization_technique: str | None = None
    peft: str | None = None
    evaluation_type: str | None = None
    evaluator_arn: str | None = None
    sequence_length: str | None = None

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune(
            {
                "BaseModelArn": self.base_model_arn,
                "AcceptEula": self.accept_eula,
                "JobType": self.job_type.value,
                "CustomizationTechnique": self.customization_technique,
                "Peft": self.peft,
                "EvaluationType": self.evaluation_type,
                "EvaluatorArn": self.evaluator_arn,
                "SequenceLength": self.sequence_length,
            }
        )


@dataclass(frozen=True, kw_only=True)
class ModelPackageConfig:
    """Register the trained model in a model package group."""

    model_package_group_arn: str
    source_model_package_arn: str | None = None

    def render(self) -> dict[str, Any]:
        """This value in the request\'s own shape and casing."""
        return prune(
            {
                "ModelPackageGroupArn": self.model_package_group_arn,
                "SourceModelPackageArn": self.source_model_package_arn,
            }
        )
