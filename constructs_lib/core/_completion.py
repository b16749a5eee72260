"""How a deployment waits for its training job."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from aws_cdk import Duration


class CompletionMode(Enum):
    WAIT = "wait"
    """The custom resource waits, polling the job: up to one hour in all."""
    WAIT_CONDITION = "wait_condition"
    """A CloudFormation wait condition, signalled by the job's state-change event:
    up to 12 hours."""
    NONE = "none"
    """The deployment does not wait: the job runs on after it."""


@dataclass(frozen=True)
class Completion:
    """What the deployment waits for. Create with :meth:`wait`, :meth:`wait_condition`
    or :meth:`none`."""

    mode: CompletionMode
    timeout: Duration | None = None
    poll_interval: Duration | None = None

    @staticmethod
    def wait(*, poll_interval: Duration | None = None) -> Completion:
        """Poll the job until it ends (the default). CloudFormation lets a custom
        resource wait one hour at most, so the job's max runtime (max wait with spot)
        can be at most 45 minutes.

        :param poll_interval: how often to call DescribeTrainingJob; default: a 60th
            of the job's longest run, between 30 seconds and 5 minutes.
        """
        return Completion(CompletionMode.WAIT, poll_interval=poll_interval)

    @staticmethod
    def wait_condition(*, timeout: Duration | None = None) -> Completion:
        """Wait on a ``CfnWaitCondition`` signalled by the job's "SageMaker Training
        Job State Change" event: jobs up to 12 hours, no polling. The job's
        attributes come from a result resource created after the wait.

        :param timeout: default: the job's longest run plus 15 minutes; at most 12 hours.
        """
        return Completion(CompletionMode.WAIT_CONDITION, timeout=timeout)

    @staticmethod
    def none() -> Completion:
        """Do not wait: the deployment goes on once the job is created (jobs up to 28
        days). Watch it with ``job.on_state_change``; ``model_data_url`` is where the
        model will be, not a promise that it is there."""
        return Completion(CompletionMode.NONE)
