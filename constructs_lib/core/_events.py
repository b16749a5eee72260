"""The state-change rules of a job construct whose events name exactly its own job (a
processing or a transform job: no schedule runs under its name)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import aws_events as events

from ._job import state_change_rule

if TYPE_CHECKING:
    from ._job import JobCore


class OwnStateChanges:
    """``on_state_change`` of a job construct built on a :class:`JobCore` (``_core``),
    whose events are its kind's ("SageMaker Processing Job State Change"...)."""

    _core: JobCore

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

        :param statuses: only these statuses (``ProcessingJobStatus``,
            ``TransformJobStatus``... values); default: all.
        """
        core = self._core
        return state_change_rule(
            core.scope,
            construct_id,
            kind=core.kind,
            job_name=core.job_name,
            target=target,
            statuses=statuses,
            description=description,
            rule_name=rule_name,
        )

    def _exact_rule(self, construct_id: str, statuses: list[str]) -> events.Rule:
        return self.on_state_change(construct_id, statuses=statuses)
