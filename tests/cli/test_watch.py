"""``constructs-lib watch`` against moto (SageMaker, CloudWatch Logs, CloudFormation)
in-process, with the jobs of a synthesized two-stack app started by the library's own
handler; AWS Batch, which moto lacks, by a fake checked against botocore's model.

What a user sees: each job's path, name, status history, time against its limit,
metrics, a tuning job's counts and best, a queued job's Batch status, a failed job's
reason and log tail; the exit codes of ``--once``; the live display; and the API calls
a refresh costs, which do not grow with the account's jobs."""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sagemaker import sagemaker_backends
from rich.console import Console

from constructs_lib import cli
from constructs_lib.cli import watch
from constructs_lib.cli._aws import Clients
from constructs_lib.cli._render import rich_view
from tests import watch_app
from tests.moto_stack import (
    ACCOUNT,
    REGION,
    MotoBatch,
    MotoStack,
    run_training,
    start_other_job,
    tuning_job,
    write_log,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return watch_app.build(tmp_path_factory.mktemp("watch") / "cdk.out")


class World:
    """moto's account, the fake Batch, and the command's clients on them."""

    def __init__(self, assembly: Path) -> None:
        self.assembly = assembly
        #: The instant the watch reads (None: the machine's clock), see :meth:`freeze`.
        self.frozen: dt.datetime | None = None
        self.batch = MotoBatch()
        self.stack = MotoStack.of(assembly, watch_app.STACK, batch=self.batch).create()
        self.clients: dict[str | None, Clients] = {}
        batch = self.batch

        class _Clients(Clients):
            @functools.cached_property
            def batch(self) -> Any:  # type: ignore[override]
                return batch

        self._make = _Clients

    def clients_for(self, region: str | None) -> Clients:
        if region not in self.clients:
            self.clients[region] = self._make(boto3.Session(), region or REGION)
        return self.clients[region]

    def freeze(self) -> Callable[[], dt.datetime]:
        """Stop the watch's clock now: a job set up with the returned ``now`` (moto's
        naive UTC) shows the durations it was given, however long the run takes."""
        self.frozen = dt.datetime.now(dt.UTC).replace(microsecond=0)
        naive = self.frozen.replace(tzinfo=None)
        return lambda: naive

    def watch(
        self,
        *stacks: str,
        terminal: bool = False,
        sleep: Callable[[float], None] = lambda _: None,
        **options: Any,
    ) -> tuple[int, str]:
        """``constructs-lib watch STACK --once`` (or as ``options`` say): exit code, output."""
        options.setdefault("once", True)
        if "assembly" not in options:
            options["stacks"] = stacks or (watch_app.STACK,)
        out = io.StringIO()
        frozen = self.frozen
        clock = (lambda: frozen) if frozen is not None else (lambda: dt.datetime.now(dt.UTC))
        code = watch.run(
            watch.Options(**options),
            self.clients_for,
            out,
            terminal=terminal,
            sleep=sleep,
            clock=clock,
        )
        return code, out.getvalue()


@pytest.fixture
def world(assembly: Path) -> Iterator[World]:
    with mock_aws():
        yield World(assembly)


def _deploy_in_progress(world: World) -> dict[str, str]:
    """A deploy some minutes in: Train training, Tune tuning (2 of 4 done), Queued
    waiting in its queue, Long not started yet."""
    stack = world.stack
    train = stack.start("Train")
    run_training(
        train,
        secondary=["Starting", "Downloading", "Training"],
        elapsed=400,
        metrics={"validation:rmse": 0.41},
        now=world.freeze(),
    )
    write_log(f"{train}/algo-1-1700000000", ["[0]\ttrain-rmse:0.90", "[1]\ttrain-rmse:0.62"])
    tune = stack.start("Tune")
    job = tuning_job(tune)
    job.hyper_parameter_tuning_job_status = "InProgress"
    job.hyper_parameter_tuning_end_time = None
    job.creation_time -= dt.timedelta(seconds=250)
    job.training_job_status_counters = {"Completed": 2, "InProgress": 2}
    job.best_training_job = {
        **job.best_training_job,
        "TrainingJobName": f"{tune}-002-abcdef12",
        "FinalHyperParameterTuningJobObjectiveMetric": {
            "MetricName": "validation:rmse",
            "Value": 0.37,
        },
    }
    queued = stack.start("Queued")
    return {"Train": train, "Tune": tune, "Queued": queued}


def test_a_deploy_in_progress_shows_each_job_and_exits_3(world: World) -> None:
    jobs = _deploy_in_progress(world)

    code, out = world.watch()

    assert code == watch.EXIT_RUNNING
    lines = out.splitlines()
    assert lines[0].startswith(f"{watch_app.STACK}  CREATE_IN_PROGRESS")
    [train] = [line for line in lines if line.startswith("  Train  ")]
    assert jobs["Train"] in train
    assert "InProgress / Training" in train
    assert "6m40s of 30m00s" in train
    assert "[####................]" in train
    assert "validation:rmse=0.41" in train
    assert "      Starting 2m13s > Downloading 2m13s > Training 2m13s" in lines
    assert "      | [1]\ttrain-rmse:0.62" in lines
    [tune] = [line for line in lines if line.startswith("  Tune  ")]
    assert jobs["Tune"] in tune and "InProgress" in tune
    assert "training jobs: 2 Completed, 2 InProgress of 4" in tune
    assert f"best: validation:rmse=0.37 ({jobs['Tune']}-002-abcdef12)" in tune
    [queued] = [line for line in lines if line.startswith("  Queued  ")]
    assert "RUNNABLE" in queued and world.batch.jobs[jobs["Queued"]].name in queued
    assert "  Long  not started" in lines


def test_a_queued_job_shows_batchs_status_and_its_training_job(world: World) -> None:
    arn = world.stack.start("Queued")
    name = world.batch.start(arn)
    run_training(name, secondary=["Starting", "Training"], elapsed=120, now=world.freeze())

    code, out = world.watch()

    [queued] = [line for line in out.splitlines() if line.startswith("  Queued  ")]
    assert "RUNNING / Training" in queued
    assert "2m00s of 30m00s" in queued
    assert code == watch.EXIT_RUNNING


def test_a_failed_job_shows_sagemakers_reason_and_its_log_tail(world: World) -> None:
    _deploy_in_progress(world)
    long = world.stack.start("Long")
    reason = "AlgorithmError: ExecuteUserScriptError: exit code 1"
    run_training(
        long,
        secondary=["Starting", "Downloading", "Training", "Failed"],
        elapsed=95,
        status="Failed",
        reason=reason,
    )
    traceback = [f"noise {i}" for i in range(20)] + [
        "Traceback (most recent call last):",
        '  File "train.py", line 12, in <module>',
        "ValueError: could not convert string to float: 'label'",
    ]
    write_log(f"{long}/algo-1-1700000000", traceback)

    code, out = world.watch(logs=3)

    assert code == watch.EXIT_FAILED
    lines = out.splitlines()
    assert f"      reason: {reason}" in lines
    start = lines.index(f"      reason: {reason}")
    assert lines[start + 1 : start + 4] == [f"      | {line}" for line in traceback[-3:]]
    assert "noise 19" not in out


def test_a_failed_processing_job_shows_its_exit_message_and_log_tail(world: World) -> None:
    other = MotoStack.of(world.assembly, watch_app.OTHER_STACK, batch=world.batch).create()
    name = other.start("Prepare")
    job = sagemaker_backends[ACCOUNT][REGION].processing_jobs[name]
    job.processing_job_status = "Failed"
    job.failure_reason = "AlgorithmError: See job logs for more information"
    job.exit_message = "KeyError: 'label'"
    write_log(
        f"{name}/algo-1-1700000000",
        ["reading s3 data", "Traceback (most recent call last):", "KeyError: 'label'"],
        "/aws/sagemaker/ProcessingJobs",
    )

    code, out = world.watch(watch_app.OTHER_STACK, logs=2)

    assert code == watch.EXIT_FAILED
    assert f"{name}" in out and "Failed" in out
    assert "reason: AlgorithmError: See job logs for more information: KeyError: 'label'" in out
    assert "| Traceback (most recent call last):" in out and "| KeyError: 'label'" in out
    assert "reading s3 data" not in out


def test_a_failed_transform_shows_sagemakers_reason(world: World) -> None:
    other = MotoStack.of(world.assembly, watch_app.OTHER_STACK, batch=world.batch).create()
    name = other.start("Score")
    job = sagemaker_backends[ACCOUNT][REGION].transform_jobs[name]
    job.transform_job_status = "Failed"
    job.failure_reason = "ClientError: See job logs for more information"

    code, out = world.watch(watch_app.OTHER_STACK)

    assert code == watch.EXIT_FAILED
    assert name in out
    assert "reason: ClientError: See job logs for more information" in out


def test_every_job_completed_exits_0_and_a_similar_job_is_not_taken(world: World) -> None:
    stack = world.stack
    for path in ("Train", "Long", "Tune"):
        stack.start(path)
    arn = stack.start("Queued")
    name = world.batch.start(arn)
    world.batch.jobs[arn].status = "SUCCEEDED"
    run_training(name, secondary=["Training", "Completed"], elapsed=60, status="Completed")
    # Another job of the account with the stack's prefix, started later, failing: not
    # one the stack's resources started (its tags say so).
    decoy = f"{world.stack.started[stack.logical_id('Train')][:-12]}ffffffffffff"
    start_other_job(decoy)
    run_training(decoy, secondary=["Failed"], elapsed=1, status="Failed", reason="not ours")
    world.stack.set_status("CREATE_COMPLETE")

    code, out = world.watch()

    assert code == watch.EXIT_COMPLETED, out
    assert decoy not in out and "not ours" not in out


def test_a_completed_job_shows_its_last_log_lines_read_once(world: World) -> None:
    from constructs_lib.cli._assembly import from_assembly  # noqa: PLC0415
    from constructs_lib.cli._logs import LogReader  # noqa: PLC0415
    from constructs_lib.cli._state import Describer  # noqa: PLC0415

    train = world.stack.start("Train")
    run_training(train, secondary=["Training", "Completed"], elapsed=60, status="Completed")
    lines = [f"[{i}]\ttrain-rmse:{1 / (i + 1):.3f}" for i in range(10)] + ["done"]
    write_log(f"{train}/algo-1-1700000000", lines)

    _, out = world.watch(logs=2)

    assert "    | [9]\ttrain-rmse:0.100" in out and "    | done" in out
    assert "[8]\ttrain-rmse" not in out
    # Its log does not change: a watch reads it once, whatever its refreshes.
    clients = world.clients_for(REGION)
    reads: list[str] = []
    original = clients.logs.get_log_events

    def counted(**kwargs: Any) -> Any:
        reads.append(kwargs["logStreamName"])
        return original(**kwargs)

    clients.logs.get_log_events = counted  # type: ignore[method-assign]
    [source] = from_assembly(world.assembly, [watch_app.STACK])
    [resource] = [r for r in source.jobs() if r.path == "Train"]
    describer = Describer(clients, LogReader(clients), log_lines=2)
    now = dt.datetime.now(dt.UTC)
    first, second = describer.view(resource, train, now), describer.view(resource, train, now)
    assert [line.message for line in first.logs] == lines[-2:]
    assert second is first and reads == [f"{train}/algo-1-1700000000"]


def test_a_job_of_an_earlier_deploy_is_found_by_its_physical_id(world: World) -> None:
    """An update that left the job alone: CloudFormation's physical id names it."""
    stack = world.stack
    for path in ("Train", "Long", "Tune", "Queued"):
        stack.start(path)
        stack.answer(stack.logical_id(path))
    world.batch.jobs[stack.started[stack.logical_id("Queued")]].status = "SUCCEEDED"
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=1)
    stack.set_status("UPDATE_COMPLETE", began=later)

    code, out = world.watch()

    for path in ("Train", "Long", "Tune"):
        assert stack.started[stack.logical_id(path)] in out
    assert code == watch.EXIT_COMPLETED, out


