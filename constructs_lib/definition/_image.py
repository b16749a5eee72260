"""Training container images."""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Stack, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .._shared.stacks import stack_of
from .._shared.suggest import did_you_mean
from ..security._ecr_pull import acknowledge_token, grant_ecr_pull
from . import _algorithms
from ._framework_image import FrameworkSpec, resolve_for_job
from ._registries import framework_image, regional_image

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]
_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::[\w.-]+|@sha256:[0-9a-f]{64})?$"
)


@dataclass(frozen=True)
class ImageConfig:
    """An image bound to a job: what the request names, and how to grant the pull."""

    specification: dict[str, Any]
    """The members of ``AlgorithmSpecification`` that name what to run."""
    image_uri: str | None
    """The image URI (None for an algorithm resource, which has none)."""
    grant_pull: Callable[[iam.IGrantable], None]
    """Gives a principal what SageMaker needs to pull the image as that principal."""
    repository_arn: str | None = None
    """The ECR repository to pull from, for images whose pull is one statement on it
    (plus ``ecr:GetAuthorizationToken``, which a job's shared policy grants)."""
    framework: FrameworkSpec | None = None
    """For a framework image (whose training toolkit runs ``code``): what it resolved
    to for the job (processor and Python version included)."""
    emits_metrics: bool = False
    """Whether the image reports metrics of its own (a built-in algorithm, an algorithm
    resource), beyond the job's metric definitions."""


class TrainingImage(ABC):
    """The container image a training job runs.

    * :meth:`from_algorithm` — a SageMaker built-in algorithm (XGBoost, k-means...),
      resolved for the stack's region;
    * :meth:`from_framework` — SageMaker's PyTorch, TensorFlow, Hugging Face,
      scikit-learn or XGBoost container, which runs your own code (``code=``);
    * :meth:`from_registry` — an image URI (ECR of any account, e.g. a framework image);
    * :meth:`from_ecr_repository` — a repository of yours;
    * :meth:`from_asset` — a local directory with a Dockerfile, built and pushed by CDK;
    * :meth:`from_private_registry` — a private registry reached through the job's VPC;
    * :meth:`from_algorithm_name` — an algorithm resource (e.g. from AWS Marketplace).
    """

    @staticmethod
    def from_registry(image_uri: str) -> TrainingImage:
        """An image by URI. An ECR URI also grants the execution role pull on that repository."""
        return _RegistryImage(image_uri)

    @staticmethod
    def from_ecr_repository(repository: ecr.IRepository, tag: str = "latest") -> TrainingImage:
        """An image of an ECR repository; the execution role is granted pull on it."""
        return _RepositoryImage(repository, tag)

    @staticmethod
    def from_asset(
        directory: str,
        *,
        file: str | None = None,
        build_args: Mapping[str, str] | None = None,
        platform: ecr_assets.Platform | None = None,
    ) -> TrainingImage:
        """An image built from ``directory`` (with a Dockerfile) at deploy time and
        pushed to the bootstrap ECR repository; the execution role may pull it.

        :param file: the Dockerfile's path relative to ``directory``; default ``Dockerfile``.
        :param build_args: Docker build arguments; default: none.
        :param platform: default: ``LINUX_AMD64``, what SageMaker's instances run.
        """
        return _AssetImage(directory, file, build_args, platform)

    @staticmethod
    def from_algorithm(name: str, version: str | None = None) -> TrainingImage:
        """A SageMaker built-in algorithm, e.g. ``from_algorithm("xgboost", "1.7-1")`` or
        ``from_algorithm("linear-learner")``. The image URI is resolved for the stack's
        region: a plain string when the region is known, a ``CfnMapping`` lookup in a
        region-agnostic stack.

        :param version: required when the algorithm has several versions (XGBoost).
        """
        return _BuiltinAlgorithmImage(name, version)

    @staticmethod
    def from_framework(
        framework: str,
        version: str,
        *,
        py_version: str | None = None,
        processor: str | None = None,
        base_framework_version: str | None = None,
    ) -> TrainingImage:
        """One of SageMaker's framework training containers, which run your own code
        (``TrainingJob(code=TrainingCode.from_directory(...))``) as the SageMaker
        Python SDK's ``PyTorch(...)``, ``TensorFlow(...)``, ``HuggingFace(...)``,
        ``SKLearn(...)`` and ``XGBoost(...)`` estimators do: e.g.
        ``from_framework("pytorch", "2.5", py_version="py311")``.

        The image URI is what the SDK's ``image_uris.retrieve(framework, region,
        version, py_version, instance_type, image_scope="training")`` returns: a plain
        string when the stack's region is known, a ``CfnMapping`` lookup in a
        region-agnostic stack. The execution role may pull from that repository only.

        :param framework: ``pytorch``, ``tensorflow``, ``huggingface`` (transformers),
            ``sklearn`` or ``xgboost``.
        :param version: the framework's version (for Hugging Face, the transformers
            version), full (``2.5.1``) or short (``2.5``) as the SDK accepts it.
        :param py_version: e.g. ``py311``; default: the version's only one (an error
            names the choices when it has several).
        :param processor: ``cpu``, ``gpu`` (or ``trn``, PyTorch's Neuron image) when
            the job's instance type is not known at synth; default: decided by the
            job's instance type (CPU, GPU, Trainium), or the only processor.
        :param base_framework_version: Hugging Face's base framework, e.g.
            ``pytorch2.5``; default: the version's only one.
        """
        return _FrameworkImage(
            FrameworkSpec(framework, version, py_version, base_framework_version, processor)
        )

    @staticmethod
    def from_private_registry(
        image_uri: str, *, credentials_provider: lambda_.IFunction | None = None
    ) -> TrainingImage:
        """An image of a private Docker registry that SageMaker reaches through the
        job's VPC (``TrainingRepositoryAccessMode`` ``Vpc``).

        :param credentials_provider: a Lambda function that returns the registry's
            credentials; default: none (an open registry).
        """
        return _PrivateRegistryImage(image_uri, credentials_provider)

    @staticmethod
    def from_algorithm_name(name_or_arn: str) -> TrainingImage:
        """An algorithm resource you created or subscribed to on AWS Marketplace
        (``AlgorithmName``)."""
        return _AlgorithmResource(name_or_arn)

    @abstractmethod
    def bind(self, scope: Construct) -> ImageConfig:
        """The image as a job in ``scope`` uses it (creating an asset there if needed)."""

    def _bind_to_job(
        self, scope: Construct, *, instance_types: Sequence[str], smdistributed: bool = False
    ) -> ImageConfig:
        """The image as a job of ``instance_types`` in ``scope`` uses it; images that
        do not depend on the instance type bind as :meth:`bind` does."""
        return self.bind(scope)

    @property
    def image_uri(self) -> str:
        """The image URI, for images whose URI needs no scope (``from_registry``,
        ``from_ecr_repository``); for the others use ``job.training_image_uri``."""
        raise ValueError(
            f"{type(self).__name__[1:]} has no URI outside a stack: use the "
            "training_image_uri of the TrainingJob that runs it"
        )


