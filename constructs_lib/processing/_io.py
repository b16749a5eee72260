"""What a processing job reads and writes: its inputs (``ProcessingInputs``: S3 data,
another job's model or outputs, a dataset definition) and its outputs
(``ProcessingOutputConfig``: an S3 folder per job, or a feature group), each with
the grants the execution role needs, rendered as the SageMaker SDK's
``ProcessingInput``/``ProcessingOutput`` render them."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from .._shared.typecheck import arguments, check_props
from ..definition._config import S3Location
from ..definition._data import CompressionType, InputMode, S3DataDistribution

#: Where the SDK's processors mount inputs and outputs by convention.
INPUT_ROOT = "/opt/ml/processing/input"
OUTPUT_ROOT = "/opt/ml/processing/output"
#: Names of inputs and outputs (``ProcessingInput.InputName``'s pattern is wider;
#: the library's names are also parts of attribute names and local folders).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class S3UploadMode(Enum):
    """When an output is uploaded (``S3UploadMode``)."""

    END_OF_JOB = "EndOfJob"
    CONTINUOUS = "Continuous"


class ModelArtifacts(Protocol):
    """A job whose model a processing job reads (a ``TrainingJob``; a tuning job's
    best model): its ``model.tar.gz`` and the grant to read it."""

    def grant_read_model_artifacts(
        self, grantee: iam.IGrantable, *, every_job: bool = False
    ) -> None: ...


class ProducesOutputs(Protocol):
    """A job whose outputs another job reads (a ``ProcessingJob``)."""

    def output_uri(self, output_name: str) -> str: ...

    def output_location(self, output_name: str) -> S3Location: ...


def check_name(what: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{what}: name {name!r} is invalid: 1 to 64 letters, digits, '-' and '_', "
            "starting with a letter or digit (it names the input or output in the "
            "request, its local folder and its attribute)"
        )


def model_data_url_of(job: Any) -> str:
    """A training job's ``model_data_url``, or a tuning job's best model's."""
    url = getattr(job, "best_model_data_url", None)
    if url is None:
        url = job.model_data_url
    return str(url)


