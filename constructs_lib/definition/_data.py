"""Where a training job reads its data and writes its model."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from enum import Enum
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from .._shared.typecheck import arguments, check_props
from ._config import S3Location, grant_key_encrypt_decrypt, prune


class InputMode(Enum):
    """How the algorithm reads a channel (``TrainingInputMode``)."""

    FILE = "File"
    """Download the data to the instance's volume before training starts."""
    FAST_FILE = "FastFile"
    """Stream from S3 on demand, seen by the algorithm as files."""
    PIPE = "Pipe"
    """Stream from S3 through a Unix pipe."""


class CompressionType(Enum):
    """Whether channel data is compressed (``CompressionType``)."""

    NONE = "None"
    GZIP = "Gzip"


class S3DataType(Enum):
    """What the channel's S3 URI names (``S3DataType``)."""

    S3_PREFIX = "S3Prefix"
    MANIFEST_FILE = "ManifestFile"
    AUGMENTED_MANIFEST_FILE = "AugmentedManifestFile"
    CONVERSE = "Converse"


class S3DataDistribution(Enum):
    """How the data is spread over the instances (``S3DataDistributionType``)."""

    FULLY_REPLICATED = "FullyReplicated"
    SHARDED_BY_S3_KEY = "ShardedByS3Key"


class RecordWrapper(Enum):
    """Whether records are wrapped in RecordIO (``RecordWrapperType``)."""

    NONE = "None"
    RECORD_IO = "RecordIO"


class FileSystemType(Enum):
    EFS = "EFS"
    FSX_LUSTRE = "FSxLustre"


class FileSystemAccessMode(Enum):
    READ_WRITE = "rw"
    READ_ONLY = "ro"


class OutputCompression(Enum):
    """How the model artifacts are compressed (``OutputDataConfig.CompressionType``)."""

    GZIP = "GZIP"
    NONE = "NONE"


