"""Training container images."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

from aws_cdk import Aws, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]
_ECR_URI = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?"
    r"/(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::[\w.-]+|@sha256:[0-9a-f]{64})?$"
)


class TrainingImage(ABC):
    """The container image a training job runs.

    Use :meth:`from_registry` for an image URI (an ECR image of any account, such as a
    SageMaker built-in algorithm) or :meth:`from_ecr_repository` for a repository of
    your stack.
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

    @property
    @abstractmethod
    def image_uri(self) -> str:
        """The image URI, the ``TrainingImage`` of the request."""

    def render(self) -> dict[str, Any]:
        """The members of ``AlgorithmSpecification`` that name what to run."""
        return {"TrainingImage": self.image_uri}

    @abstractmethod
    def grant_pull(self, grantee: iam.IGrantable) -> None:
        """Give ``grantee`` what SageMaker needs to pull the image as that principal."""


class _RegistryImage(TrainingImage):
    def __init__(self, image_uri: str) -> None:
        self._uri = image_uri

    @property
    def image_uri(self) -> str:
        return self._uri

    def grant_pull(self, grantee: iam.IGrantable) -> None:
        if Token.is_unresolved(self._uri):
            return
        match = _ECR_URI.match(self._uri)
        if match is None:
            # Not ECR: SageMaker pulls from a private registry through the VPC, with
            # credentials of the registry's own, not with IAM.
            return
        repository_arn = (
            f"arn:{Aws.PARTITION}:ecr:{match['region']}:{match['account']}"
            f":repository/{match['repository']}"
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                resources=[repository_arn],
            )
        )
        _grant_ecr_token(grantee)


class _PrivateRegistryImage(_RegistryImage):
    def __init__(self, image_uri: str, provider: lambda_.IFunction | None) -> None:
        super().__init__(image_uri)
        self._provider = provider

    def render(self) -> dict[str, Any]:
        config: dict[str, Any] = {"TrainingRepositoryAccessMode": "Vpc"}
        if self._provider is not None:
            config["TrainingRepositoryAuthConfig"] = {
                "TrainingRepositoryCredentialsProviderArn": self._provider.function_arn
            }
        return {"TrainingImage": self.image_uri, "TrainingImageConfig": config}

    def grant_pull(self, grantee: iam.IGrantable) -> None:
        # A private registry authenticates with its own credentials, not IAM; the
        # execution role invokes the credentials provider.
        if self._provider is not None:
            self._provider.grant_invoke(grantee)


class _AlgorithmResource(TrainingImage):
    def __init__(self, name_or_arn: str) -> None:
        self._name = name_or_arn

    @property
    def image_uri(self) -> str:
        raise ValueError(
            f"TrainingImage.from_algorithm_name({self._name!r}) has no image URI: "
            "SageMaker resolves the algorithm resource's image itself"
        )

    def render(self) -> dict[str, Any]:
        return {"AlgorithmName": self._name}

    def grant_pull(self, grantee: iam.IGrantable) -> None:
        # SageMaker pulls an algorithm resource's image itself.
        return


class _RepositoryImage(TrainingImage):
    def __init__(self, repository: ecr.IRepository, tag: str) -> None:
        self._repository = repository
        self._tag = tag

    @property
    def image_uri(self) -> str:
        return self._repository.repository_uri_for_tag(self._tag)

    def grant_pull(self, grantee: iam.IGrantable) -> None:
        self._repository.grant_pull(grantee)


def _grant_ecr_token(grantee: iam.IGrantable) -> None:
    # ecr:GetAuthorizationToken supports no resource scoping: IAM requires "*".
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])
    )