def test_before_the_stack_exists_every_job_is_not_started(world: World) -> None:
    """--assembly: the jobs come from the synthesized templates, no stack needed; with
    no stack named, every stack of the assembly that has jobs."""
    code, out = world.watch(assembly=world.assembly)

    assert code == watch.EXIT_RUNNING
    assert f"{watch_app.OTHER_STACK}  not deployed yet" in out
    # The first stack exists (the fixture created it); its jobs have not started; nor
    # have the other's (its training, processing and transform jobs).
    assert out.count("not started") == 7
    assert "  Prepare  not started" in out and "  Score  not started" in out


def test_a_stack_that_does_not_exist_is_an_error(world: World) -> None:
    with pytest.raises(watch.WatchError, match="stack Nope does not exist in us-east-1"):
        world.watch("Nope")


def test_the_calls_of_a_refresh_do_not_grow_with_the_accounts_jobs(world: World) -> None:
    _deploy_in_progress(world)
    world.watch()  # the first refresh reads each job's tags once
    before = world.clients[None].calls.copy()
    world.watch(logs=0)
    first = world.clients[None].calls - before
    for index in range(150):
        start_other_job(f"someone-else-{index}")
    before = world.clients[None].calls.copy()
    world.watch(logs=0)
    second = world.clients[None].calls - before

    assert second == first
    # Per refresh: the stack, its resources, one list per kind, one describe per job.
    assert sum(first.values()) <= 10, first


