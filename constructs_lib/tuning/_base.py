"""What every hyperparameter tuning job has, one of the stack's or an imported one:
its name and ARN, and rules on its state changes."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_events as events
from constructs import Construct

from ..core._job import derived_job_arn, state_change_rule
from ..handler.kinds import TUNING


class IHyperparameterTuningJob(Construct):
    """A hyperparameter tuning job: one of this stack (:class:`HyperparameterTuningJob`)
    or an existing one (:meth:`HyperparameterTuningJob.from_tuning_job_name`)."""

    @property
    def tuning_job_name(self) -> str:
        """The tuning job's name."""
        raise NotImplementedError

    @property
    def tuning_job_arn(self) -> str:
        """The tuning job's ARN."""
        raise NotImplementedError

    # -- events -------------------------------------------------------------

    def on_state_change(
        self,
        construct_id: str,
        *,
        target: events.IRuleTarget | None = None,
        statuses: list[str] | None = None,
        description: str | None = None,
        rule_name: str | None = None,
    ) -> events.Rule:
        """An EventBridge rule for this tuning job's "SageMaker HyperParameter Tuning
        Job State Change" events (SageMaker may send one more than once).

        :param statuses: only these ``HyperParameterTuningJobStatus`` values;
            default: all.
        """
        return state_change_rule(
            self,
            construct_id,
            kind=TUNING,
            job_name=self.tuning_job_name,
            target=target,
            statuses=statuses,
            description=description,
            rule_name=rule_name,
            names=self._rule_names(self.tuning_job_name),
        )

    def _exact_rule(self, construct_id: str, statuses: list[str]) -> events.Rule:
        """The deploy's own rule: this tuning job's events only."""
        return state_change_rule(
            self,
            construct_id,
            kind=TUNING,
            job_name=self.tuning_job_name,
            target=None,
            statuses=statuses,
            description=None,
            rule_name=None,
        )

    def _rule_names(self, job_name: str) -> Any:
        """What the job's rules match by name: the job (a job with a schedule: its
        runs too)."""
        from ..schedule._scheduling import rule_names  # noqa: PLC0415 - light, no import cycle

        return rule_names(self, job_name)

    def on_completed(
        self, construct_id: str, *, target: events.IRuleTarget | None = None
    ) -> events.Rule:
        """A rule for the tuning job completing."""
        return self.on_state_change(construct_id, target=target, statuses=["Completed"])

    def on_failed(
        self, construct_id: str, *, target: events.IRuleTarget | None = None
    ) -> events.Rule:
        """A rule for the tuning job ending without completing (``Failed`` or
        ``Stopped``)."""
        return self.on_state_change(construct_id, target=target, statuses=["Failed", "Stopped"])


class _ImportedTuningJob(IHyperparameterTuningJob):
    def __init__(self, scope: Construct, construct_id: str, *, name: str) -> None:
        super().__init__(scope, construct_id)
        self._name = name
        self._arn = derived_job_arn(self, TUNING, name)

    @property
    def tuning_job_name(self) -> str:
        return self._name

    @property
    def tuning_job_arn(self) -> str:
        return self._arn