class TrainingInput:
    """An input channel of a training job: a named data source the algorithm reads.

    Create one with :meth:`from_bucket`, :meth:`from_manifest` or
    :meth:`from_file_system`.
    """

    def __init__(
        self,
        *,
        channel_name: str,
        data_source: dict[str, Any],
        location: S3Location | None = None,
        content_type: str | None = None,
        input_mode: InputMode | None = None,
        compression: CompressionType | None = None,
        record_wrapper: RecordWrapper | None = None,
        shuffle_seed: int | None = None,
    ) -> None:
        self.channel_name = channel_name
        self.data_source = data_source
        self.location = location
        self.content_type = content_type
        self.input_mode = input_mode
        self.compression = compression
        self.record_wrapper = record_wrapper
        self.shuffle_seed = shuffle_seed
        #: The manifest object of a manifest channel.
        self.manifest: S3Location | None = None
        #: A local file uploaded as an asset when the channel is bound to a job.
        self.asset_path: str | None = None

    @staticmethod
    def from_bucket(
        channel_name: str,
        bucket: s3.IBucket,
        key_prefix: str = "",
        *,
        content_type: str | None = None,
        input_mode: InputMode | None = None,
        compression: CompressionType | None = None,
        distribution: S3DataDistribution | None = None,
        record_wrapper: RecordWrapper | None = None,
        shuffle_seed: int | None = None,
        instance_group_names: Sequence[str] | None = None,
    ) -> TrainingInput:
        """A channel reading every object under ``key_prefix`` of ``bucket``.

        :param channel_name: the channel's name, as the algorithm knows it ("train").
        :param key_prefix: the key prefix of the data, e.g. ``"train/"``; default: the
            whole bucket.
        :param content_type: MIME type of the data, e.g. ``"text/csv"``; default: none.
        :param input_mode: default: the job's input mode.
        :param compression: default: none.
        :param distribution: default: ``FULLY_REPLICATED`` (every instance gets all).
        :param record_wrapper: default: none.
        :param shuffle_seed: shuffle the objects (Pipe mode) with this seed; default: no.
        :param instance_group_names: the instance groups that get this channel (for
            heterogeneous clusters); default: all.
        """
        check_props("TrainingInput.from_bucket", TrainingInput.from_bucket, arguments(locals()))
        location = S3Location(bucket, key_prefix)
        return TrainingInput._s3(
            channel_name,
            location,
            S3DataType.S3_PREFIX,
            distribution=distribution,
            instance_group_names=instance_group_names,
            content_type=content_type,
            input_mode=input_mode,
            compression=compression,
            record_wrapper=record_wrapper,
            shuffle_seed=shuffle_seed,
        )

    @staticmethod
    def from_processing_output(
        channel_name: str,
        processing_job: Any,
        output_name: str,
        *,
        content_type: str | None = None,
        input_mode: InputMode | None = None,
        compression: CompressionType | None = None,
        distribution: S3DataDistribution | None = None,
        record_wrapper: RecordWrapper | None = None,
    ) -> TrainingInput:
        """A channel reading what a ``ProcessingJob`` wrote to its output
        ``output_name`` (that job's own folder): training on prepared data. The
        training job starts once the processing job completed, and its role may read
        that output's objects.

        :param processing_job: a ``ProcessingJob`` of the app.
        :param output_name: the name of one of its S3 outputs.
        """
        check_props(
            "TrainingInput.from_processing_output",
            TrainingInput.from_processing_output,
            {k: v for k, v in arguments(locals()).items() if k != "processing_job"},
        )
        location = processing_job.output_location(output_name)
        channel = TrainingInput._s3(
            channel_name,
            location,
            S3DataType.S3_PREFIX,
            distribution=distribution,
            content_type=content_type,
            input_mode=input_mode,
            compression=compression,
            record_wrapper=record_wrapper,
        )
        channel.data_source["S3DataSource"]["S3Uri"] = processing_job.output_uri(output_name)
        return channel

    @staticmethod
    def from_manifest(
        channel_name: str,
        bucket: s3.IBucket,
        manifest_key: str,
        *,
        augmented: bool = False,
        attribute_names: Sequence[str] | None = None,
        data_prefix: str = "",
        content_type: str | None = None,
        input_mode: InputMode | None = None,
        distribution: S3DataDistribution | None = None,
        record_wrapper: RecordWrapper | None = None,
    ) -> TrainingInput:
        """A channel reading the objects a manifest file lists.

        :param manifest_key: the manifest's key in ``bucket``.
        :param augmented: an augmented manifest (JSON lines with attributes).
        :param attribute_names: the attributes of an augmented manifest to read.
        :param data_prefix: the key prefix of the objects the manifest lists, which the
            execution role may read; default: the whole bucket.
        """
        check_props("TrainingInput.from_manifest", TrainingInput.from_manifest, arguments(locals()))
        location = S3Location(bucket, data_prefix)
        channel = TrainingInput._s3(
            channel_name,
            location,
            S3DataType.AUGMENTED_MANIFEST_FILE if augmented else S3DataType.MANIFEST_FILE,
            distribution=distribution,
            attribute_names=attribute_names,
            content_type=content_type,
            input_mode=input_mode,
            record_wrapper=record_wrapper,
        )
        channel.data_source["S3DataSource"]["S3Uri"] = f"s3://{bucket.bucket_name}/{manifest_key}"
        channel.manifest = S3Location(bucket, manifest_key)
        return channel

    @staticmethod
    def from_file_system(
        channel_name: str,
        *,
        file_system_id: str,
        file_system_type: FileSystemType,
        directory_path: str,
        access_mode: FileSystemAccessMode = FileSystemAccessMode.READ_ONLY,
        content_type: str | None = None,
        input_mode: InputMode | None = None,
    ) -> TrainingInput:
        """A channel reading an EFS or FSx for Lustre file system (the job needs a VPC
        that reaches it)."""
        return TrainingInput(
            channel_name=channel_name,
            data_source={
                "FileSystemDataSource": {
                    "FileSystemId": file_system_id,
                    "FileSystemAccessMode": access_mode.value,
                    "FileSystemType": file_system_type.value,
                    "DirectoryPath": directory_path,
                }
            },
            content_type=content_type,
            input_mode=input_mode,
        )

    @staticmethod
    def from_asset(
        channel_name: str,
        path: str,
        *,
        content_type: str | None = None,
        input_mode: InputMode | None = None,
        compression: CompressionType | None = None,
    ) -> TrainingInput:
        """A channel reading a local file, uploaded with the stack as an asset (to the
        bootstrap bucket; CDK skips the upload when the file did not change).

        :param path: a file (a CSV, a RecordIO, a tar...). A directory would be zipped
            by the asset system, which SageMaker cannot read: pack it into one file, or
            deploy it to a bucket (``aws_s3_deployment``) and use :meth:`from_bucket`.
        """
        if not os.path.isfile(path):
            raise ValueError(
                f"TrainingInput.from_asset: path {path!r} is invalid: it must be an "
                "existing file (a directory would be uploaded zipped, which SageMaker "
                "cannot read; pack it into one file or deploy it to a bucket)"
            )
        channel = TrainingInput(
            channel_name=channel_name,
            data_source={},
            content_type=content_type,
            input_mode=input_mode,
            compression=compression,
        )
        channel.asset_path = path
        return channel

    def bind(self, scope: Construct) -> TrainingInput:
        """This channel as a job in ``scope`` uses it: a local file becomes an asset."""
        if self.asset_path is None:
            return self
        digest = hashlib.sha256(self.channel_name.encode()).hexdigest()[:8]
        asset = s3_assets.Asset(scope, f"Input{digest}", path=self.asset_path)
        location = S3Location(asset.bucket, asset.s3_object_key, from_asset=True)
        return TrainingInput._s3(
            self.channel_name,
            location,
            S3DataType.S3_PREFIX,
            content_type=self.content_type,
            input_mode=self.input_mode,
            compression=self.compression,
        )

    @staticmethod
    def _s3(
        channel_name: str,
        location: S3Location,
        data_type: S3DataType,
        *,
        distribution: S3DataDistribution | None = None,
        attribute_names: Sequence[str] | None = None,
        instance_group_names: Sequence[str] | None = None,
        **options: Any,
    ) -> TrainingInput:
        source = prune(
            {
                "S3DataType": data_type.value,
                "S3Uri": location.s3_uri,
                "S3DataDistributionType": (
                    distribution or S3DataDistribution.FULLY_REPLICATED
                ).value,
                "AttributeNames": list(attribute_names) if attribute_names else None,
                "InstanceGroupNames": list(instance_group_names) if instance_group_names else None,
            }
        )
        return TrainingInput(
            channel_name=channel_name,
            data_source={"S3DataSource": source},
            location=location,
            **options,
        )

    @property
    def bucket(self) -> s3.IBucket | None:
        """The channel's bucket (None for a file system or an unbound asset)."""
        return self.location.bucket if self.location else None

    def render(self) -> dict[str, Any]:
        """This channel as a member of the request's ``InputDataConfig``."""
        return prune(
            {
                "ChannelName": self.channel_name,
                "DataSource": self.data_source,
                "ContentType": self.content_type,
                "CompressionType": self.compression.value if self.compression else None,
                "RecordWrapperType": self.record_wrapper.value if self.record_wrapper else None,
                "InputMode": self.input_mode.value if self.input_mode else None,
                "ShuffleConfig": (
                    {"Seed": self.shuffle_seed} if self.shuffle_seed is not None else None
                ),
            }
        )

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` list and read exactly this channel's objects."""
        if self.location is not None:
            self.location.grant_read(grantee)
        if self.manifest is not None:
            self.manifest.grant_get(grantee, exact=True)


class TrainingOutput:
    """Where a training job writes its model artifacts (``OutputDataConfig``)."""

    def __init__(
        self,
        *,
        bucket: s3.IBucket,
        key_prefix: str = "",
        encryption_key: kms.IKey | None = None,
        compression: OutputCompression | None = None,
    ) -> None:
        self.location = S3Location(bucket, key_prefix)
        self.encryption_key = encryption_key
        self.compression = compression

    @staticmethod
    def to_bucket(
        bucket: s3.IBucket,
        key_prefix: str = "",
        *,
        encryption_key: kms.IKey | None = None,
        compression: OutputCompression | None = None,
    ) -> TrainingOutput:
        """Write artifacts under ``key_prefix`` of ``bucket``; SageMaker adds
        ``<job name>/output/model.tar.gz`` below it.

        :param key_prefix: e.g. ``"models/"``; default: the bucket's root.
        :param encryption_key: a KMS key SageMaker encrypts the artifacts with;
            default: the bucket's encryption.
        :param compression: default: ``GZIP`` (SageMaker's default).
        """
        check_props("TrainingOutput.to_bucket", TrainingOutput.to_bucket, arguments(locals()))
        return TrainingOutput(
            bucket=bucket,
            key_prefix=key_prefix,
            encryption_key=encryption_key,
            compression=compression,
        )

    @property
    def bucket(self) -> s3.IBucket:
        """The bucket the artifacts are written to."""
        return self.location.bucket

    @property
    def key_prefix(self) -> str:
        """The key prefix below which SageMaker adds ``<job name>/output/``."""
        return self.location.key_prefix

    @property
    def s3_uri(self) -> str:
        """``S3OutputPath``: ``s3://<bucket>/<key prefix>``."""
        return self.location.s3_uri

    def render(self) -> dict[str, Any]:
        """The request's ``OutputDataConfig``."""
        return prune(
            {
                "KmsKeyId": self.encryption_key.key_arn if self.encryption_key else None,
                "S3OutputPath": self.s3_uri,
                "CompressionType": self.compression.value if self.compression else None,
            }
        )

    def grant_write(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` write (and abort multipart uploads) under the prefix only."""
        self.location.grant_write(grantee)
        if self.encryption_key is not None:
            grant_key_encrypt_decrypt(self.encryption_key, grantee)

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` get what jobs wrote under the prefix (e.g. a model's role)."""
        self.location.grant_get(grantee)
        if self.encryption_key is not None:
            self.encryption_key.grant_decrypt(grantee)