def test_a_refresh_of_many_calls_is_followed_by_a_longer_pause(world: World) -> None:
    """A stack of hundreds of running jobs (a describe each) is refreshed less often."""
    watcher = watch.Watcher(
        watch.Options(stacks=(watch_app.STACK,), interval=15.0), world.clients_for
    )
    watcher.refresh()
    assert 0 < watcher.calls <= 10
    assert watcher.pause() == 15.0
    watcher.calls = 300
    assert watcher.pause() == 300 / watch.MAX_CALLS_PER_SECOND


def test_the_live_display_renders_the_jobs_once(world: World) -> None:
    _deploy_in_progress(world)
    watcher = watch.Watcher(watch.Options(stacks=(watch_app.STACK,)), world.clients_for)
    console = Console(record=True, width=140, file=io.StringIO())
    now = dt.datetime(2026, 12, 6, 12, 0, 0, tzinfo=dt.UTC)
    console.print(rich_view(watcher.refresh(), now))
    text = console.export_text()

    assert "MlTraining  CREATE_IN_PROGRESS  (12:00:00 UTC)" in text
    for header in ("Job", "Status", "Time", "Metrics"):
        assert header in text
    assert "InProgress / Training" in text
    assert "validation:rmse=0.41" in text
    assert "Train: log" in text  # the running job's log panel