class _RegistryImage(TrainingImage):
    def __init__(self, image_uri: str) -> None:
        self._uri = image_uri

    @property
    def image_uri(self) -> str:
        return self._uri

    def bind(self, scope: Construct) -> ImageConfig:
        return ImageConfig(
            {"TrainingImage": self._uri}, self._uri, self._grant, self._repository_arn()
        )

    def _repository_arn(self) -> str | None:
        """The image's ECR repository ARN (None: not ECR), made once per image: every
        job of an image shares it."""
        return self._repository

    @functools.cached_property
    def _repository(self) -> str | None:
        match = None if Token.is_unresolved(self._uri) else _ECR_URI.match(self._uri)
        if match is None:
            # Not ECR: SageMaker pulls it without IAM (a public or VPC registry).
            return None
        return (
            f"arn:{Aws.PARTITION}:ecr:{match['region']}:{match['account']}"
            f":repository/{match['repository']}"
        )

    def _grant(self, grantee: iam.IGrantable) -> None:
        repository_arn = self._repository_arn()
        if repository_arn is not None:
            grant_ecr_pull(grantee, repository_arn)


class _PrivateRegistryImage(_RegistryImage):
    def __init__(self, image_uri: str, provider: lambda_.IFunction | None) -> None:
        super().__init__(image_uri)
        self._provider = provider

    def bind(self, scope: Construct) -> ImageConfig:
        config: dict[str, Any] = {"TrainingRepositoryAccessMode": "Vpc"}
        if self._provider is not None:
            config["TrainingRepositoryAuthConfig"] = {
                "TrainingRepositoryCredentialsProviderArn": self._provider.function_arn
            }
        return ImageConfig(
            {"TrainingImage": self._uri, "TrainingImageConfig": config}, self._uri, self._grant
        )

    def _grant(self, grantee: iam.IGrantable) -> None:
        # A private registry authenticates with its own credentials, not IAM; the
        # execution role invokes the credentials provider.
        if self._provider is not None:
            self._provider.grant_invoke(grantee)


class _AlgorithmResource(TrainingImage):
    def __init__(self, name_or_arn: str) -> None:
        self._name = name_or_arn

    def bind(self, scope: Construct) -> ImageConfig:
        # SageMaker pulls an algorithm resource's image itself.
        return ImageConfig(
            {"AlgorithmName": self._name}, None, lambda grantee: None, emits_metrics=True
        )


