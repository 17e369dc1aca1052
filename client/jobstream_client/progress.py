"""What ``wait(progress=…)`` does with each new status: a callable, or one line on stderr.

The line is rewritten in place (carriage return) and ends with a newline at the job's final
status; it works in a terminal and in a notebook. The live progress bar is the CLI's.
"""

import sys
from collections.abc import Callable
from typing import TextIO

from jobstream_contracts.ogc import FINAL_STATUSES, StatusInfo

Progress = bool | Callable[[StatusInfo], object] | None


def line_of(status: StatusInfo) -> str:
    """``count 5f0c1a2b running 24% counted 12 of 50 (attempt 1)``"""
    parts = [status.processID or "job", status.jobID[:8], status.status.value]
    if status.percent is not None and status.status not in FINAL_STATUSES:
        parts.append(f"{status.percent:.0f}%")
    if status.message:
        parts.append(status.message)
    if status.attempt and status.attempt > 1:
        parts.append(f"(attempt {status.attempt})")
    return " ".join(parts)


class StderrLine:
    """Prints each status over the previous one; a status that reads the same (a commit, an
    estimate) is not printed again."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.shown = ""

    def __call__(self, status: StatusInfo) -> None:
        text = line_of(status)
        if text == self.shown:
            return
        end = "\n" if status.status in FINAL_STATUSES else ""
        self.stream.write(f"\r{text.ljust(len(self.shown))}{end}")
        self.stream.flush()
        self.shown = "" if end else text


def reporter(progress: Progress) -> Callable[[StatusInfo], object]:
    if progress is True:
        return StderrLine()
    if callable(progress):
        return progress
    return lambda status: None
