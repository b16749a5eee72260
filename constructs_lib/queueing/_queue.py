"""TrainingQueue: an AWS Batch job queue for SageMaker training jobs, in front of a
service environment that caps the instances its jobs use at once.

Jobs submitted to the queue (``TrainingJob(..., queue=queue)``) wait in Batch's
``RUNNABLE`` state until the environment has capacity, in the order the queue's
scheduling policy gives them: first in, first out, or fair share between share
identifiers (teams), with each job's scheduling priority within its share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aws_cdk import Arn, ArnFormat, Duration, Token
from aws_cdk import aws_iam as iam
from constructs import Construct

from .._shared.stacks import stack_of
from .._shared.typecheck import arguments, check_props
from ..provider.permissions import JOB_ACTIONS, SUBMIT_ACTIONS
from ..security._compact import allow
from ..security._nag import acknowledge_statement

if TYPE_CHECKING:
    from aws_cdk import aws_batch as batch

#: Batch's service job type for SageMaker training jobs.
SAGEMAKER_TRAINING = "SAGEMAKER_TRAINING"
#: Batch's limits (CreateSchedulingPolicy, SubmitServiceJob, CreateJobQueue).
MAX_SHARE_DECAY_SECONDS = 604_800
MAX_COMPUTE_RESERVATION = 99
MAX_WEIGHT_FACTOR = 999.9999
MIN_WEIGHT_FACTOR = 0.0001
MAX_SCHEDULING_PRIORITY = 9999
MAX_QUEUE_PRIORITY = 1000
_SHARE_IDENTIFIER_CHARS = 255


@dataclass(frozen=True)
class FairShare:
    """A fair-share scheduling policy: Batch divides the environment's capacity
    between share identifiers (e.g. teams) in proportion to the inverse of their
    weights, counting each share's recent use.

    :param shares: share identifier -> weight factor (a lower weight gets more of
        the capacity; Batch's default 1). A job names its share with
        ``TrainingJob(share=...)``; a share not listed gets weight 1. A trailing
        ``*`` makes an identifier a prefix (``"team-a*"``).
    :param decay: how long past use counts against a share; default: none (only
        the jobs running now count). At most 7 days.
    :param compute_reservation: the percentage of capacity (0-99, as Batch computes
        it) kept for share identifiers that have no running jobs; default: none.
    """

    shares: Mapping[str, float]
    decay: Duration | None = None
    compute_reservation: int | None = None

    def problems(self) -> list[str]:
        """What Batch would refuse, as sentences naming the member."""
        found: list[str] = []
        for share, weight in self.shares.items():
            if not share or len(share) > _SHARE_IDENTIFIER_CHARS or "*" in share[:-1]:
                found.append(
                    f"shares[{share!r}]: a share identifier has 1 to 255 characters, "
                    "with '*' only at its end"
                )
            if not MIN_WEIGHT_FACTOR <= weight <= MAX_WEIGHT_FACTOR:
                found.append(
                    f"shares[{share!r}]: weight {weight!r} must be between "
                    f"{MIN_WEIGHT_FACTOR} and {MAX_WEIGHT_FACTOR}"
                )
        if self.decay is not None and not Token.is_unresolved(self.decay):
            seconds = self.decay.to_seconds()
            if seconds > MAX_SHARE_DECAY_SECONDS:
                found.append(f"decay: {seconds:.0f} s is more than Batch's 7 days")
        if self.compute_reservation is not None and not (
            0 <= self.compute_reservation <= MAX_COMPUTE_RESERVATION
        ):
            found.append(
                f"compute_reservation: {self.compute_reservation!r} must be between 0 and 99"
            )
        return found

    def render(self) -> batch.CfnSchedulingPolicy.FairsharePolicyProperty:
        """The policy as the ``AWS::Batch::SchedulingPolicy`` resource states it."""
        from aws_cdk import aws_batch as batch  # noqa: PLC0415 - only apps with queues load it

        return batch.CfnSchedulingPolicy.FairsharePolicyProperty(
            share_decay_seconds=int(self.decay.to_seconds()) if self.decay else None,
            compute_reservation=self.compute_reservation,
            share_distribution=[
                batch.CfnSchedulingPolicy.ShareAttributesProperty(
                    share_identifier=share, weight_factor=weight
                )
                for share, weight in sorted(self.shares.items())
            ],
        )

    def covers(self, share: str) -> bool:
        """Whether ``share`` is one of the policy's identifiers (or prefixes)."""
        return any(
            share == known or (known.endswith("*") and share.startswith(known[:-1]))
            for known in self.shares
        )


class ITrainingQueue(Construct):
    """A SageMaker training job queue of AWS Batch: one of this app
    (:class:`TrainingQueue`) or an existing one (:meth:`TrainingQueue.from_job_queue_arn`)."""

    # Set by each kind of queue (this app's, or imported).
    _arn: str
    _max_instances: int | None
    _fair_share: FairShare | bool | None

    @property
    def job_queue_arn(self) -> str:
        """The ARN of the job queue (``arn:...:batch:<region>:<account>:job-queue/<name>``)."""
        return self._arn

    @property
    def max_instances(self) -> int | None:
        """The instances its service environment runs at once, when known."""
        return self._max_instances

    @property
    def fair_share(self) -> FairShare | bool | None:
        """Its fair-share policy; True for an imported queue said to have one, False
        for a queue without, None when unknown."""
        return self._fair_share

    def grant_submit(self, grantee: iam.IGrantable) -> None:
        """Let ``grantee`` submit SageMaker training jobs to this queue, and describe
        and terminate its service jobs."""
        principal = grantee.grant_principal
        jobs = [service_jobs_arn(self)]
        allow(principal, list(SUBMIT_ACTIONS), [self.job_queue_arn])
        allow(principal, list(JOB_ACTIONS), jobs)
        acknowledge_statement(
            principal,
            JOB_ACTIONS,
            jobs,
            "AWS Batch names a service job by an id it picks at submission: describing "
            "and terminating the jobs one submitted is granted on the service jobs of the "
            "account and region; submitting, on this queue only.",
        )


def service_jobs_arn(scope: Construct) -> str:
    """The ARN of every service job of ``scope``'s account and region: Batch names a
    service job by an id it picks, so its ARN is known only after submission."""
    return stack_of(scope).format_arn(
        service="batch",
        resource="service-job",
        resource_name="*",
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


class _ImportedQueue(ITrainingQueue):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        arn: str,
        max_instances: int | None,
        fair_share: bool | None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(arn):
            parts = Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME)
            if parts.service != "batch" or parts.resource != "job-queue":
                raise ValueError(
                    f"[{self.node.path}] job_queue_arn: {arn!r} is invalid: an AWS Batch "
                    "job queue's ARN is arn:<partition>:batch:<region>:<account>:job-queue/<name>"
                )
        self._arn = arn
        self._max_instances = max_instances
        self._fair_share = fair_share


class TrainingQueue(ITrainingQueue):
    """An AWS Batch queue for SageMaker training jobs: a service environment of type
    ``SAGEMAKER_TRAINING`` that runs at most ``max_instances`` instances at once,
    and a job queue in front of it (first in, first out, or by ``fair_share``).

    Example::

        queue = TrainingQueue(self, "Queue", max_instances=8,
            fair_share=FairShare(shares={"team-a": 1, "team-b": 2}))
        TrainingJob(self, "Train", ..., queue=queue, share="team-a",
                    scheduling_priority=10)
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        max_instances: int,
        priority: int | None = None,
        fair_share: FairShare | None = None,
        queue_name: str | None = None,
        service_environment_name: str | None = None,
    ) -> None:
        """
        :param max_instances: the instances the queue's jobs use at once (Batch's
            capacity limit, ``NUM_INSTANCES``); required, at least 1.
        :param priority: the job queue's priority among the queues of its service
            environment (higher first); default: 1.
        :param fair_share: share the capacity between share identifiers; default:
            first in, first out.
        :param queue_name: default: generated by CloudFormation.
        :param service_environment_name: default: generated by CloudFormation.
        """
        super().__init__(scope, construct_id)
        check_props(self, TrainingQueue.__init__, arguments(locals()))
        problems: list[str] = []
        if (
            isinstance(max_instances, bool)
            or not isinstance(max_instances, int)
            or max_instances < 1
        ):
            problems.append(
                f"max_instances: {max_instances!r} must be a whole number of at least 1"
            )
        if priority is not None and not 0 <= priority <= MAX_QUEUE_PRIORITY:
            problems.append(f"priority: {priority!r} must be between 0 and {MAX_QUEUE_PRIORITY}")
        if fair_share is not None:
            problems.extend(f"fair_share.{problem}" for problem in fair_share.problems())
        if problems:
            raise ValueError(f"[{self.node.path}] " + "; ".join(problems))
        from aws_cdk import aws_batch as batch  # noqa: PLC0415 - only apps with queues load it

        self._max_instances = max_instances
        self._fair_share = fair_share if fair_share is not None else False
        self.service_environment: batch.CfnServiceEnvironment = batch.CfnServiceEnvironment(
            self,
            "ServiceEnvironment",
            service_environment_type=SAGEMAKER_TRAINING,
            service_environment_name=service_environment_name,
            capacity_limits=[
                batch.CfnServiceEnvironment.CapacityLimitProperty(
                    capacity_unit="NUM_INSTANCES", max_capacity=max_instances
                )
            ],
        )
        self.scheduling_policy: batch.CfnSchedulingPolicy | None = (
            batch.CfnSchedulingPolicy(
                self, "SchedulingPolicy", fairshare_policy=fair_share.render()
            )
            if fair_share is not None
            else None
        )
        self.job_queue: batch.CfnJobQueue = batch.CfnJobQueue(
            self,
            "Resource",
            job_queue_type=SAGEMAKER_TRAINING,
            job_queue_name=queue_name,
            priority=1 if priority is None else priority,
            scheduling_policy_arn=(
                self.scheduling_policy.attr_arn if self.scheduling_policy is not None else None
            ),
            service_environment_order=[
                batch.CfnJobQueue.ServiceEnvironmentOrderProperty(
                    order=1,
                    service_environment=self.service_environment.attr_service_environment_arn,
                )
            ],
        )
        self._arn = self.job_queue.attr_job_queue_arn

    @staticmethod
    def from_job_queue_arn(
        scope: Construct,
        construct_id: str,
        job_queue_arn: str,
        *,
        max_instances: int | None = None,
        fair_share: bool | None = None,
    ) -> ITrainingQueue:
        """A queue a platform team owns, by ARN (a ``SAGEMAKER_TRAINING`` job queue).

        :param max_instances: its capacity, if you know it: synth then checks that each
            job fits; default: unknown (not checked).
        :param fair_share: whether it has a fair-share policy (jobs must then name a
            share); default: unknown (not checked).
        """
        return _ImportedQueue(scope, construct_id, job_queue_arn, max_instances, fair_share)
