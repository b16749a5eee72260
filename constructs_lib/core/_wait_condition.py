"""The wait of ``Completion.wait_condition()``: a CloudFormation wait condition that
the job's state-change event signals, for jobs longer than a custom resource may
wait (up to 12 hours).

The handle, condition, signal check and result belong to one wait, whose construct
id carries :func:`wait_key`: a change that replaces the job gets new ones (and
CloudFormation deletes the old ones once the update succeeded); a change in place
keeps them. The rule follows the job."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from aws_cdk import Aws, CfnWaitCondition, CfnWaitConditionHandle, CustomResource
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from constructs import Construct

from .._shared.stacks import stack_of
from ..handler import properties as cr_props
from ..handler.kinds import TRAINING, JobKind
from ..provider import MAX_SERVICE_TIMEOUT, TrainingJobProvider
from ._timing import SECONDS, Timing

#: The statuses in which a job has ended.
ENDED_STATUSES = ("Completed", "Failed", "Stopped")
#: Hex digits of the key that identifies a job's wait condition (see ``wait_key``).
WAIT_KEY_CHARS = 8


def wait_key(scope: Construct, material: Any, timing: Timing) -> str:
    """Identifies the wait: what replaces the job (its request without the members
    that change in place, as the template resolves it) and the wait's timeout. A
    change of either needs a new wait condition, since CloudFormation never
    evaluates one again on update."""
    resolved = stack_of(scope).resolve(material)
    material = {"request": resolved, "timeout": timing.wait_condition_timeout()}
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:WAIT_KEY_CHARS]


def wait_for_state_change(
    scope: Construct,
    kind: JobKind,
    job: CustomResource,
    provider: TrainingJobProvider,
    *,
    timing: Timing,
    material: Any,
    rule: Callable[[str, list[str]], events.Rule],
    signal_kind: str | None = None,
    result_properties: dict[str, Any] | None = None,
) -> tuple[CfnWaitCondition, CustomResource]:
    """The wait condition of ``job``, the rule that signals it (made by ``rule``: id,
    statuses), the signal for a job that ended before the rule existed, and the
    result read after the wait: ``(condition, result)``.

    :param material: what identifies the job for its wait (see :func:`wait_key`).
    :param signal_kind: what the signal function reads the event as (default: the
        job's kind; ``queued`` for Batch's events of a queued job).
    :param result_properties: more properties of the result (the quality gate).
    """
    job_name = job.ref
    wait = Construct(scope, f"Wait{wait_key(scope, material, timing)}")
    handle = CfnWaitConditionHandle(wait, "Handle")
    condition = CfnWaitCondition(
        wait,
        "Condition",
        handle=handle.ref,
        timeout=str(timing.wait_condition_timeout()),
        count=1,
    )
    condition.node.add_dependency(job)
    ended = rule("Ended", list(ENDED_STATUSES))
    payload: dict[str, Any] = {
        "handleUrl": handle.ref,
        "jobName": job_name,
        "detail": events.EventField.from_path("$.detail"),
        # A failure's reason names the stack for `constructs-lib watch`.
        "stackName": Aws.STACK_NAME,
    }
    if signal_kind is not None:
        payload["kind"] = signal_kind
    elif kind is not TRAINING:
        payload["kind"] = kind.key
    ended.add_target(
        targets.LambdaFunction(
            provider.signal_function,
            event=events.RuleTargetInput.from_object(payload),
        )
    )
    check = CustomResource(
        wait,
        "SignalIfEnded",
        service_token=provider.service_token,
        resource_type=kind.signal_resource_type,
        properties={kind.name_property: job_name, cr_props.HANDLE_URL: handle.ref},
    )
    check.node.add_dependency(ended)
    # Created after the wait, the result reads an ended job. Should the job be
    # replaced without a new wait (a value it refers to changed at deploy time),
    # the result waits for the new job as long as a custom resource can.
    result = CustomResource(
        wait,
        "Result",
        service_token=provider.service_token,
        resource_type=kind.result_resource_type,
        service_timeout=MAX_SERVICE_TIMEOUT,
        properties={
            kind.name_property: job_name,
            cr_props.WAIT_TIMEOUT: SECONDS["MAX_SERVICE_TIMEOUT"] - SECONDS["DEADLINE_HEADROOM"],
            **(result_properties or {}),
        },
    )
    result.node.add_dependency(condition)
    return condition, result