class _RepositoryImage(TrainingImage):
    def __init__(self, repository: ecr.IRepository, tag: str) -> None:
        self._repository = repository
        self._tag = tag

    @property
    def image_uri(self) -> str:
        return self._repository.repository_uri_for_tag(self._tag)

    def bind(self, scope: Construct) -> ImageConfig:
        def grant(grantee: iam.IGrantable) -> None:
            self._repository.grant_pull(grantee)
            acknowledge_token(grantee)

        return ImageConfig({"TrainingImage": self.image_uri}, self.image_uri, grant)


class _AssetImage(TrainingImage):
    def __init__(
        self,
        directory: str,
        file: str | None,
        build_args: Mapping[str, str] | None,
        platform: ecr_assets.Platform | None,
    ) -> None:
        self._directory = directory
        self._file = file
        self._build_args = dict(build_args) if build_args else None
        self._platform = platform or ecr_assets.Platform.LINUX_AMD64

    def bind(self, scope: Construct) -> ImageConfig:
        asset = scope.node.try_find_child("TrainingImage")
        if not isinstance(asset, ecr_assets.DockerImageAsset):
            asset = ecr_assets.DockerImageAsset(
                scope,
                "TrainingImage",
                directory=self._directory,
                file=self._file,
                build_args=self._build_args,
                platform=self._platform,
            )

        def grant(grantee: iam.IGrantable) -> None:
            asset.repository.grant_pull(grantee)
            acknowledge_token(grantee)

        return ImageConfig({"TrainingImage": asset.image_uri}, asset.image_uri, grant)


class _BuiltinAlgorithmImage(TrainingImage):
    def __init__(self, name: str, version: str | None) -> None:
        table = _algorithms.load()["algorithms"]
        if name not in table:
            raise ValueError(
                f"TrainingImage.from_algorithm: {name!r} is invalid: SageMaker's built-in "
                f"algorithms are {', '.join(sorted(table))}.{did_you_mean(name, table)}"
            )
        versions = table[name]["versions"]
        resolved = version if version is not None else next(iter(versions))
        if resolved not in versions or (version is None and len(versions) > 1):
            raise ValueError(
                f"TrainingImage.from_algorithm: version {version!r} of {name!r} is invalid: "
                f"choose one of {', '.join(versions)}.{did_you_mean(version, versions)}"
            )
        self.name = name
        self.version = resolved
        entry = versions[resolved]
        self._repository: str = entry["repository"]
        self._registry_index: int = entry["registries"]
        # The binding is the same for every job of a stack: made once per stack.
        self._bound: dict[int, tuple[Stack, ImageConfig]] = {}

    @property
    def registries(self) -> dict[str, str]:
        """Region -> account of the image's ECR registry."""
        registries: list[dict[str, str]] = _algorithms.load()["registries"]
        return registries[self._registry_index]

    def bind(self, scope: Construct) -> ImageConfig:
        stack = stack_of(scope)
        cached = self._bound.get(id(stack))
        if cached is not None and cached[0] is stack:
            return cached[1]
        config = self._bind(stack, scope)
        self._bound[id(stack)] = (stack, config)
        return config

    def _bind(self, stack: Stack, scope: Construct) -> ImageConfig:
        uri, repository_arn = regional_image(
            stack,
            registries=self.registries,
            mapping_id=f"SageMakerAlgorithmRegistries{self._registry_index}",
            repository=self._repository,
            tag=self.version,
            unpublished=lambda region: (
                f"[{scope.node.path}] image: the built-in algorithm {self.name!r} "
                f"{self.version} is invalid in region {region!r}: it is published in "
                f"{', '.join(sorted(self.registries))}"
            ),
        )
        return ImageConfig(
            {"TrainingImage": uri},
            uri,
            lambda grantee: grant_ecr_pull(grantee, repository_arn),
            repository_arn,
            emits_metrics=True,
        )


class _FrameworkImage(TrainingImage):
    def __init__(self, spec: FrameworkSpec) -> None:
        # Checked where a job binds it, so that an error names the job.
        self.spec = spec

    def bind(self, scope: Construct) -> ImageConfig:
        return self._bind_to_job(scope, instance_types=())

    def _bind_to_job(
        self, scope: Construct, *, instance_types: Sequence[str], smdistributed: bool = False
    ) -> ImageConfig:
        resolved = resolve_for_job(
            scope, self.spec, instance_types=instance_types, smdistributed=smdistributed
        )
        uri, repository_arn = framework_image(stack_of(scope), resolved)
        spec = FrameworkSpec(
            self.spec.framework,
            self.spec.version,
            resolved.py_version,
            resolved.base_framework_version or self.spec.base_framework_version,
            resolved.processor,
        )
        return ImageConfig(
            {"TrainingImage": uri},
            uri,
            lambda grantee: grant_ecr_pull(grantee, repository_arn),
            repository_arn,
            framework=spec,
        )
