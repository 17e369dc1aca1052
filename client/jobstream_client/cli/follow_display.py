"""The live progress bar the CLI draws while following a job.

A :class:`FollowBar` is the ``progress`` callable of ``Job.wait``: each new status document
moves the bar, so drawing it costs no request of its own.

Decisions:
- rich.progress draws it, on stderr, so stdout stays for answers. Columns: process and job,
  status, bar, percent, done/total, attempt, elapsed, ETA, message.
- The bar is done/total when the job reports both, else its percent out of 100, else
  indeterminate (a pulse) until a job with no total ends.
- Elapsed and ETA are the job's, not this command's: they count from the job's ``started``,
  so watching a job that has run for an hour says so, and the ETA is the time left at the
  rate so far (elapsed × left / done). The clock stops at ``finished``.
- The job's own text (message, ids) is never read as rich markup.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn
from rich.text import Text

from jobstream_contracts.ogc import FINAL_STATUSES, StatusInfo


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    return str(timedelta(seconds=int(max(0.0, seconds))))


def _elapsed(task: Task) -> float | None:
    started: datetime | None = task.fields.get("started")
    if started is None:
        return None
    end: datetime = task.fields.get("finished") or datetime.now(UTC)
    return (end - started).total_seconds()


class ElapsedColumn(ProgressColumn):
    """Time since the job started (to its end once it ended)."""

    def render(self, task: Task) -> Text:
        return Text(f"elapsed {_clock(_elapsed(task))}", style="progress.elapsed")


class EtaColumn(ProgressColumn):
    """Time left at the job's rate so far; unknown before any progress."""

    def render(self, task: Task) -> Text:
        elapsed, total = _elapsed(task), task.total
        if task.fields.get("finished") is not None:
            # Nothing is left of an ended job; of a failed one, no estimate means anything.
            left: float | None = 0.0 if task.fields["status"] == "successful" else None
        elif elapsed is None or not total or not task.completed:
            left = None
        else:
            left = elapsed * (total - task.completed) / task.completed
        return Text(f"ETA {_clock(left)}", style="progress.remaining")


def _counts(status: StatusInfo) -> str:
    if status.done is None:
        return ""
    total = f"/{status.total:g}" if status.total is not None else ""
    return f"{status.done:g}{total}"


def _extent(status: StatusInfo) -> tuple[float | None, float]:
    """The bar's (total, completed): done/total, else percent of 100, else indeterminate."""
    if status.done is not None and status.total:
        return status.total, status.done
    percent = status.percent if status.percent is not None else status.progress
    if percent is not None:
        return 100.0, float(percent)
    return None, 0.0


class FollowBar:
    """A context manager drawing one job's bar; call it with each new status."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            TextColumn("{task.fields[status]}", style="bold", markup=False),
            BarColumn(bar_width=30),
            TaskProgressColumn(),
            TextColumn("{task.fields[counts]}", markup=False),
            TextColumn("{task.fields[attempt]}", markup=False),
            ElapsedColumn(),
            EtaColumn(),
            TextColumn("{task.fields[message]}", markup=False),
            console=console or Console(stderr=True),
        )
        self.task = self.progress.add_task("", total=None, **_fields(None))

    def __enter__(self) -> "FollowBar":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, status: StatusInfo) -> None:
        total, completed = _extent(status)
        if status.status == "successful":
            total, completed = total or 100.0, total or 100.0
        elif status.status in FINAL_STATUSES and total is None:
            total = 100.0  # ended without a total: an empty bar, not a pulse for ever
        description = f"{status.processID or 'job'} {status.jobID[:8]}"
        if total is not None:
            self.progress.update(self.task, total=total)
        self.progress.update(
            self.task, completed=completed, description=description, **_fields(status)
        )
        if status.status in FINAL_STATUSES:
            self.progress.refresh()


def _fields(status: StatusInfo | None) -> dict[str, Any]:
    if status is None:
        return {
            "status": "",
            "counts": "",
            "attempt": "",
            "message": "",
            "started": None,
            "finished": None,
        }
    return {
        "status": status.status.value,
        "counts": _counts(status),
        "attempt": f"attempt {status.attempt}" if status.attempt else "",
        "message": status.message or "",
        "started": status.started,
        "finished": status.finished if status.status in FINAL_STATUSES else None,
    }
