"""Issue 32: what waiting costs in Lambda, per completion mode, against the previous
design (the provider's function slept between polls inside its own invocation, handing
over before Lambda's 15 minutes), and a 300-job deploy within a concurrency of 10.

Both designs run the same lifecycle on the same fakes and simulated clock, with the
same cost model of an invocation (``tests/simulation.py``: a start-up share and a
tenth of a second per AWS call, plus what it sleeps). The previous waiter is that of
commit :data:`PREVIOUS_DESIGN`, read from git: measured, not recalled.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: The last commit whose waiter slept between polls inside the invocation.
PREVIOUS_DESIGN = "6a8378b"
RUNTIME_SECONDS = 45 * 60
#: The previous design's function timeout (it waited in runs of Lambda's 15 minutes).
PREVIOUS_TIMEOUT = 900.0


def previous_waiter() -> ModuleType | None:
    """``handler/waiter.py`` as of :data:`PREVIOUS_DESIGN`, or None without git."""
    try:
        source = subprocess.run(
            ["git", "show", f"{PREVIOUS_DESIGN}:constructs_lib/handler/waiter.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    spec = importlib.util.spec_from_loader("constructs_lib.handler.previous_waiter", None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "constructs_lib.handler"
    sys.modules[spec.name] = module  # dataclasses look their module up
    exec(compile(source, "previous waiter.py", "exec"), module.__dict__)
    return module


def _previous(extra: dict[str, Any], waiter: ModuleType) -> tuple[int, float]:
    """Invocations and execution-seconds of one deploy under the previous waiter."""
    from tests.fakes import FakeSageMaker
    from tests.harness import Framework
    from tests.lambda_handler.test_handler_lifecycle import properties
    from tests.simulation import CALL_SECONDS, INVOCATION_SECONDS

    fake = FakeSageMaker()
    fake.plan.runtime = RUNTIME_SECONDS
    framework = Framework(fake)
    clock = fake.clock
    queue = [json.dumps(framework.event("Create", {**properties(), **extra}))]
    deadline = 0.0

    class Services:
        def now(self) -> float:
            return float(clock.seconds)

        def sleep(self, seconds: float) -> None:
            clock.sleep(seconds)

        def remaining_seconds(self) -> float:
            return deadline - float(clock.seconds)

        def continue_later(self, payload: dict[str, Any]) -> None:
            queue.append(json.dumps(payload))

        def respond(self, url: str, body: dict[str, Any]) -> None:
            pass

    invocations, held = 0, 0.0
    while queue:
        started, calls = float(clock.seconds), len(fake.calls)
        deadline = started + PREVIOUS_TIMEOUT
        waiter.handle(json.loads(queue.pop(0)), framework.runtime, Services())
        invocations += 1
        held += clock.seconds - started + INVOCATION_SECONDS
        held += CALL_SECONDS * (len(fake.calls) - calls)
    return invocations, held


def _current(extra: dict[str, Any]) -> tuple[int, float]:
    from tests.fakes import FakeSageMaker
    from tests.harness import Framework
    from tests.lambda_handler.test_handler_lifecycle import properties

    fake = FakeSageMaker()
    fake.plan.runtime = RUNTIME_SECONDS
    framework = Framework(fake)
    framework.create({**properties(), **extra})
    return framework.invocations, framework.execution_seconds


def per_job_hour() -> dict[str, dict[str, Any]]:
    """Lambda invocations and execution-seconds per job-hour of a 45-minute job's
    deploy, per mode, now and in the previous design."""
    from constructs_lib.handler.properties import COMPLETION, POLL_INTERVAL

    hours = RUNTIME_SECONDS / 3600
    modes = {
        "wait (poll every 30 s)": {POLL_INTERVAL: "30"},
        "wait (poll every 2 min)": {POLL_INTERVAL: "120"},
        "wait_condition / none (the job resource)": {COMPLETION: "created"},
    }
    previous = previous_waiter()
    rows: dict[str, dict[str, Any]] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for mode, extra in modes.items():
            invocations, held = _current(extra)
            row: dict[str, Any] = {
                "invocations per job-hour": round(invocations / hours, 1),
                "execution-seconds per job-hour": round(held / hours, 1),
            }
            if previous is not None:
                old_invocations, old_held = _previous(extra, previous)
                row["previous: invocations per job-hour"] = round(old_invocations / hours, 1)
                row["previous: execution-seconds per job-hour"] = round(old_held / hours, 1)
                row["execution-seconds, now / previous"] = round(held / old_held, 4)
            rows[mode] = row
    return rows


def three_hundred_jobs(per_hour: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """300 jobs of 20 minutes created at once, the function's concurrency at 10; what
    300 waiting jobs held in the previous design, from its measured execution-seconds
    per job-hour (``per_hour``, :func:`per_job_hour`)."""
    from tests.lambda_handler.test_concurrency import RUNTIME_SECONDS as JOB_SECONDS
    from tests.lambda_handler.test_concurrency import _deploy

    with contextlib.redirect_stdout(io.StringIO()):
        simulation, _ = _deploy(300, concurrency=10)
    waited = sum(simulation.answered[r] - sent for r, sent in simulation.sent.items())
    statuses = [body["Status"] for _, body in simulation.answers]
    previous = per_hour["wait (poll every 30 s)"].get("previous: execution-seconds per job-hour")
    return {
        "jobs answered SUCCESS": statuses.count("SUCCESS"),
        "peak concurrent executions": simulation.peak,
        "throttled invocations (retried)": simulation.throttles,
        "last answer, seconds after the deploy began": round(max(simulation.answered.values())),
        "job runtime (s)": JOB_SECONDS,
        "execution-seconds per job-second of waiting": round(
            simulation.execution_seconds / waited, 4
        ),
        "previous: concurrent executions 300 waiting jobs held": (
            None if previous is None else round(300 * previous / 3600)
        ),
    }
