"""What a transform job reads and writes: its input (``TransformInput``: an S3 prefix,
or what a processing job prepared) and its output (``TransformOutput``: a folder per
job), each granted to the model's execution role, which the transform runs as; and
the request's small sections (``DataProcessing``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from .._shared.typecheck import arguments, check_props
from ..definition._config import S3Location, grant_key_encrypt_decrypt
from ..definition._data import CompressionType


class SplitType(Enum):
    """How the input's objects split into records (``SplitType``)."""

    NONE = "None"
    LINE = "Line"
    RECORD_IO = "RecordIO"
    TF_RECORD = "TFRecord"


class AssembleWith(Enum):
    """How the predictions of an object's records are put together (``AssembleWith``)."""

    NONE = "None"
    LINE = "Line"


class BatchStrategy(Enum):
    """How many records go to the model per request (``BatchStrategy``)."""

    MULTI_RECORD = "MultiRecord"
    SINGLE_RECORD = "SingleRecord"


class JoinSource(Enum):
    """Whether the output joins the input to the predictions (``JoinSource``)."""

    NONE = "None"
    INPUT = "Input"


@dataclass(frozen=True)
class TransformInput:
    """What a transform job scores (``TransformInput``): create it with
    :meth:`from_bucket` or :meth:`from_processing_output`."""

    s3_uri: str
    location: S3Location
    content_type: str | None = None
    split_type: SplitType | None = None
    compression: CompressionType | None = None
    manifest: bool = False

    @staticmethod
    def from_bucket(
        bucket: s3.IBucket,
        key_prefix: str = "",
        *,
        content_type: str | None = None,
        split_type: SplitType | None = None,
        compression: CompressionType | None = None,
    ) -> TransformInput:
        """Every object under ``key_prefix`` of ``bucket``.

        :param content_type: the MIME type the model receives (``text/csv``...);
            default: none (the container's).
        :param split_type: how objects split into records; default: none (an object is
            one record).
        :param compression: ``GZIP`` objects are decompressed; default: none.
        """
        check_props("TransformInput.from_bucket", TransformInput.from_bucket, arguments(locals()))
        location = S3Location(bucket, key_prefix)
        return TransformInput(location.s3_uri, location, content_type, split_type, compression)

    @staticmethod
    def from_processing_output(
        processing_job: Any,
        output_name: str,
        *,
        content_type: str | None = None,
        split_type: SplitType | None = None,
        compression: CompressionType | None = None,
    ) -> TransformInput:
        """What a ``ProcessingJob`` wrote to its output ``output_name`` (that job's own
        folder): the transform starts once the processing job completed.

        :param content_type: default: none. :param split_type: default: none.
        :param compression: default: none.
        """
        location = processing_job.output_location(output_name)
        return TransformInput(
            processing_job.output_uri(output_name),
            location,
            content_type,
            split_type,
            compression,
        )

    def render(self) -> dict[str, Any]:
        """``TransformInput``, as the SDK's ``Transformer.transform`` sends it."""
        rendered: dict[str, Any] = {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "ManifestFile" if self.manifest else "S3Prefix",
                    "S3Uri": self.s3_uri,
                }
            }
        }
        if self.content_type is not None:
            rendered["ContentType"] = self.content_type
        if self.compression is not None:
            rendered["CompressionType"] = self.compression.value
        if self.split_type is not None:
            rendered["SplitType"] = self.split_type.value
        return rendered

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` (the model's role) list and read the input's objects."""
        self.location.grant_read(grantee)


@dataclass(frozen=True)
class TransformOutput:
    """Where a transform job writes its predictions (``TransformOutput``): create it with
    :meth:`to_bucket`."""

    location: S3Location
    accept: str | None = None
    assemble_with: AssembleWith | None = None
    encryption_key: kms.IKey | None = None

    @staticmethod
    def to_bucket(
        bucket: s3.IBucket,
        key_prefix: str = "",
        *,
        accept: str | None = None,
        assemble_with: AssembleWith | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> TransformOutput:
        """Under ``key_prefix`` of ``bucket``, in a folder of each job (``<key prefix><job
        name>/``, filled in when the job is created): a new transform never overwrites
        what an earlier one wrote, so a rollback keeps it.

        :param accept: the MIME type of the predictions (``text/csv``...); default: the
            container's.
        :param assemble_with: ``LINE`` puts an object's predictions one per line;
            default: none.
        :param encryption_key: the KMS key the predictions are encrypted with
            (``KmsKeyId``); default: the bucket's encryption.
        """
        check_props("TransformOutput.to_bucket", TransformOutput.to_bucket, arguments(locals()))
        return TransformOutput(
            S3Location(bucket, key_prefix), accept, assemble_with, encryption_key
        )

    def named_location(self) -> tuple[str, dict[str, str]]:
        """The request member the handler fills in with the job's name, and its
        ``{"Prefix", "Suffix"}``."""
        return "TransformOutput.S3OutputPath", {
            "Prefix": self.location.folder_uri,
            "Suffix": "/",
        }

    def render(self) -> dict[str, Any]:
        """``TransformOutput`` (its path the location each job's folder goes under)."""
        rendered: dict[str, Any] = {"S3OutputPath": self.location.s3_uri}
        if self.accept is not None:
            rendered["Accept"] = self.accept
        if self.assemble_with is not None:
            rendered["AssembleWith"] = self.assemble_with.value
        if self.encryption_key is not None:
            rendered["KmsKeyId"] = self.encryption_key.key_arn
        return rendered

    def grant_write(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` (the model's role) write under the output's location, and
        encrypt with its key."""
        self.location.grant_write(grantee)
        if self.encryption_key is not None:
            grant_key_encrypt_decrypt(self.encryption_key, grantee)


@dataclass(frozen=True)
class DataProcessing:
    """Which part of each record the model gets, which part of the result is kept, and
    whether the input joins it (``DataProcessing``): JSONPath expressions, e.g.
    ``DataProcessing(input_filter="$[1:]", join_source=JoinSource.INPUT,
    output_filter="$[0,-1]")`` drops a CSV's label before the model and keeps it beside
    the prediction."""

    input_filter: str | None = None
    output_filter: str | None = None
    join_source: JoinSource | None = None

    def render(self) -> dict[str, Any]:
        """``DataProcessing``, the members set."""
        rendered: dict[str, Any] = {}
        if self.input_filter is not None:
            rendered["InputFilter"] = self.input_filter
        if self.output_filter is not None:
            rendered["OutputFilter"] = self.output_filter
        if self.join_source is not None:
            rendered["JoinSource"] = self.join_source.value
        return rendered
