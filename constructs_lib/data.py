"""Where a training job reads its data and writes its model."""

from __future__ import annotations

from enum import Enum
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3


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


def _s3_uri(bucket: s3.IBucket, key_prefix: str) -> str:
    return f"s3://{bucket.bucket_name}/{key_prefix}"


class TrainingInput:
    """An input channel of a training job: a named S3 location the algorithm reads."""

    def __init__(
        self,
        *,
        channel_name: str,
        bucket: s3.IBucket,
        key_prefix: str,
        content_type: str | None = None,
        input_mode: InputMode | None = None,
        compression: CompressionType | None = None,
    ) -> None:
        self.channel_name = channel_name
        self.bucket = bucket
        self.key_prefix = key_prefix
        self.content_type = content_type
        self.input_mode = input_mode
        self.compression = compression

    @staticmethod
    def from_bucket(
        channel_name: str,
        bucket: s3.IBucket,
        key_prefix: str = "",
        *,
        content_type: str | None = None,
        input_mode: InputMode | None = None,
        compression: CompressionType | None = None,
    ) -> TrainingInput:
        """A channel reading every object under ``key_prefix`` of ``bucket``.

        :param channel_name: the channel's name, as the algorithm knows it ("train").
        :param key_prefix: the key prefix of the data, e.g. ``"train/"``; default: the
            whole bucket.
        :param content_type: MIME type of the data, e.g. ``"text/csv"``; default: none
            (the algorithm's default).
        :param input_mode: default: the job's input mode (``File`` unless set).
        :param compression: default: none.
        """
        return TrainingInput(
            channel_name=channel_name,
            bucket=bucket,
            key_prefix=key_prefix,
            content_type=content_type,
            input_mode=input_mode,
            compression=compression,
        )

    @property
    def s3_uri(self) -> str:
        return _s3_uri(self.bucket, self.key_prefix)

    def render(self) -> dict[str, Any]:
        """This channel as a member of the request's ``InputDataConfig``."""
        channel: dict[str, Any] = {
            "ChannelName": self.channel_name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": self.s3_uri,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
        if self.content_type is not None:
            channel["ContentType"] = self.content_type
        if self.input_mode is not None:
            channel["InputMode"] = self.input_mode.value
        if self.compression is not None:
            channel["CompressionType"] = self.compression.value
        return channel

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` list and read exactly this channel's objects."""
        principal = grantee.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{self.key_prefix}*")],
            )
        )
        principal.add_to_principal_policy(_list_prefix_statement(self.bucket, self.key_prefix))
        if self.bucket.encryption_key is not None:
            self.bucket.encryption_key.grant_decrypt(grantee)


class TrainingOutput:
    """Where a training job writes its model artifacts (``OutputDataConfig``)."""

    def __init__(self, *, bucket: s3.IBucket, key_prefix: str = "") -> None:
        self.bucket = bucket
        self.key_prefix = key_prefix

    @staticmethod
    def to_bucket(bucket: s3.IBucket, key_prefix: str = "") -> TrainingOutput:
        """Write artifacts under ``key_prefix`` of ``bucket``; SageMaker adds
        ``<job name>/output/model.tar.gz`` below it.

        :param key_prefix: e.g. ``"models/"``; default: the bucket's root.
        """
        return TrainingOutput(bucket=bucket, key_prefix=key_prefix)

    @property
    def s3_uri(self) -> str:
        return _s3_uri(self.bucket, self.key_prefix)

    def render(self) -> dict[str, Any]:
        """The request's ``OutputDataConfig``."""
        return {"S3OutputPath": self.s3_uri}

    def grant_write(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` write (and abort multipart uploads) under the prefix only."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[self.bucket.arn_for_objects(f"{self.key_prefix}*")],
            )
        )
        if self.bucket.encryption_key is not None:
            # Multipart uploads to an SSE-KMS bucket need decrypt as well as encrypt.
            self.bucket.encryption_key.grant_encrypt_decrypt(grantee)

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` read what jobs wrote under the prefix (e.g. a model's role)."""
        principal = grantee.grant_principal
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{self.key_prefix}*")],
            )
        )
        if self.bucket.encryption_key is not None:
            self.bucket.encryption_key.grant_decrypt(grantee)


def _list_prefix_statement(bucket: s3.IBucket, key_prefix: str) -> iam.PolicyStatement:
    conditions = {"StringLike": {"s3:prefix": [f"{key_prefix}*"]}} if key_prefix else None
    return iam.PolicyStatement(
        actions=["s3:ListBucket"], resources=[bucket.bucket_arn], conditions=conditions
    )
