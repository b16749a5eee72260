"""What every hyperparameter tuning job has, one of the stack's or an imported one:
its name and ARN, and rules on its state changes."""

from __future__ import annotations

from typing import Any

from constructs import Construct

from ..core._events import StateChangeRules
from ..core._job import derived_job_arn
from ..handler.kinds import TUNING, JobKind


class IHyperparameterTuningJob(StateChangeRules, Construct):
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

    # -- events (StateChangeRules) ---------------------------------------

    def _state_change_subject(self) -> tuple[JobKind, str]:
        return TUNING, self.tuning_job_name

    def _rule_names(self, job_name: str) -> Any:
        """What the job's rules match by name: the job (a job with a schedule: its
        runs too)."""
        from ..schedule._scheduling import rule_names  # noqa: PLC0415 - light, no import cycle

        return rule_names(self, job_name)


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