@pytest.mark.parametrize("terminal", [True, False], ids=["live", "plain"])
def test_watching_ends_when_the_jobs_end(world: World, terminal: bool) -> None:
    """Without --once: refresh until nothing runs; the exit code of the end. Live in a
    terminal, plain lines of each change elsewhere."""
    stack = world.stack
    name = stack.start("Train")
    for path in ("Long", "Tune", "Queued"):
        stack.start(path)
    arn = stack.started[stack.logical_id("Queued")]
    attempt = world.batch.start(arn)
    world.batch.jobs[arn].status = "SUCCEEDED"
    run_training(attempt, secondary=["Completed"], elapsed=5, status="Completed")
    run_training(name, secondary=["Starting"], elapsed=10)
    steps: list[Callable[[], None]] = [
        lambda: run_training(name, secondary=["Starting", "Training"], elapsed=40),
        lambda: run_training(
            name, secondary=["Starting", "Training", "Completed"], elapsed=80, status="Completed"
        ),
    ]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        steps.pop(0)()

    code, out = world.watch(terminal=terminal, once=False, interval=7.0, sleep=sleep)

    assert code == watch.EXIT_COMPLETED
    assert slept == [7.0, 7.0]
    if not terminal:
        changes = [line for line in out.splitlines() if line[:2].isdigit()]
        assert [line.split(" ")[1:3] for line in changes] == [["Train", name]] * 2
        assert "InProgress / Training" in changes[0]
        assert "Completed / Completed" in changes[1]
    else:
        # The live display redrawn at each refresh: its last frame shows the end.
        frames = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out).split(f"{watch_app.STACK}  ")
        assert len(frames) >= 1 + 3  # the first, then one a refresh
        last = frames[-1]
        assert "1m20s of" in last
        train = last[last.index("│ Train ") :]
        assert train.split("\n")[0].split("│")[2].strip() == "Completed /"


def test_follow_streams_each_jobs_new_log_lines(world: World) -> None:
    name = world.stack.start("Train")
    run_training(name, secondary=["Training"], elapsed=30)
    write_log(f"{name}/algo-1-1700000000", ["epoch 1", "epoch 2"])

    code, out = world.watch(follow=True, logs=0)

    assert "[Train] epoch 1" in out.splitlines() and "[Train] epoch 2" in out.splitlines()
    assert code == watch.EXIT_RUNNING


def test_without_the_cli_extra_the_command_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_missing_extra", lambda: ["rich"])

    assert cli.main(["watch", "MlTraining", "--once"]) == 2
    assert "pip install 'boto3>=1.35,<2' 'rich>=13.7,<16'" in capsys.readouterr().err


def test_python_m_constructs_lib_is_the_command_and_imports_no_cdk() -> None:
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['constructs-lib', 'watch', '--help']\n"
        "try:\n"
        "    runpy.run_module('constructs_lib', run_name='__main__')\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code\n"
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    for option in (
        "--assembly",
        "--stack",
        "--once",
        "--logs",
        "--follow",
        "--region",
        "--profile",
        "--interval",
        "--plain",
        "exit codes:",
    ):
        assert option in result.stdout
