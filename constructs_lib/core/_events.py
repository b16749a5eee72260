"""The state-change rules of every job construct: ``on_state_change``,
``on_completed`` and ``on_failed`` on its kind's events ("SageMaker Training Job State
Change"...), for its job's name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from aws_cdk import aws_events as events
from constructs import Construct

from ._job import state_change_rule

if TYPE_CHECKING:
    from ..handler.kinds import JobKind
    from ._job import JobCore


class StateChangeRules:
    """Rules on the state changes of a job construct's job: the construct says which
    (:meth:`_state_change_subject`) and, where a rule matches more than its job's name
    (a job's scheduled runs), what (:meth:`_rule_names`)."""

    def _state_change_subject(self) -> tuple[JobKind, str]:
        """The kind and the name of the job whose events the rules match."""
        raise NotImplementedError

    def _rule_names(self, job_name: str) -> Any:
        """What the rules match by name; default (None): exactly the job's name."""
        return None

    def on_state_change(
        self,
        construct_id: str,
        *,
        target: events.IRuleTarget | None = None,
        statuses: list[str] | None = None,
        description: str | None = None,
        rule_name: str | None = None,
    ) -> events.Rule:
        """An EventBridge rule for this job's state-change events (its kind's
        detail-type; SageMaker may send one more than once).

        :param statuses: only these statuses (``TrainingJobStatus``,
            ``ProcessingJobStatus``... values); default: all.
        """
        kind, job_name = self._state_change_subject()
        return state_change_rule(
            cast(Construct, self),
            construct_id,
            kind=kind,
            job_name=job_name,
            target=target,
            statuses=statuses,
            description=description,
            rule_name=rule_name,
            names=self._rule_names(job_name),
        )

    def _exact_rule(self, construct_id: str, statuses: list[str]) -> events.Rule:
        """The deploy's own rule (its wait condition's): this job's events only, never
        a scheduled run's."""
        kind, job_name = self._state_change_subject()
        return state_change_rule(
            cast(Construct, self),
            construct_id,
            kind=kind,
            job_name=job_name,
            target=None,
            statuses=statuses,
            description=None,
            rule_name=None,
        )

    def on_completed(
        self, construct_id: str, *, target: events.IRuleTarget | None = None
    ) -> events.Rule:
        """A rule for the job completing."""
        return self.on_state_change(construct_id, target=target, statuses=["Completed"])

    def on_failed(
        self, construct_id: str, *, target: events.IRuleTarget | None = None
    ) -> events.Rule:
        """A rule for the job ending without completing (``Failed`` or ``Stopped``)."""
        return self.on_state_change(construct_id, target=target, statuses=["Failed", "Stopped"])


class OwnStateChanges(StateChangeRules):
    """The rules of a job construct built on a :class:`JobCore` (``_core``) whose events
    name exactly its own job (a processing or a transform job: no schedule runs under
    its name)."""

    _core: JobCore

    def _state_change_subject(self) -> tuple[JobKind, str]:
        return self._core.kind, self._core.job_name
