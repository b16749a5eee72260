"""The AWS clients the watch command reads with (boto3, from the ``cli`` extra), made
on first use, each call counted (``make bench`` reports the calls of a refresh)."""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sagemaker import SageMakerClient


class Clients:
    """One client per service of one region; :attr:`calls` counts the API calls."""

    def __init__(self, session: boto3.Session, region: str) -> None:
        self._session = session
        self.region = region
        #: ``service.Operation`` -> calls made.
        self.calls: collections.Counter[str] = collections.Counter()

    def _client(self, service: str, region: str | None = None) -> Any:
        from botocore.config import Config  # noqa: PLC0415 - the cli extra's

        client = self._session.client(
            service,  # type: ignore[call-overload]
            region_name=region or self.region,
            # Throttling and passing faults are retried, with backoff.
            config=Config(retries={"mode": "standard", "max_attempts": 8}),
        )
        client.meta.events.register("before-call", self._count)
        return client

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}.{model.name}"] += 1

    @functools.cached_property
    def sagemaker(self) -> SageMakerClient:
        client: SageMakerClient = self._client("sagemaker")
        return client

    @functools.cached_property
    def cloudformation(self) -> CloudFormationClient:
        client: CloudFormationClient = self._client("cloudformation")
        return client

    @functools.cached_property
    def logs(self) -> CloudWatchLogsClient:
        client: CloudWatchLogsClient = self._client("logs")
        return client

    @functools.cached_property
    def batch(self) -> BatchClient:
        client: BatchClient = self._client("batch")
        return client

    @functools.cached_property
    def ec2(self) -> Any:
        """EC2 (the preflight reads the route tables and endpoints of jobs' subnets)."""
        return self._client("ec2")

    @functools.cached_property
    def lambda_(self) -> Any:
        """Lambda (the preflight reads the account's concurrency)."""
        return self._client("lambda")

    @functools.cached_property
    def ssm(self) -> Any:
        """SSM (the preflight reads the CDK bootstrap's version)."""
        return self._client("ssm")

    @functools.cached_property
    def pricing(self) -> Any:
        """The AWS Price List (``preflight --cost``), which answers from us-east-1 for
        every region."""
        from ._prices import PRICING_REGION  # noqa: PLC0415

        return self._client("pricing", PRICING_REGION)

    @functools.cached_property
    def servicequotas(self) -> Any:
        """Service Quotas (the preflight's)."""
        return self._client("service-quotas")


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ``ClientError`` (else empty)."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def clients_factory(profile: str | None) -> Callable[[str | None], Clients]:
    """Clients per region from one boto3 session (of ``profile``, else the default
    credentials); a region of None is the session's own."""
    import boto3  # noqa: PLC0415 - the cli extra's

    from ._assembly import WatchError  # noqa: PLC0415

    session = boto3.Session(profile_name=profile)
    made: dict[str, Clients] = {}

    def clients_for(region: str | None) -> Clients:
        chosen = region or session.region_name
        if not chosen:
            raise WatchError(
                "no AWS region: pass --region, set AWS_REGION, or give your profile one"
            )
        if chosen not in made:
            made[chosen] = Clients(session, chosen)
        return made[chosen]

    return clients_for


def aws_error(error: Exception) -> str | None:
    """What to tell the user of an error of boto3 (credentials, access, a refused
    call); None for any other error."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

    if isinstance(error, ClientError):
        operation = getattr(error, "operation_name", "a call")
        message = error.response.get("Error", {}).get("Message", str(error))
        return f"AWS refused {operation} ({error_code(error)}): {message}"
    if isinstance(error, BotoCoreError):
        return str(error)
    return None
