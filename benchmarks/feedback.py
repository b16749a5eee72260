"""The feedback loop's costs (issue 29): the watch command's API calls per refresh for a
stack of 1 and of 50 jobs, with and without 500 other jobs in the account (against
moto, the jobs started by the library's handler); its start-up; the sample's local
rehearsal; and what neither costs an app that does not use them.

``python -m benchmarks.feedback [--quick]`` prints JSON; ``make bench`` includes it.
"""

from __future__ import annotations

import contextlib
import io
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: Jobs of the account that are none of the stack's.
OTHER_JOBS = 500
#: What an app that uses neither feature must not import.
FEATURE_MODULES = (
    "constructs_lib.cli",
    "constructs_lib.testing",
    "rich",
    "boto3",
    "sagemaker_training",
)


def _seconds(command: list[str], repetitions: int) -> float:
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def watch_calls(jobs: int) -> dict[str, int]:
    """API calls of the first refresh and of a later one, for a stack of ``jobs``
    training jobs (half still running), before and after the account gets
    :data:`OTHER_JOBS` other jobs."""
    import boto3
    from moto import mock_aws

    from benchmarks.synth_app import build
    from constructs_lib.cli import watch
    from constructs_lib.cli._aws import Clients
    from tests.moto_stack import REGION, MotoStack, run_training, start_other_job

    app = build(jobs)
    assembly = Path(app.synth().directory)
    with mock_aws():
        stack = MotoStack.of(assembly, "Bench").create()
        with contextlib.redirect_stdout(io.StringIO()):  # the handler's log lines
            names = [stack.start(f"Job{index}") for index in range(jobs)]
        for name in names[::2]:
            run_training(name, secondary=["Starting", "Training"], elapsed=60)
        clients = Clients(boto3.Session(), REGION)
        # As the command's loop refreshes: one watcher, tags read once per job.
        watcher = watch.Watcher(watch.Options(stacks=("Bench",), logs=0), lambda _: clients)

        def refresh() -> int:
            watcher.refresh()
            return watcher.calls

        first, later = refresh(), refresh()
        for index in range(OTHER_JOBS):
            start_other_job(f"other-{index}")
        crowded = refresh()
    return {
        "first refresh": first,
        "later refresh": later,
        f"later refresh, {OTHER_JOBS} other jobs in the account": crowded,
        "seconds between refreshes (default interval 15)": watcher.pause(),
    }


def startup(repetitions: int) -> dict[str, float]:
    """Seconds to start the command (``--help``: parse, no AWS call), to import what a
    refresh uses, and an empty interpreter's start for scale."""
    python = sys.executable
    return {
        "python -c pass": _seconds([python, "-c", "pass"], repetitions),
        "python -m constructs_lib watch --help": _seconds(
            [python, "-m", "constructs_lib", "watch", "--help"], repetitions
        ),
        "import the watch command with boto3 and rich": _seconds(
            [python, "-c", "import constructs_lib.cli.watch, boto3, rich.live"], repetitions
        ),
    }


def rehearsal(repetitions: int) -> dict[str, float]:
    """Wall seconds of ``run_locally`` on the sample's script-mode job and shipped data
    (the toolkit's start, scikit-learn, 200 boosting rounds)."""
    from aws_cdk import App

    from constructs_lib.testing import run_locally
    from sample_app.app import DATA, build_app

    app = build_app(App(context={"sample:training": "script"}))
    job = app.node.find_child("TrainAndServe").node.find_child("Train")
    samples = []
    for _ in range(repetitions):
        started = time.perf_counter()
        run_locally(
            job, channels={"train": DATA / "train.csv", "validation": DATA / "validation.csv"}
        )
        samples.append(time.perf_counter() - started)
    return {"sample rehearsal (s)": statistics.median(samples)}


def unused_cost(repetitions: int) -> dict[str, Any]:
    """An app that uses neither feature: what importing the library loads of them, and
    its import time against importing the AWS CDK alone (the library's top level now
    loads names on first use)."""
    probe = (
        "import sys; from constructs_lib import TrainingJob; "
        f"print([m for m in {FEATURE_MODULES!r} if m in sys.modules])"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True
    )
    library = _seconds(
        [sys.executable, "-c", "from constructs_lib import TrainingJob"], repetitions
    )
    cdk = _seconds([sys.executable, "-c", "import aws_cdk"], repetitions)
    return {
        "feature modules an app imports": json.loads(loaded.stdout.strip().replace("'", '"')),
        "from constructs_lib import TrainingJob (s)": library,
        "import aws_cdk (s)": cdk,
    }


def measure(quick: bool = False) -> dict[str, Any]:
    repetitions = 3 if quick else 7
    return {
        "watch API calls, stack of 1 job": watch_calls(1),
        "watch API calls, stack of 50 jobs": watch_calls(50),
        "watch start-up (s, median)": startup(repetitions),
        "rehearsal": rehearsal(1 if quick else 3),
        "unused by an app": unused_cost(3 if quick else 5),
    }


if __name__ == "__main__":
    print(json.dumps(measure("--quick" in sys.argv), indent=2))
