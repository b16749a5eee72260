"""``constructs-lib watch``: what the training and tuning jobs of a stack are doing,
while ``cdk deploy`` runs and afterwards. Needs the ``cli`` extra (boto3, rich)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ._assembly import StackSource, WatchError, from_assembly
from ._aws import Clients
from ._find import Finder
from ._logs import LogReader
from ._render import plain, rich_view, transition_line
from ._state import Describer, JobView, Outcome, StackView

if TYPE_CHECKING:
    from rich.console import Console

#: The most API calls a second a watch makes on average: a stack of many running jobs
#: is refreshed less often (each running job is described once a refresh), so that the
#: command never competes with the deploy's own calls for the account's rate limits.
MAX_CALLS_PER_SECOND = 4.0

#: Exit codes of ``--once`` (and of a watch that ends).
EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_ERROR = 2
EXIT_RUNNING = 3


@dataclass(frozen=True)
class Options:
    """What the command line asked for."""

    stacks: Sequence[str] = ()
    assembly: Path | None = None
    once: bool = False
    logs: int = 5
    follow: bool = False
    interval: float = 15.0
    region: str | None = None
    profile: str | None = None
    plain: bool = False


def exit_code(stacks: Sequence[StackView]) -> int:
    """0 when every job completed, 1 when any failed or stopped, 3 while any is
    still running or not started."""
    outcomes = {view.outcome for stack in stacks for view in stack.jobs}
    if Outcome.FAILED in outcomes:
        return EXIT_FAILED
    if outcomes <= {Outcome.COMPLETED}:
        return EXIT_COMPLETED
    return EXIT_RUNNING


def finished(stacks: Sequence[StackView]) -> bool:
    """Whether watching longer shows nothing new: no job runs, and every job ended or
    CloudFormation is done with its stack (a job that never started stays so)."""
    for stack in stacks:
        for view in stack.jobs:
            if view.outcome is Outcome.RUNNING:
                return False
            if view.outcome is Outcome.PENDING and stack.state.in_progress:
                return False
    return True


def sources(options: Options) -> list[StackSource]:
    """The stacks to watch: from the assembly, or by name from CloudFormation."""
    if options.assembly is not None:
        return from_assembly(options.assembly, options.stacks)
    if not options.stacks:
        raise WatchError("name the stack to watch (STACK), or give --assembly cdk.out")
    return [StackSource(name=name, display_name=name) for name in options.stacks]


class Watcher:
    """Refreshes the stacks' jobs: finds them, describes them, reads their logs."""

    def __init__(
        self,
        options: Options,
        clients_for: Callable[[str | None], Clients],
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.options = options
        self._clock = clock
        self._parts: list[tuple[Finder, Describer, LogReader]] = []
        self._clients: list[Clients] = []
        for source in sources(options):
            clients = clients_for(options.region or source.region)
            logs = LogReader(clients)
            describer = Describer(clients, logs, log_lines=options.logs)
            self._parts.append((Finder(clients, source), describer, logs))
            if all(clients is not known for known in self._clients):
                self._clients.append(clients)
        #: API calls of the last refresh.
        self.calls = 0

    def _calls(self) -> int:
        return sum(sum(clients.calls.values()) for clients in self._clients)

    def refresh(self) -> list[StackView]:
        before = self._calls()
        now = self._clock()
        stacks = [describer.stack(finder.find(), now) for finder, describer, _ in self._parts]
        self.calls = self._calls() - before
        return stacks

    def pause(self) -> float:
        """Seconds until the next refresh: the interval, longer for a refresh of many
        calls (see :data:`MAX_CALLS_PER_SECOND`)."""
        return max(self.options.interval, self.calls / MAX_CALLS_PER_SECOND)

    def new_log_lines(self, stacks: Sequence[StackView]) -> list[str]:
        """``--follow``: the lines each running (or just ended) job wrote since the last
        refresh, each prefixed with its construct path."""
        lines: list[str] = []
        for (_, _, logs), stack in zip(self._parts, stacks, strict=True):
            for view in stack.jobs:
                if view.log_prefix and view.outcome is not Outcome.PENDING:
                    for line in logs.follow(view.log_prefix, view.resource.kind.log_group):
                        lines.append(f"[{view.resource.path}] {line.message}")
        return lines


def run(
    options: Options,
    clients_for: Callable[[str | None], Clients],
    out: IO[str],
    *,
    terminal: bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> int:
    """Watch as ``options`` say, writing to ``out``; returns the exit code.

    :param terminal: whether ``out`` is a terminal (a live display); default: ask it.
    """
    from rich.console import Console  # noqa: PLC0415 - the cli extra's

    console = Console(file=out, highlight=False, force_terminal=terminal)
    live = not options.plain and console.is_terminal
    watcher = Watcher(options, clients_for, clock)
    stacks = watcher.refresh()
    if options.once:
        _show(console, stacks, clock(), live=live)
        if options.follow:
            for line in watcher.new_log_lines(stacks):
                _write(console, line)
        return exit_code(stacks)
    if live:
        return _live(console, watcher, stacks, sleep, clock)
    return _lines(console, watcher, stacks, sleep, clock)


def _show(console: Console, stacks: list[StackView], now: dt.datetime, *, live: bool) -> None:
    if live:
        console.print(rich_view(stacks, now))
    else:
        _write(console, plain(stacks, now))


def _write(console: Console, text: str) -> None:
    """Plain text as it is (no wrapping, tabs kept), for logs and pipes."""
    console.file.write(text if text.endswith("\n") else f"{text}\n")
    console.file.flush()


def _live(
    console: Console,
    watcher: Watcher,
    stacks: list[StackView],
    sleep: Callable[[float], None],
    clock: Callable[[], dt.datetime],
) -> int:
    from rich.live import Live  # noqa: PLC0415

    with Live(rich_view(stacks, clock()), console=console, auto_refresh=False) as display:
        while True:
            if watcher.options.follow:
                # Printed above the display, which stays at the bottom.
                for line in watcher.new_log_lines(stacks):
                    display.console.print(line, markup=False, highlight=False)
            if finished(stacks):
                return exit_code(stacks)
            sleep(watcher.pause())
            stacks = watcher.refresh()
            display.update(rich_view(stacks, clock()), refresh=True)


def _lines(
    console: Console,
    watcher: Watcher,
    stacks: list[StackView],
    sleep: Callable[[float], None],
    clock: Callable[[], dt.datetime],
) -> int:
    """Without a terminal: the snapshot, then a line per change, then the end's."""
    _show(console, stacks, clock(), live=False)
    seen = {_key(stack, view): _change(view) for stack in stacks for view in stack.jobs}
    while True:
        if watcher.options.follow:
            for line in watcher.new_log_lines(stacks):
                _write(console, line)
        if finished(stacks):
            _show(console, stacks, clock(), live=False)
            return exit_code(stacks)
        sleep(watcher.pause())
        stacks = watcher.refresh()
        for stack in stacks:
            for view in stack.jobs:
                change = _change(view)
                if seen.get(_key(stack, view)) != change:
                    seen[_key(stack, view)] = change
                    _write(console, transition_line(view, clock()))


def _key(stack: StackView, view: JobView) -> tuple[str, str]:
    return (stack.state.source.name, view.resource.logical_id)


def _change(view: JobView) -> tuple[Any, ...]:
    return (view.job, view.status, view.secondary)