@dataclass(frozen=True)
class ProcessingInput:
    """An input of a processing job (``ProcessingInputs``): create one with
    :meth:`from_bucket`, :meth:`from_asset`, :meth:`from_training_job`,
    :meth:`from_processing_output` or :meth:`from_dataset_definition`."""

    input_name: str
    #: The member of ``ProcessingInputs`` besides ``InputName`` (``S3Input`` or
    #: ``DatasetDefinition``), in the API's shape.
    source: Mapping[str, Any]
    #: Lets the execution role read the input (None: nothing to grant).
    grant: Callable[[iam.IGrantable], None] | None = None
    #: A local file uploaded as an asset when a job binds the input.
    asset_path: str | None = None
    #: The local file a bound asset input was made from (a local run reads it).
    local_source: str | None = None

    @staticmethod
    def from_bucket(
        input_name: str,
        bucket: s3.IBucket,
        key_prefix: str = "",
        *,
        local_path: str | None = None,
        input_mode: InputMode = InputMode.FILE,
        distribution: S3DataDistribution = S3DataDistribution.FULLY_REPLICATED,
        compression: CompressionType = CompressionType.NONE,
    ) -> ProcessingInput:
        """Every object under ``key_prefix`` of ``bucket``, downloaded to
        ``local_path``; the execution role may list and read exactly those.

        :param input_name: the input's name (``InputName``).
        :param key_prefix: default: the whole bucket.
        :param local_path: where the container finds the data; default:
            ``/opt/ml/processing/input/<input_name>``.
        :param input_mode: ``FILE`` (download first) or ``PIPE``; default: ``FILE``.
        :param distribution: ``FULLY_REPLICATED`` (every instance gets all) or
            ``SHARDED_BY_S3_KEY``; default: ``FULLY_REPLICATED``.
        :param compression: default: none.
        """
        check_props("ProcessingInput.from_bucket", ProcessingInput.from_bucket, arguments(locals()))
        location = S3Location(bucket, key_prefix)
        return ProcessingInput._s3(
            input_name,
            location.s3_uri,
            local_path=local_path,
            input_mode=input_mode,
            distribution=distribution,
            compression=compression,
            grant=location.grant_read,
        )

    @staticmethod
    def from_asset(input_name: str, path: str, *, local_path: str | None = None) -> ProcessingInput:
        """A local file, uploaded with the stack as a file asset (to the bootstrap
        bucket; CDK skips the upload when it did not change), downloaded to
        ``local_path/<its asset name>``.

        :param path: a file (a CSV, a Parquet file, a tar...). A directory would be
            zipped by the asset system: pack it into one file, or deploy it to a
            bucket (``aws_s3_deployment``) and use :meth:`from_bucket`.
        :param local_path: default: ``/opt/ml/processing/input/<input_name>``.
        """
        check_name("ProcessingInput.from_asset", input_name)
        if not os.path.isfile(path):
            raise ValueError(
                f"ProcessingInput.from_asset: path {path!r} is invalid: it must be an "
                "existing file (a directory would be uploaded zipped; pack it into one "
                "file or deploy it to a bucket)"
            )
        return ProcessingInput(
            input_name,
            {"S3Input": {"LocalPath": local_path or f"{INPUT_ROOT}/{input_name}"}},
            asset_path=path,
        )

    def bind(self, scope: Construct) -> ProcessingInput:
        """This input as a job in ``scope`` uses it: a local file becomes an asset."""
        if self.asset_path is None:
            return self
        digest = hashlib.sha256(self.input_name.encode()).hexdigest()[:8]
        asset = s3_assets.Asset(scope, f"Input{digest}", path=self.asset_path)
        location = S3Location(asset.bucket, asset.s3_object_key, from_asset=True)
        bound = ProcessingInput._s3(
            self.input_name,
            asset.s3_object_url,
            local_path=str(self.source["S3Input"]["LocalPath"]),
            grant=lambda grantee: location.grant_get(grantee, exact=True),
        )
        return dataclasses.replace(bound, local_source=self.asset_path)

    @staticmethod
    def from_training_job(
        input_name: str, job: ModelArtifacts, *, local_path: str | None = None
    ) -> ProcessingInput:
        """The model a training job trained (``model_data_url``; a tuning job's best
        model), e.g. for an evaluation: the processing job starts once that job
        completed, and its role may read the artifacts under that job's output prefix.

        :param local_path: default: ``/opt/ml/processing/input/<input_name>``, where
            the container finds ``model.tar.gz``.
        """
        check_name("ProcessingInput.from_training_job", input_name)

        def grant(grantee: iam.IGrantable) -> None:
            # Not naming the job: the provider passes this role, so a grant that
            # waited for the training job would close a cycle through the provider.
            job.grant_read_model_artifacts(grantee, every_job=True)

        return ProcessingInput._s3(
            input_name, model_data_url_of(job), local_path=local_path, grant=grant
        )

    @staticmethod
    def from_processing_output(
        input_name: str,
        processing_job: ProducesOutputs,
        output_name: str,
        *,
        local_path: str | None = None,
        distribution: S3DataDistribution = S3DataDistribution.FULLY_REPLICATED,
    ) -> ProcessingInput:
        """What another processing job wrote to its output ``output_name`` (that job's
        own folder): this job starts once that one completed.

        :param local_path: default: ``/opt/ml/processing/input/<input_name>``.
        :param distribution: default: ``FULLY_REPLICATED``.
        """
        check_name("ProcessingInput.from_processing_output", input_name)
        location = processing_job.output_location(output_name)
        return ProcessingInput._s3(
            input_name,
            processing_job.output_uri(output_name),
            local_path=local_path,
            distribution=distribution,
            grant=location.grant_read,
        )

    @staticmethod
    def from_dataset_definition(
        input_name: str,
        definition: Mapping[str, Any],
        *,
        grant: Callable[[iam.IGrantable], None] | None = None,
    ) -> ProcessingInput:
        """An Athena or Redshift query's result (``DatasetDefinition``, in the API's
        shape: ``{"AthenaDatasetDefinition": {...}, "LocalPath": ...}``), validated
        with the request.

        :param grant: grants the execution role what the query needs (the workgroup,
            the cluster's credentials, the output location); default: none.
        """
        check_name("ProcessingInput.from_dataset_definition", input_name)
        return ProcessingInput(input_name, {"DatasetDefinition": dict(definition)}, grant)

    @staticmethod
    def _s3(
        input_name: str,
        s3_uri: str,
        *,
        local_path: str | None,
        grant: Callable[[iam.IGrantable], None] | None,
        input_mode: InputMode = InputMode.FILE,
        distribution: S3DataDistribution = S3DataDistribution.FULLY_REPLICATED,
        compression: CompressionType = CompressionType.NONE,
    ) -> ProcessingInput:
        check_name("ProcessingInput", input_name)
        # The members the SDK's ProcessingInput sends, in its order.
        source = {
            "S3Input": {
                "S3Uri": s3_uri,
                "LocalPath": local_path or f"{INPUT_ROOT}/{input_name}",
                "S3DataType": "S3Prefix",
                "S3InputMode": input_mode.value,
                "S3DataDistributionType": distribution.value,
                "S3CompressionType": compression.value,
            }
        }
        return ProcessingInput(input_name, source, grant)

    @property
    def local_path(self) -> str | None:
        """Where the container finds this input (None for a dataset definition
        without one)."""
        for member in ("S3Input", "DatasetDefinition"):
            path = (self.source.get(member) or {}).get("LocalPath")
            if path is not None:
                return str(path)
        return None

    def render(self) -> dict[str, Any]:
        """This input as a member of ``ProcessingInputs``."""
        return {"InputName": self.input_name, "AppManaged": False, **self.source}

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` (the job's execution role) read what this input names."""
        if self.grant is not None:
            self.grant(grantee)


@dataclass(frozen=True)
class ProcessingOutput:
    """An output of a processing job (``ProcessingOutputConfig.Outputs``): create one
    with :meth:`to_bucket` or :meth:`to_feature_store`."""

    output_name: str
    #: The S3 location each job's folder goes under (None: a feature group).
    location: S3Location | None
    local_path: str
    upload_mode: S3UploadMode = S3UploadMode.END_OF_JOB
    feature_group_name: str | None = None

    @staticmethod
    def to_bucket(
        output_name: str,
        bucket: s3.IBucket,
        key_prefix: str = "",
        *,
        local_path: str | None = None,
        upload_mode: S3UploadMode = S3UploadMode.END_OF_JOB,
    ) -> ProcessingOutput:
        """What the script writes to ``local_path``, uploaded under ``key_prefix`` of
        ``bucket`` in a folder of each job: ``<key prefix><job name>/<output name>/``
        (filled in when the job is created), so that a new job (a change, a
        replacement) never overwrites what an earlier one wrote, and a rollback keeps
        it. The execution role may write under ``key_prefix`` only.

        :param local_path: where the script writes; default:
            ``/opt/ml/processing/output/<output_name>``.
        :param upload_mode: ``END_OF_JOB`` or ``CONTINUOUS``; default: ``END_OF_JOB``.
        """
        check_props("ProcessingOutput.to_bucket", ProcessingOutput.to_bucket, arguments(locals()))
        check_name("ProcessingOutput.to_bucket", output_name)
        return ProcessingOutput(
            output_name,
            S3Location(bucket, key_prefix),
            local_path or f"{OUTPUT_ROOT}/{output_name}",
            upload_mode,
        )

    @staticmethod
    def to_feature_store(
        output_name: str, feature_group_name: str, *, local_path: str | None = None
    ) -> ProcessingOutput:
        """Records ingested into the feature group ``feature_group_name``
        (``FeatureStoreOutput``; ``AppManaged``: the script ingests them). Grant the
        job's role ``sagemaker:PutRecord`` on the group yourself
        (``job.grant_principal``)."""
        check_name("ProcessingOutput.to_feature_store", output_name)
        return ProcessingOutput(
            output_name,
            None,
            local_path or f"{OUTPUT_ROOT}/{output_name}",
            feature_group_name=feature_group_name,
        )

    def named_location(self, index: int) -> tuple[str, dict[str, str]] | None:
        """The request member the handler fills in with the job's name, and its
        ``{"Prefix", "Suffix"}`` (see ``handler.properties.NAMED_LOCATIONS``)."""
        if self.location is None:
            return None
        path = f"ProcessingOutputConfig.Outputs.{index}.S3Output.S3Uri"
        return path, {
            "Prefix": self.location.folder_uri,
            "Suffix": f"/{self.output_name}",
        }

    def render(self) -> dict[str, Any]:
        """This output as a member of ``ProcessingOutputConfig.Outputs`` (its S3 URI
        the location its job's folder goes under)."""
        if self.location is None:
            return {
                "OutputName": self.output_name,
                "AppManaged": True,
                "FeatureStoreOutput": {"FeatureGroupName": self.feature_group_name},
            }
        return {
            "OutputName": self.output_name,
            "AppManaged": False,
            "S3Output": {
                "S3Uri": self.location.s3_uri,
                "LocalPath": self.local_path,
                "S3UploadMode": self.upload_mode.value,
            },
        }

    def grant_write(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` (the job's execution role) write under this output's
        location (a feature group's records: grant them yourself)."""
        if self.location is not None:
            self.location.grant_write(grantee)
