"""What a job construct tells its schedule (:class:`ScheduleParts`): the one value the
schedule's modules share, so that none of them needs another for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aws_cdk import aws_iam as iam

    from ..handler.kinds import JobKind


@dataclass(frozen=True)
class ScheduleParts:
    """What a job construct tells its schedule: the request each run sends and how a
    run's name goes into it."""

    kind: JobKind
    request: dict[str, Any]
    #: The job's name prefix (or fixed name), which the runs' names start with.
    prefix: str
    role: iam.IRole
    #: Hyperparameters and request members holding the job's name.
    by_job_name: dict[str, dict[str, str]] = field(default_factory=dict)
    named_locations: dict[str, dict[str, str]] = field(default_factory=dict)
    #: A queued job's AWS Batch settings.
    queue: dict[str, Any] | None = None
    #: How long a run may take (seconds; None when a token hides it).
    longest_run: float | None = None


class Schedulable(Protocol):
    """A job construct whose runs a schedule can make (``RetrainsOnSchedule``)."""

    def _schedule_parts(self) -> ScheduleParts: ...
