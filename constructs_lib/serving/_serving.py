"""Serving what a job trained on a framework container, as the SageMaker SDK's
``estimator.deploy()`` does: the framework's inference image of the same version,
the environment its serving toolkit reads for the entry point, and, for the
containers that read the code from ``model.tar.gz`` (PyTorch, Hugging Face,
TensorFlow; any framework without network access), a repack job that puts the code
into the model, as the SDK's repack step does."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from aws_cdk import aws_iam as iam
from constructs import Construct

from .._shared.keywords import keywords
from .._shared.stacks import stack_of
from .._shared.typecheck import arguments, check_props
from ..core._completion import Completion, CompletionMode
from ..definition._algorithms.frameworks import INFERENCE
from ..definition._code import CodeConfig, TrainingCode
from ..definition._framework_image import FrameworkSpec, describe, resolve_in
from ..definition._instance_type import InstanceType
from ..definition._registries import framework_image

if TYPE_CHECKING:
    from aws_cdk import aws_sagemaker as sagemaker

    from ..definition._image import ImageConfig
    from ..definition._request import TrainingJobProps

#: The SDK's repack job: scikit-learn's container on a small CPU instance.
REPACK_FRAMEWORK_VERSION = "1.2-1"
REPACK_INSTANCE_TYPE = "ml.m5.large"
#: The construct ID of a job's repack jobs (children of the job), before a digest of
#: the code archive each puts into the model.
REPACK_ID_PREFIX = "Repack"
#: The repack job's channel that brings it the model to repack.
REPACK_MODEL_CHANNEL = "model"
#: Where a repacked model's serving container finds the code.
MODEL_CODE_DIRECTORY = "/opt/ml/model/code"
#: TensorFlow Serving runs ``code/inference.py`` of the model, by that name.
TENSORFLOW_ENTRY_POINT = "inference.py"
_TFS_LOG_LEVELS = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "crit",
}


class RepackJob(Protocol):
    """What serving uses of a repack job: its artifacts, and its role to grant to."""

    @property
    def model_data_url(self) -> str: ...

    @property
    def grant_principal(self) -> iam.IPrincipal: ...

    def grant_read_model_artifacts(self, grantee: iam.IGrantable) -> None: ...


@dataclass(frozen=True)
class TrainedModel:
    """What serving needs of a job: its construct, framework, code, artifacts."""

    scope: Construct
    spec: FrameworkSpec | None
    model_data_url: str
    completion: Completion
    #: The job's definition: its code, output, and the network and keys a repack
    #: job shares.
    props: TrainingJobProps
    grant_read_model_artifacts: Callable[[iam.IGrantable], None]
    #: The job kind a repack job is (the library's ``TrainingJob``, called with its
    #: keyword props): given by the job, as training is a layer above serving.
    training_job: Callable[..., RepackJob]
    #: The image the job trained with (None for a serverless job).
    image: ImageConfig | None = None


class ServesTrainedModels:
    """``inference_container`` of a job construct (training or tuning), from what
    :meth:`_trained_model` says the job trained."""

    def _trained_model(self) -> TrainedModel:
        raise NotImplementedError

    @keywords("inference_container")
    def inference_container(
        self,
        *,
        entry_point: str,
        instance_type: InstanceType | str | None = None,
        code: TrainingCode | None = None,
        role: iam.IGrantable | None = None,
        network_isolation: bool = False,
        framework_version: str | None = None,
        py_version: str | None = None,
        base_framework_version: str | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> sagemaker.CfnModel.ContainerDefinitionProperty:
        """The container that serves what this job trained on a framework image (for a
        tuning job: its best training job's model), as the SageMaker SDK's
        ``estimator.deploy()`` makes it: the framework's serving
        image of the same version (CPU or GPU by ``instance_type``), the model
        artifacts, and the environment the serving toolkit reads for the entry point
        (``SAGEMAKER_PROGRAM``, ``SAGEMAKER_SUBMIT_DIRECTORY``...). PyTorch, Hugging
        Face and TensorFlow serve the code from inside ``model.tar.gz``, as does any
        framework without network access: a repack job of this stack (the SDK's
        repack step: scikit-learn's container on an ``ml.m5.large``) then puts the
        code into the model, and the container serves the repacked model.

        Use it as ``CfnModel(primary_container=job.inference_container(...))``.

        :param entry_point: the serving script (``model_fn``, ``predict_fn``... or
            TensorFlow Serving's ``inference.py``), relative to the code's root.
        :param instance_type: the endpoint's instance type (``InstanceType.of(...)`` or
            its name), which picks the CPU or GPU image; default: none (fine for a
            framework with one processor; else an error names the choices).
        :param code: the serving code; default: the training code.
        :param role: the model's execution role, granted read on the model artifacts
            it serves (and on the code's archive); default: none (grant it yourself
            with ``grant_read_model_artifacts``).
        :param network_isolation: whether the model runs without network access (set
            the same on the ``CfnModel``): the code then goes into the model for
            every framework. Default: off.
        :param framework_version: another version's serving image (serving images are
            not published for every training version); default: the training version.
        :param py_version: default: the training image's Python version.
        :param base_framework_version: Hugging Face's base framework of the serving
            image; default: the training image's.
        :param environment: more environment variables of the container; default: none.
        """
        check_props(
            cast("Construct", self),
            ServesTrainedModels.inference_container,
            arguments(locals()),
        )
        return inference_container(
            self._trained_model(),
            entry_point=entry_point,
            instance_type=str(instance_type) if instance_type is not None else None,
            code=code,
            role=role,
            network_isolation=network_isolation,
            framework_version=framework_version,
            py_version=py_version,
            base_framework_version=base_framework_version,
            environment=environment,
        )

    @property
    def serving_image(self) -> Any:
        """The image that serves what this job trained, as an
        ``aws_cdk.aws_sagemaker_alpha.ContainerImage``, for a job that runs a built-in
        algorithm or an image of your own (the training image serves the model):
        ``alpha.Model(containers=[alpha.ContainerDefinition(image=job.serving_image,
        model_data=job.model_data)])``. Binding it grants the model's role the pull
        of the image's repository. A job on a framework image serves with the
        framework's serving image and the code's environment: use
        :meth:`container_definition`. Needs ``aws-cdk.aws-sagemaker-alpha``."""
        from . import _alpha  # noqa: PLC0415

        model = self._trained_model()
        scope = model.scope
        if model.spec is not None:
            raise ValueError(
                f"[{scope.node.path}] serving_image: the job trains on a framework image, "
                "which serves with the framework's serving image and the serving code's "
                "environment: use job.container_definition(entry_point=..., "
                "instance_type=...) as the model's container"
            )
        if model.image is None or model.image.image_uri is None:
            raise ValueError(
                f"[{scope.node.path}] serving_image: the job runs no image of its own (an "
                "algorithm resource or a serverless job): serve its model with a "
                "ContainerImage of your choice"
            )
        return _alpha.container_image(scope, model.image.image_uri, model.image.grant_pull)

    def container_definition(
        self,
        *,
        entry_point: str,
        instance_type: InstanceType | str | None = None,
        code: TrainingCode | None = None,
        network_isolation: bool = False,
        framework_version: str | None = None,
        py_version: str | None = None,
        base_framework_version: str | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> Any:
        """:meth:`inference_container` as an ``aws_cdk.aws_sagemaker_alpha.ContainerDefinition``
        for ``alpha.Model(containers=[job.container_definition(entry_point="serve.py",
        instance_type=...)])``: the framework's serving image, the (repacked) model
        and the serving toolkit's environment; binding it grants the model's role
        read on the artifacts it serves and on the code. The arguments are
        :meth:`inference_container`'s (the model's role is the alpha model's own).
        Needs ``aws-cdk.aws-sagemaker-alpha``."""
        from . import _alpha  # noqa: PLC0415

        def container(role: iam.IGrantable | None) -> Any:
            return self.inference_container(
                entry_point=entry_point,
                instance_type=instance_type,
                code=code,
                role=role,
                network_isolation=network_isolation,
                framework_version=framework_version,
                py_version=py_version,
                base_framework_version=base_framework_version,
                environment=environment,
            )

        served = container(None)
        return _alpha.container_definition(
            cast("Construct", self),
            image=served.image,
            model_data_url=served.model_data_url,
            environment=served.environment,
            grant=container,
        )


def needs_repack(framework: str, version: str, network_isolation: bool) -> bool:
    """Whether the framework's serving container reads the code from the model (the
    SDK repacks for PyTorch from 1.2, Hugging Face, TensorFlow), or cannot download
    it (no network)."""
    if network_isolation:
        return True
    if framework == "pytorch":
        numbers = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
        return numbers >= (1, 2)
    return framework in ("huggingface", "tensorflow")


def _fail(scope: Construct, rule: str) -> ValueError:
    return ValueError(f"[{scope.node.path}] inference_container: {rule}")


def inference_container(
    model: TrainedModel,
    *,
    entry_point: str,
    instance_type: str | None,
    code: TrainingCode | None,
    role: iam.IGrantable | None,
    network_isolation: bool,
    framework_version: str | None,
    py_version: str | None,
    base_framework_version: str | None,
    environment: Mapping[str, str] | None,
) -> sagemaker.CfnModel.ContainerDefinitionProperty:
    """See ``TrainingJob.inference_container``."""
    scope = model.scope
    spec = model.spec
    if spec is None:
        raise _fail(
            scope,
            "the job runs no framework image (TrainingImage.from_framework): serve its "
            "model with CfnModel(primary_container=ContainerDefinitionProperty("
            "image=job.training_image_uri, model_data_url=job.model_data_url))",
        )
    code = code or model.props.code
    if code is None:
        raise _fail(scope, "code: None is invalid: the job has no code; give code=TrainingCode...")
    if code.files is not None and entry_point not in code.files:
        raise _fail(
            scope,
            f"entry_point: {entry_point!r} is invalid: it is not a file of the code "
            f"({', '.join(code.files[:10])})",
        )
    if spec.framework == "tensorflow" and entry_point != TENSORFLOW_ENTRY_POINT:
        raise _fail(
            scope,
            f"entry_point: {entry_point!r} is invalid: TensorFlow Serving runs the model's "
            f"code/{TENSORFLOW_ENTRY_POINT}: name the serving script {TENSORFLOW_ENTRY_POINT} "
            "at the code's root",
        )
    resolved = resolve_in(
        scope,
        lambda: spec.resolve(
            scope=INFERENCE,
            instance_type=instance_type,
            version=framework_version,
            py_version=py_version,
            base_framework_version=base_framework_version,
        ),
        lambda choice: (
            f"[{scope.node.path}] inference_container: the serving image of "
            f"{describe(spec)}: {choice} (give framework_version=, py_version= or "
            "base_framework_version= for another serving image)"
        ),
    )
    stack = stack_of(scope)
    image, _ = framework_image(stack, resolved)
    bound = code.bind(scope)
    if needs_repack(spec.framework, spec.version, network_isolation):
        repack = _repacked(model, bound)
        model_data_url = repack.model_data_url
        directory = MODEL_CODE_DIRECTORY
        if role is not None:
            repack.grant_read_model_artifacts(role)
    else:
        model_data_url = model.model_data_url
        directory = bound.s3_uri
        if role is not None:
            model.grant_read_model_artifacts(role)
            bound.grant_read(role)
    if spec.framework == "tensorflow":
        env = {
            "SAGEMAKER_TFS_NGINX_LOGLEVEL": _TFS_LOG_LEVELS.get(bound.container_log_level, "info")
        }
    else:
        env = {
            "SAGEMAKER_PROGRAM": entry_point,
            "SAGEMAKER_SUBMIT_DIRECTORY": directory,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": str(bound.container_log_level),
            "SAGEMAKER_REGION": stack.region,
        }
    # Imported when serving is asked for: aws_sagemaker takes 0.1 s to import.
    from aws_cdk import aws_sagemaker  # noqa: PLC0415

    return aws_sagemaker.CfnModel.ContainerDefinitionProperty(
        image=image,
        model_data_url=model_data_url,
        environment={**env, **(environment or {})},
    )


def _repacked(model: TrainedModel, code: CodeConfig) -> RepackJob:
    """The job that repacks ``model`` with ``code`` (one per code archive), whose
    artifacts the serving model reads."""
    from ..definition._data import TrainingInput, TrainingOutput  # noqa: PLC0415
    from ..definition._image import TrainingImage  # noqa: PLC0415
    from . import _repack  # noqa: PLC0415

    scope = model.scope
    if model.completion.mode == CompletionMode.NONE:
        raise _fail(
            scope,
            "the serving container reads its code from the model, which a repack job "
            "makes once the training job completed: with Completion.none() the "
            "deployment does not wait for it; use Completion.wait() or wait_condition()",
        )
    # One repack job per code archive (its entry point is the serving container's
    # choice), identified by the archive's location as the template renders it.
    where = json.dumps(stack_of(scope).resolve(code.s3_uri), sort_keys=True)
    digest = hashlib.sha256(where.encode()).hexdigest()[:8]
    construct_id = f"{REPACK_ID_PREFIX}{digest}"
    existing = scope.node.try_find_child(construct_id)
    if existing is not None:  # the repack job of this archive, made for another model
        repack = cast("RepackJob", existing)
    else:
        props = model.props
        output = props.output
        source = TrainingInput(
            channel_name="source",
            data_source=_s3_object(code.s3_uri),
            location=code.location,
        )
        artifacts = TrainingInput(
            channel_name=REPACK_MODEL_CHANNEL, data_source=_s3_object(model.model_data_url)
        )
        repack = model.training_job(
            scope,
            construct_id,
            image=TrainingImage.from_framework("sklearn", REPACK_FRAMEWORK_VERSION),
            code=TrainingCode.from_directory(
                str(_repack.DIRECTORY), entry_point=_repack.ENTRY_POINT, exclude=["__init__.py"]
            ),
            inputs=[artifacts, source],
            output=TrainingOutput.to_bucket(
                output.bucket,
                f"{output.key_prefix}repacked/",
                encryption_key=output.encryption_key,
            ),
            instance_type=InstanceType.of(REPACK_INSTANCE_TYPE),
            vpc=props.vpc,
            vpc_subnets=props.vpc_subnets,
            volume_encryption_key=props.volume_encryption_key,
            network_isolation=props.network_isolation,
            completion=Completion.wait(),
        )
        # Read what the job writes under its output prefix: the job's name is known
        # only at deploy, and a grant naming it would make the provider, which passes
        # the repack job's role, depend on the job it runs.
        output.grant_read(repack)
    return repack


def repack_jobs(job: Construct) -> list[RepackJob]:
    """The repack jobs made for ``job``'s serving containers (its children)."""
    return [
        cast("RepackJob", child)
        for child in job.node.children
        if child.node.id.startswith(REPACK_ID_PREFIX) and hasattr(child, "model_data_url")
    ]


def _s3_object(uri: str) -> dict[str, Any]:
    return {
        "S3DataSource": {
            "S3DataType": "S3Prefix",
            "S3Uri": uri,
            "S3DataDistributionType": "FullyReplicated",
        }
    }
