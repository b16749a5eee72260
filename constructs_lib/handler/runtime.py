"""What the lifecycle needs from the world (clients, clocks), its error type and the
limits of what it reports to CloudFormation."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .signal import Put, put_signal

if TYPE_CHECKING:
    from mypy_boto3_batch import BatchClient
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient


#: A description of a job, as the kind's Describe operation returns it.
Description = Mapping[str, Any]


RUNNING_STATUSES = frozenset({"InProgress", "Stopping"})


# A custom resource response must stay under 4 KB: the reason and the data share it.
MAX_REASON_CHARS = 1000


MAX_MESSAGE_CHARS = 1500


MAX_DATA_BYTES = 2000


#: Set by on_event when it created the job, read by is_complete to space its polls.
CREATED_AT = "CreatedAt"


class TrainingJobError(Exception):
    """A failure to report to CloudFormation. The message names the job and the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(truncate(message, MAX_MESSAGE_CHARS))


def truncate(text: str, limit: int) -> str:
    """Shorten ``text`` to at most ``limit`` characters, marking the cut."""
    if len(text) <= limit:
        return text
    marker = " ...[truncated]"
    return text[: limit - len(marker)] + marker


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Runtime:
    """What the lifecycle needs from the world: clients and time."""

    sagemaker: SageMakerClient
    ec2_factory: Callable[[], EC2Client] | None = None
    cloudformation_factory: Callable[[], CloudFormationClient] | None = None
    batch_factory: Callable[[], BatchClient] | None = None
    s3_factory: Callable[[], S3Client] | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = _utcnow
    jitter: Callable[[], float] = field(default=lambda: random.uniform(0.5, 1.0))
    put: Put = put_signal
    _ec2: EC2Client | None = None
    _cloudformation: CloudFormationClient | None = None
    _batch: BatchClient | None = None
    _s3: S3Client | None = None

    @property
    def ec2(self) -> EC2Client:
        if self._ec2 is None:
            if self.ec2_factory is None:
                raise TrainingJobError("No EC2 client configured to watch network interfaces")
            self._ec2 = self.ec2_factory()
        return self._ec2

    @property
    def cloudformation(self) -> CloudFormationClient:
        if self._cloudformation is None:
            if self.cloudformation_factory is None:
                raise TrainingJobError("No CloudFormation client configured to read stack status")
            self._cloudformation = self.cloudformation_factory()
        return self._cloudformation

    @property
    def batch(self) -> BatchClient:
        if self._batch is None:
            if self.batch_factory is None:
                raise TrainingJobError("No AWS Batch client configured to run queued jobs")
            self._batch = self.batch_factory()
        return self._batch

    @property
    def s3(self) -> S3Client:
        if self._s3 is None:
            if self.s3_factory is None:
                raise TrainingJobError("No S3 client configured to read evaluation reports")
            self._s3 = self.s3_factory()
        return self._s3


def _now(runtime: Runtime) -> str:
    """The runtime's time, as the resource's data keeps it (to the millisecond: a job's
    age read from whole seconds could come out negative)."""
    return f"{runtime.now().timestamp():.3f}"
