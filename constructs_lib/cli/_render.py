"""How the watch command shows a stack's jobs: a live table in a terminal (``rich``),
plain lines elsewhere (CI logs, pipes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._state import JobView, Outcome, StackView

if TYPE_CHECKING:
    from rich.console import RenderableType

_STYLES = {
    Outcome.PENDING: "dim",
    Outcome.RUNNING: "yellow",
    Outcome.COMPLETED: "green",
    Outcome.FAILED: "bold red",
}
_BAR = 20


def duration(seconds: float | None) -> str:
    """``1h02m``, ``12m03s``, ``45s``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def _status(view: JobView) -> str:
    return f"{view.status} / {view.secondary}" if view.secondary else view.status


def _history(view: JobView) -> str:
    """``Starting 1m02s > Downloading 32s > Training 10m``."""
    return " > ".join(f"{status} {duration(seconds)}" for status, seconds in view.transitions)


def _time(view: JobView) -> str:
    text = duration(view.elapsed)
    if view.max_runtime:
        text += f" of {duration(view.max_runtime)}"
    if view.billable is not None:
        text += f", billed {duration(view.billable)}"
    return text


def _bar(view: JobView) -> str:
    if view.elapsed is None or not view.max_runtime:
        return ""
    filled = min(_BAR, round(_BAR * view.elapsed / view.max_runtime))
    return "[" + "#" * filled + "." * (_BAR - filled) + "]"


def _metrics(view: JobView, separator: str = "  ") -> str:
    shown = [
        f"{name}={'-' if value is None else f'{value:g}'}" for name, value in view.metrics.items()
    ]
    if view.counts is not None:
        done = ", ".join(f"{count} {status}" for status, count in sorted(view.counts.items()))
        of = f" of {view.planned}" if view.planned else ""
        shown.append(f"training jobs: {done or 'none yet'}{of}")
    if view.best is not None:
        job, metric, value = view.best
        shown.append(f"best: {metric}={value:g} ({job})")
    return separator.join(shown)


def _log_lines(view: JobView) -> list[str]:
    several = len({line.host for line in view.logs}) > 1
    return [f"[{line.host}] {line.message}" if several else line.message for line in view.logs]


def _heading(stack: StackView) -> str:
    status = stack.state.status or "not deployed yet"
    return f"{stack.state.source.name}  {status}"


def job_lines(view: JobView) -> list[str]:
    """A job as plain lines: what, where it is, and (failed) why."""
    lines = [
        "  ".join(
            part
            for part in (
                view.resource.path,
                view.job or "",
                _status(view),
                _time(view) if view.job else "",
                _bar(view),
                _metrics(view),
            )
            if part
        )
    ]
    if view.transitions:
        lines.append(f"    {_history(view)}")
    if view.outcome is Outcome.FAILED and view.reason:
        lines.append(f"    reason: {view.reason}")
    lines.extend(f"    | {line}" for line in _log_lines(view))
    return lines


def plain(stacks: Sequence[StackView], now: dt.datetime) -> str:
    """The snapshot as plain text."""
    out: list[str] = []
    for stack in stacks:
        out.append(f"{_heading(stack)}  ({now:%H:%M:%S} UTC)")
        for view in stack.jobs:
            out.extend(f"  {line}" for line in job_lines(view))
    return "\n".join(out) + "\n"


def transition_line(view: JobView, now: dt.datetime) -> str:
    """One line of what changed, for the plain live mode."""
    parts = [f"{now:%H:%M:%S}", view.resource.path, view.job or "", _status(view)]
    if view.transitions:
        parts.append(f"({_history(view)})")
    if view.outcome is Outcome.FAILED and view.reason:
        parts.append(f"reason: {view.reason}")
    return " ".join(part for part in parts if part)


def rich_view(stacks: Sequence[StackView], now: dt.datetime) -> RenderableType:
    """The snapshot as a rich renderable: a table per stack, then each running or
    failed job's log lines."""
    from rich.console import Group  # noqa: PLC0415 - the cli extra's
    from rich.panel import Panel  # noqa: PLC0415
    from rich.progress_bar import ProgressBar  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    parts: list[RenderableType] = []
    for stack in stacks:
        table = Table(
            title=f"{_heading(stack)}  ({now:%H:%M:%S} UTC)",
            title_justify="left",
            expand=True,
        )
        # Names and values wrap rather than lose their ends.
        table.add_column("Job", ratio=3, overflow="fold")
        table.add_column("Status", ratio=3, overflow="fold")
        table.add_column("Time", ratio=2, overflow="fold")
        table.add_column("Metrics", ratio=3, overflow="fold")
        for view in stack.jobs:
            job = Text(view.resource.path, style="bold")
            if view.job:
                job.append(f"\n{view.job}", style="dim")
            status = Text(_status(view), style=_STYLES[view.outcome])
            if view.transitions:
                status.append(f"\n{_history(view)}", style="dim")
            time: list[RenderableType] = [Text(_time(view) if view.job else "-")]
            if view.elapsed is not None and view.max_runtime:
                time.append(
                    ProgressBar(total=float(view.max_runtime), completed=view.elapsed, width=_BAR)
                )
            table.add_row(job, status, Group(*time), Text(_metrics(view, "\n")))
        parts.append(table)
        for view in stack.jobs:
            lines = _log_lines(view)
            failed = view.outcome is Outcome.FAILED
            if not lines and not (failed and view.reason):
                continue
            body = Text()
            if failed and view.reason:
                body.append(f"{view.reason}\n", style="bold red")
            body.append("\n".join(lines))
            title = f"{view.resource.path}: {'failed' if failed else 'log'}"
            parts.append(Panel(body, title=title, border_style="red" if failed else "dim"))
    return Group(*parts)
