"""One running job: the progress slot the process writes and the flag that cancels it.

``report`` is called from the process's own thread, often far more often than events should be
published: it only records the latest value. The executor publishes that value at a bounded
rate and once more before the job's final event, so the last report is never lost.
"""

import threading
from dataclasses import dataclass

from jobstream_contracts.process import JobCancelled


@dataclass(frozen=True)
class Progress:
    done: float
    total: float | None
    message: str | None


class RunningJob:
    def __init__(self, job_id: str, process_id: str, attempt: int, last_seq: int = 0) -> None:
        self.job_id = job_id
        self.process_id = process_id
        self.attempt = attempt
        # The stream sequence of the job's newest event, as far as this executor knows.
        self.last_seq = last_seq
        self._lock = threading.Lock()
        self._latest: Progress | None = None
        self._published: Progress | None = None
        self._cancelled = threading.Event()
        # Cancelled because this executor is stopping, not because the job was dismissed.
        self.released = False
        # A newer delivery of the same job runs elsewhere: this one must leave the message alone.
        self.superseded = False
        # Stopped because it ran past its process's maximum runtime.
        self.timed_out = False

    def report(self, done: float, total: float | None = None, message: str | None = None) -> None:
        if self._cancelled.is_set():
            raise JobCancelled(self.job_id)
        # Checked here, in the process's own call, so a bad report fails the process rather
        # than the executor's later publish.
        progress = Progress(
            float(done),
            None if total is None else float(total),
            None if message is None else str(message),
        )
        with self._lock:
            self._latest = progress

    def cancel(self) -> None:
        self._cancelled.set()

    def time_out(self) -> None:
        """Stop the job: it ran past its maximum runtime."""
        self.timed_out = True
        self._cancelled.set()

    def release(self) -> None:
        """Stop the job so that another executor can take it over."""
        self.released = True
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def unpublished(self) -> Progress | None:
        """The latest report if it has not been published yet, marking it published."""
        with self._lock:
            if self._latest is None or self._latest == self._published:
                return None
            self._published = self._latest
            return self._latest
