"""Following a job to its end with one request at a time: the state both clients share.

Decisions:
- The job's event stream (``GET /jobs/{id}/events``, ``Accept: text/event-stream``) is read
  from its first event, and each event is folded with the contracts' fold into the same
  status document the gateway renders: progress costs no request of its own, and the stream
  ends after the job's final event.
- A dropped connection, a gateway restart or a 5xx is followed by a wait (0.25 s doubling to
  5 s, or the server's Retry-After) and the stream again from ``Last-Event-ID``: nothing is
  missed or folded twice.
- A gateway that refuses the stream with 503 (its ``MAX_EVENT_STREAMS`` are taken) or 429 (the
  caller's ``MAX_EVENT_STREAMS_PER_CALLER`` are) is followed with long-poll GETs
  (``If-None-Match`` + ``Prefer: wait``) for the rest of the wait, so the progress never steps
  back to an older document; a long-poll refused so is retried after ``Retry-After``.
- Other errors (401, 403, 404) end the wait: retrying would not change them.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from httpx_sse import ServerSentEvent

from jobstream_contracts.fold import JobState, apply
from jobstream_contracts.ogc import FINAL_STATUSES, OGCException, StatusInfo
from jobstream_contracts.status import status_info

from .calls import checked, recorded, segment
from .errors import JobstreamError, TooManyRequests, Unavailable, Unreachable, job_ended

EVENT_STREAM = "text/event-stream"
LONG_POLL_WAIT = 30  # seconds one long-poll GET may wait for a change
STREAM_READ_TIMEOUT = 60.0  # above the gateway's keep-alive (15 s by default)
RETRYABLE = (Unreachable, Unavailable, TooManyRequests)

Report = Callable[[StatusInfo], object]


@dataclass
class Deadline:
    timeout: float | None
    start: float = field(default_factory=time.monotonic)

    def left(self) -> float | None:
        if self.timeout is None:
            return None
        return self.timeout - (time.monotonic() - self.start)

    def check(self, job_id: str) -> None:
        left = self.left()
        if left is not None and left <= 0:
            raise TimeoutError(f"job {job_id} did not finish within {self.timeout:g} s")

    def clip(self, seconds: float) -> float:
        left = self.left()
        return seconds if left is None else max(0.0, min(seconds, left))


@dataclass
class Follower:
    """What one ``wait()`` knows: the folded job, where to resume, how long to back off."""

    job_id: str
    base_url: str
    report: Report
    state: JobState | None = None
    last_event_id: int | None = None
    final: StatusInfo | None = None
    long_poll: bool = False
    etag: str | None = None
    failures: int = 0

    # -- the requests --------------------------------------------------------------------
    def path(self) -> str:
        job = f"/jobs/{segment(self.job_id)}"
        return f"{job}/events" if not self.long_poll else job

    def headers(self) -> dict[str, str]:
        if self.long_poll:
            return self.poll_headers()
        sent = {"Accept": EVENT_STREAM}
        if self.last_event_id is not None:
            sent["Last-Event-ID"] = str(self.last_event_id)
        return sent

    def poll_headers(self) -> dict[str, str]:
        if self.etag is None:
            return {}
        return {"If-None-Match": self.etag, "Prefer": f"wait={LONG_POLL_WAIT}"}

    def timeout(self, deadline: Deadline, default: float) -> httpx.Timeout:
        read = STREAM_READ_TIMEOUT if not self.long_poll else LONG_POLL_WAIT + default
        return httpx.Timeout(default, read=deadline.clip(read) or 0.001)

    # -- the answers ---------------------------------------------------------------------
    def opened(self, response: httpx.Response) -> bool:
        """Whether the stream is open; a 503 or 429 switches to long-polling, other errors
        raise."""
        if response.status_code in (429, 503) and not self.long_poll:
            self.long_poll = True
            return False
        checked(response)
        return True

    def feed(self, message: ServerSentEvent) -> None:
        # httpx-sse dispatches the blank line after a keep-alive comment as a message without
        # data (it keeps the last id, as the standard says): nothing to fold.
        if not message.data:
            return
        entry = recorded(message.json())
        self.failures = 0
        self.last_event_id = entry.sequence
        before, self.state = self.state, apply(self.state, entry.event)
        if self.state != before:
            self._show(status_info(self.state, self.base_url))

    def polled(self, response: httpx.Response) -> None:
        if response.status_code == 304:
            return
        checked(response)
        self.failures = 0
        self.etag = response.headers.get("ETag")
        self._show(StatusInfo.model_validate(response.json()))

    def _show(self, status: StatusInfo) -> None:
        self.report(status)
        if status.status in FINAL_STATUSES:
            self.final = status

    def backoff(self, error: JobstreamError) -> float:
        """Seconds to wait before the next request after a retryable error."""
        self.failures += 1
        if error.retry_after is not None:
            return min(error.retry_after, 30.0)
        return min(0.25 * 2 ** (self.failures - 1), 5.0)

    def outcome(self) -> StatusInfo:
        """The final status when successful; raises JobFailed or JobDismissed otherwise."""
        assert self.final is not None
        if self.final.status != "successful":
            raise job_ended(self.final)
        return self.final


def stream_ended(job_id: str) -> Unavailable:
    """A stream that closed before the job's final event: a gateway going away."""
    detail = f"the event stream of job {job_id} ended before its final event"
    return Unavailable(OGCException(type="about:blank", title="Stream ended", detail=detail))
