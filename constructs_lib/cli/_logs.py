"""A job's CloudWatch log, as SageMaker writes it: the log group
``/aws/sagemaker/TrainingJobs`` (a processing job's: ``/aws/sagemaker/ProcessingJobs``),
one stream per instance named ``<job>/algo-<n>-<time>``
(a tuning job's training jobs: ``<tuning job>-<nnn>-<id>/...``). The last lines of a
job, and (``--follow``) the lines written since the last look, as the SageMaker SDK's
``logs=True`` streams them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._aws import Clients, error_code

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass(frozen=True)
class LogLine:
    timestamp: int
    #: The stream's instance part (``algo-1-1700000000``).
    host: str
    message: str


@dataclass
class _Stream:
    name: str
    last_event: int
    token: str | None = None


@dataclass
class LogReader:
    """Reads the log streams of jobs (by stream name prefix)."""

    clients: Clients
    _followed: dict[str, _Stream] = field(default_factory=dict)

    def _streams(self, prefix: str, log_group: str = LOG_GROUP) -> list[_Stream]:
        """The streams named ``<prefix>...``; of a tuning job's (several training
        jobs'), those of the training job that wrote last."""
        found: list[_Stream] = []
        request: dict[str, Any] = {"logGroupName": log_group, "logStreamNamePrefix": prefix}
        try:
            while True:
                page = self.clients.logs.describe_log_streams(**request)
                for stream in page.get("logStreams", []):
                    found.append(
                        _Stream(stream["logStreamName"], int(stream.get("lastEventTimestamp", 0)))
                    )
                if not page.get("nextToken"):
                    break
                request["nextToken"] = page["nextToken"]
        except Exception as error:
            if error_code(error) == "ResourceNotFoundException":
                return []  # no job of the account has logged yet
            raise
        if not prefix.endswith("/") and found:
            # A tuning job: the training job whose stream saw the latest event.
            latest = max(found, key=lambda stream: stream.last_event)
            job = latest.name.split("/", 1)[0]
            found = [stream for stream in found if stream.name.startswith(f"{job}/")]
        return found

    def tail(self, prefix: str, count: int, log_group: str = LOG_GROUP) -> list[LogLine]:
        """The last ``count`` lines of the streams named ``<prefix>...`` (of
        ``log_group``: a processing job's is ``/aws/sagemaker/ProcessingJobs``), in
        time order."""
        if count <= 0:
            return []
        lines: list[LogLine] = []
        for stream in self._streams(prefix, log_group):
            events = self.clients.logs.get_log_events(
                logGroupName=log_group,
                logStreamName=stream.name,
                startFromHead=False,
                limit=count,
            )["events"]
            lines.extend(_lines(stream.name, events))
        return sorted(lines, key=lambda line: line.timestamp)[-count:]

    def follow(self, prefix: str, log_group: str = LOG_GROUP) -> list[LogLine]:
        """The lines written to the streams named ``<prefix>...`` since the last call
        (the first call: everything so far)."""
        lines: list[LogLine] = []
        for stream in self._streams(prefix, log_group):
            known = self._followed.setdefault(f"{log_group}:{stream.name}", stream)
            request: dict[str, Any] = {
                "logGroupName": log_group,
                "logStreamName": stream.name,
                "startFromHead": True,
            }
            while True:
                if known.token:
                    request["nextToken"] = known.token
                page = self.clients.logs.get_log_events(**request)
                lines.extend(_lines(stream.name, page["events"]))
                token = page.get("nextForwardToken")
                if not page["events"] or token == known.token:
                    known.token = token
                    break
                known.token = token
        return sorted(lines, key=lambda line: line.timestamp)


def _lines(stream: str, events: list[Any]) -> list[LogLine]:
    host = stream.split("/", 1)[-1]
    return [
        LogLine(int(event.get("timestamp", 0)), host, str(event.get("message", "")).rstrip("\n"))
        for event in events
        if isinstance(event, Mapping)
    ]
