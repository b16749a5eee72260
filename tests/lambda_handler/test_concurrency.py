"""Hundreds of jobs in one deploy: waiting holds no Lambda concurrency.

The provider's function runs within its reserved concurrency (10 by default,
``TrainingJobProvider.configure(max_concurrency=...)``); tests/simulation.py plays
Lambda (throttling what exceeds it, retrying CloudFormation's throttled invocations
as its asynchronous queue does) and the waiting state machine (its own definition),
on the fakes' clock, counting concurrent executions and what they hold.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from constructs_lib.handler.properties import QUERY_INTERVAL_SECONDS
from constructs_lib.provider.options import DEFAULT_MAX_CONCURRENCY
from tests.fakes import EPOCH, FakeSageMaker
from tests.harness import Framework
from tests.lambda_handler.test_waiter import _properties
from tests.simulation import Simulation

JOBS = 300
RUNTIME_SECONDS = 20 * 60


def _deploy(
    jobs: int, *, concurrency: int | None, throttle: float = 0, new_roles: float = 0
) -> tuple[Simulation, Any]:
    sagemaker = FakeSageMaker()
    sagemaker.plan.runtime = RUNTIME_SECONDS
    if throttle:
        sagemaker.throttle("CreateTrainingJob", throttle)
    if new_roles:
        # Roles created with the stack, which SageMaker cannot assume yet.
        message = "Could not assume role arn:aws:iam::123456789012:role/training"
        sagemaker.refuse("CreateTrainingJob", new_roles, "ValidationException", message)
    framework = Framework(sagemaker)
    simulation = Simulation(
        sagemaker.clock, framework.runtime, services=framework.services, concurrency=concurrency
    )
    for index in range(jobs):
        simulation.send(
            framework.event("Create", _properties(), LogicalResourceId=f"Train{index:03d}")
        )
    simulation.run()
    return simulation, sagemaker


@pytest.fixture(scope="module")
def three_hundred() -> tuple[Simulation, Any]:
    return _deploy(JOBS, concurrency=DEFAULT_MAX_CONCURRENCY)


def test_three_hundred_jobs_complete_within_a_concurrency_of_ten(
    three_hundred: tuple[Simulation, Any],
) -> None:
    simulation, sagemaker = three_hundred
    bodies = [body for _, body in simulation.answers]
    assert len(bodies) == JOBS
    assert {body["Status"] for body in bodies} == {"SUCCESS"}, bodies[0]["Reason"]
    assert len({body["PhysicalResourceId"] for body in bodies}) == JOBS
    assert len(sagemaker.jobs) == JOBS
    assert simulation.peak <= DEFAULT_MAX_CONCURRENCY
    # CloudFormation's 300 invocations met the cap at once: Lambda throttled (and
    # retried) most of them, and no job was lost to it.
    assert simulation.throttles > JOBS / 2
    assert all(e.status == "SUCCEEDED" for e in simulation.executions.values())
    # Lambda's retries spread them: every job started within the deploy's first minute.
    started = max((job.created - EPOCH).total_seconds() for job in sagemaker.jobs.values())
    assert started < 60


def test_waiting_holds_a_fraction_of_an_execution_per_job(
    three_hundred: tuple[Simulation, Any],
) -> None:
    simulation, _ = three_hundred
    waited = sum(simulation.answered[r] - sent for r, sent in simulation.sent.items())
    per_job_second = simulation.execution_seconds / waited
    assert per_job_second <= 0.05, f"{per_job_second:.3f} execution-seconds per job-second"
    # One invocation per poll (CloudFormation's included), one poll per interval.
    polls_per_job = simulation.invocations / JOBS
    assert polls_per_job <= RUNTIME_SECONDS / QUERY_INTERVAL_SECONDS + 3


def test_a_finished_job_is_noticed_within_one_poll_interval(
    three_hundred: tuple[Simulation, Any],
) -> None:
    simulation, sagemaker = three_hundred
    by_owner = {job.tags["constructs-lib:cfn-request-id"]: job for job in sagemaker.jobs.values()}
    late = []
    for request_id, answered in simulation.answered.items():
        job = by_owner[request_id]
        ended = (job.created - EPOCH + dt.timedelta(seconds=RUNTIME_SECONDS)).total_seconds()
        if answered - ended > QUERY_INTERVAL_SECONDS + 1:
            late.append((job.name, answered - ended))
    assert late == []


def test_create_throttled_for_150_seconds_across_the_deploy_completes_every_job() -> None:
    simulation, sagemaker = _deploy(50, concurrency=DEFAULT_MAX_CONCURRENCY, throttle=150)
    bodies = [body for _, body in simulation.answers]
    assert len(bodies) == 50 and {body["Status"] for body in bodies} == {"SUCCESS"}
    assert len(sagemaker.jobs) == 50
    first_job = min(job.created for job in sagemaker.jobs.values())
    assert (first_job - EPOCH).total_seconds() >= 150


def test_roles_not_yet_assumable_hold_no_execution_while_iam_propagates() -> None:
    simulation, sagemaker = _deploy(300, concurrency=DEFAULT_MAX_CONCURRENCY, new_roles=60)
    bodies = [body for _, body in simulation.answers]
    assert len(bodies) == JOBS and {body["Status"] for body in bodies} == {"SUCCESS"}
    # A minute of propagation delays the jobs by about a minute, not by 300 jobs'
    # retries taking turns in 10 executions.
    started = max((job.created - EPOCH).total_seconds() for job in sagemaker.jobs.values())
    assert 60 <= started < 60 + 2 * QUERY_INTERVAL_SECONDS
    assert max(simulation.answered.values()) < RUNTIME_SECONDS + 60 + 3 * QUERY_INTERVAL_SECONDS
