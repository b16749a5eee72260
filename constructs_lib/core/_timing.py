"""How long the deployment waits for a job, and how it waits: the custom resource's
ServiceTimeout, the polling interval, the wait condition's timeout, and the rules a
job's longest run must follow for its completion mode. Shared by every kind of job."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration

from .._shared.remembered import duration_of_seconds
from .._shared.schema.validate import Problem
from ..handler import properties as cr_props
from ..handler.properties import MAX_SERVICE_TIMEOUT_SECONDS
from ..provider import MAX_SERVICE_TIMEOUT
from ._completion import Completion, CompletionMode

# The limits below in seconds, known here: each Duration read is a crossing to the
# CDK's JavaScript side, and these are read at import and for every job.
SECONDS = {
    "MAX_SERVICE_TIMEOUT": MAX_SERVICE_TIMEOUT_SECONDS,
    "START_AND_UPLOAD_MARGIN": 15 * 60,
    "MIN_SERVICE_TIMEOUT": 30 * 60,
    "DEADLINE_HEADROOM": cr_props.DEADLINE_HEADROOM_SECONDS,
    "MAX_WAIT_CONDITION_TIMEOUT": 12 * 3600,
    "MAX_JOB_RUNTIME": 28 * 24 * 3600,
    # A processing job's (ProcessingMaxRuntimeInSeconds).
    "MAX_PROCESSING_RUNTIME": 9 * 24 * 3600,
    "QUOTA_START_MARGIN": 60,
}
SECONDS["MAX_WAITED_RUNTIME"] = SECONDS["MAX_SERVICE_TIMEOUT"] - SECONDS["START_AND_UPLOAD_MARGIN"]
SECONDS["MAX_WAIT_CONDITION_RUNTIME"] = (
    SECONDS["MAX_WAIT_CONDITION_TIMEOUT"] - SECONDS["START_AND_UPLOAD_MARGIN"]
)

#: Time a job needs beyond its max runtime: instances to start, data and image to
#: download, the model to upload. The deployment's wait allows for it.
START_AND_UPLOAD_MARGIN = duration_of_seconds(SECONDS["START_AND_UPLOAD_MARGIN"])
#: The longest run (max runtime, or max wait with spot) that waiting mode can hold
#: within CloudFormation's hour.
MAX_WAITED_RUNTIME = duration_of_seconds(SECONDS["MAX_WAITED_RUNTIME"])
#: CloudFormation's limit for a wait condition.
MAX_WAIT_CONDITION_TIMEOUT = duration_of_seconds(SECONDS["MAX_WAIT_CONDITION_TIMEOUT"])
#: SageMaker's limit for a training job's run.
MAX_JOB_RUNTIME = duration_of_seconds(SECONDS["MAX_JOB_RUNTIME"])
#: A shorter ServiceTimeout would leave a delete no time to stop the job and wait
#: for its network interfaces.
MIN_SERVICE_TIMEOUT = duration_of_seconds(SECONDS["MIN_SERVICE_TIMEOUT"])
#: The handler gives up this long before CloudFormation would, to say why.
DEADLINE_HEADROOM = duration_of_seconds(SECONDS["DEADLINE_HEADROOM"])
#: What creating a job takes once its quota has a slot (the Create call, retries).
QUOTA_START_MARGIN = duration_of_seconds(SECONDS["QUOTA_START_MARGIN"])
#: The longest run the wait-condition mode holds: 12 hours less the margin.
MAX_WAIT_CONDITION_RUNTIME = duration_of_seconds(SECONDS["MAX_WAIT_CONDITION_RUNTIME"])


@dataclass(frozen=True)
class Timing:
    """The waiting of one job: its completion mode and its longest run once created
    (seconds; None when a token hides it).

    :param path: the request member that bounds the run (for messages).
    :param max_run_seconds: what SageMaker allows that member (28 days for a
        training job's runtime).
    """

    completion: Completion
    longest: float | None
    path: str
    max_run_seconds: int = SECONDS["MAX_JOB_RUNTIME"]
    #: ``max_quota_wait``: at most this long for a slot of a full quota (zero: no
    #: wait); None: as long as what waits for the job leaves room for.
    max_quota_wait: Duration | None = None
    #: Submitted to an AWS Batch queue: the time queued counts, and is unknown at
    #: synth, so what waits gets all it may; no quota wait (Batch queues instead).
    queued: bool = False

    @property
    def mode(self) -> CompletionMode:
        return self.completion.mode

    def _quota_room(self) -> int:
        """Seconds left for a quota slot within CloudFormation's hour (waiting mode:
        after the job's longest run and margins) or the creation's service timeout."""
        if self.mode != CompletionMode.WAIT:
            used = SECONDS["DEADLINE_HEADROOM"] + SECONDS["QUOTA_START_MARGIN"]
            return max(0, SECONDS["MIN_SERVICE_TIMEOUT"] - used)
        longest = SECONDS["MAX_WAITED_RUNTIME"] if self.longest is None else int(self.longest)
        used = longest + SECONDS["START_AND_UPLOAD_MARGIN"] + SECONDS["DEADLINE_HEADROOM"]
        return max(0, SECONDS["MAX_SERVICE_TIMEOUT"] - used)

    def quota_wait_seconds(self) -> int:
        """How long the job may wait for a slot of a full quota (0: not at all)."""
        if self.queued:
            return 0
        room = self._quota_room()
        if self.max_quota_wait is None:
            return room
        return min(room, int(self.max_quota_wait.to_seconds()))

    def service_timeout(self) -> Duration:
        """How long CloudFormation waits for the job: its longest run plus the
        start-up and upload margin, within CloudFormation's one hour (all of it when
        the job may wait for a quota slot); only the creation (and a delete) when
        something else waits for the end."""
        if self.mode != CompletionMode.WAIT:
            return MIN_SERVICE_TIMEOUT
        if self.longest is None or self.queued or self.quota_wait_seconds() > 0:
            return MAX_SERVICE_TIMEOUT
        needed = int(self.longest) + SECONDS["START_AND_UPLOAD_MARGIN"]
        return duration_of_seconds(
            min(max(needed, SECONDS["MIN_SERVICE_TIMEOUT"]), SECONDS["MAX_SERVICE_TIMEOUT"])
        )

    def poll_interval_seconds(self) -> int:
        """A 60th of the longest run, in multiples of the provider's query interval,
        between 30 seconds and 5 minutes (unless set)."""
        step = cr_props.QUERY_INTERVAL_SECONDS
        chosen = self.completion.poll_interval
        if chosen is not None:
            return max(step, -(-int(chosen.to_seconds()) // step) * step)
        longest = self.longest or SECONDS["MAX_WAITED_RUNTIME"]
        return int(min(max(step, int(longest / 60) // step * step), 300))

    def wait_condition_timeout(self) -> int:
        if self.completion.timeout is not None:
            return int(self.completion.timeout.to_seconds())
        if self.queued:
            return int(SECONDS["MAX_WAIT_CONDITION_TIMEOUT"])
        longest = self.longest or SECONDS["MAX_WAIT_CONDITION_TIMEOUT"]
        needed = int(longest + SECONDS["START_AND_UPLOAD_MARGIN"])
        return min(needed, int(SECONDS["MAX_WAIT_CONDITION_TIMEOUT"]))

    def problems(self) -> list[Problem]:
        """The job's longest run must fit what waits for it, and the quota wait what
        is left."""
        return self._run_problems() or self._quota_problems()

    def _quota_problems(self) -> list[Problem]:
        cap = self.max_quota_wait
        if cap is None:
            return []
        seconds = cap.to_seconds()
        room = self._quota_room()
        if seconds > room:
            return [
                Problem(
                    "max_quota_wait",
                    int(seconds),
                    f"the deployment can wait at most {room} s for a quota slot (CloudFormation "
                    "waits an hour for a resource; the job's longest run and its margins "
                    "take the rest): lower it, shorten the job, or use "
                    "completion=Completion.wait_condition()",
                )
            ]
        return []

    def _run_problems(self) -> list[Problem]:
        """The job's longest run must fit what waits for it."""
        longest, path = self.longest, self.path
        margin = SECONDS["START_AND_UPLOAD_MARGIN"]
        if longest is not None and longest > self.max_run_seconds:
            days = self.max_run_seconds // 86400
            return [Problem(path, int(longest), f"SageMaker runs a job for {days} days at most")]
        waited = SECONDS["MAX_WAITED_RUNTIME"]
        if self.mode == CompletionMode.WAIT and longest is not None and longest > waited:
            fits = longest + margin <= SECONDS["MAX_WAIT_CONDITION_TIMEOUT"]
            proposal = "Completion.wait_condition()" if fits else "Completion.none()"
            return [
                Problem(
                    path,
                    int(longest),
                    "the deployment waits for the job (Completion.wait()), and CloudFormation "
                    f"waits for a resource at most one hour, {margin // 60} minutes of which "
                    "go to starting instances and uploading the model: it "
                    f"can be at most {waited} seconds ({waited // 60} minutes). For this job "
                    f"use completion={proposal}.",
                )
            ]
        if self.mode == CompletionMode.WAIT_CONDITION:
            return self._wait_condition_problems()
        return self._poll_problems()

    def _poll_problems(self) -> list[Problem]:
        """A poll interval the provider can keep: whole multiples of its query
        interval, within the hour CloudFormation waits."""
        chosen = self.completion.poll_interval
        if self.mode != CompletionMode.WAIT or chosen is None:
            return []
        seconds = chosen.to_seconds()
        step = cr_props.QUERY_INTERVAL_SECONDS
        if seconds < step or seconds % step or seconds > SECONDS["MAX_WAITED_RUNTIME"]:
            return [
                Problem(
                    "completion.poll_interval",
                    seconds,
                    f"the provider queries a job every {step} seconds: the poll interval "
                    f"must be a multiple of {step} seconds, from {step} to "
                    f"{int(SECONDS['MAX_WAITED_RUNTIME'])} (e.g. Duration.minutes(1))",
                )
            ]
        return []

    def _wait_condition_problems(self) -> list[Problem]:
        longest, path = self.longest, self.path
        limit = SECONDS["MAX_WAIT_CONDITION_TIMEOUT"]
        timeout = self.completion.timeout
        if timeout is not None:
            seconds = timeout.to_seconds()
            if seconds > limit:
                return [
                    Problem(
                        "completion.timeout",
                        int(seconds),
                        f"a CloudFormation wait condition waits at most {int(limit)} seconds "
                        "(12 hours); for longer jobs use completion=Completion.none()",
                    )
                ]
            if longest is not None and seconds < longest:
                return [
                    Problem(
                        "completion.timeout",
                        int(seconds),
                        f"it is shorter than the job may run ({int(longest)} s, {path}); "
                        "the deployment would fail while the job still trains",
                    )
                ]
            return []
        if longest is not None and longest + SECONDS["START_AND_UPLOAD_MARGIN"] > limit:
            return [
                Problem(
                    path,
                    int(longest),
                    "Completion.wait_condition() waits at most 12 hours, "
                    f"{SECONDS['START_AND_UPLOAD_MARGIN'] // 60} minutes of which go to "
                    "starting instances and uploading the model; for this job use "
                    "completion=Completion.none()",
                )
            ]
        return []
