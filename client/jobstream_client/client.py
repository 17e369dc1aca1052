"""The synchronous client: a thin shell that sends the shared calls with ``httpx.Client``.

Everything that is not sending, sleeping or reading lines lives in ``calls`` and ``following``,
shared with the async client.
"""

import time
from typing import Any, TypeVar

import httpx
from httpx_sse import EventSource

from jobstream_contracts.dataset_records import DatasetRecord
from jobstream_contracts.estimates import EstimateAnswer
from jobstream_contracts.ogc import ProcessDescription, ProcessSummary, StatusInfo, Subscriber

from . import calls
from .calls import Call, Recorded
from .errors import unreachable
from .following import RETRYABLE, Deadline, Follower, stream_ended
from .progress import Progress, reporter
from .retrying import retrying_submit

T = TypeVar("T")


class Client:
    """``Client(url, token)``: url and token default to JOBSTREAM_URL and JOBSTREAM_TOKEN."""

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 30.0):
        self.url, token = calls.settings(url, token)
        self.timeout = timeout
        self.http = httpx.Client(base_url=self.url, headers=calls.headers(token), timeout=timeout)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def run(self, call: Call[T]) -> T:
        try:
            return call.decode(self.http.send(call.request(self.http)))
        except httpx.TransportError as exc:
            raise unreachable(exc) from exc

    # -- processes -----------------------------------------------------------------------
    def processes(self) -> list[ProcessSummary]:
        return self.run(calls.processes())

    def process(self, process_id: str) -> ProcessDescription:
        return self.run(calls.process(process_id))

    def submit(
        self,
        process_id: str,
        inputs: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        subscriber: Subscriber | dict[str, str] | None = None,
    ) -> "Job":
        """Submit a job; unanswered requests and 503s are retried under one Idempotency-Key
        (a new one unless given), so a retry never makes a second job."""
        key = idempotency_key or calls.new_idempotency_key()
        call = calls.submit(process_id, inputs, key, subscriber)
        return Job(self, retrying_submit(self.run, call))

    # -- jobs and datasets ---------------------------------------------------------------
    def jobs(
        self,
        status: str | list[str] | None = None,
        process: str | list[str] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[StatusInfo]:
        return self.run(calls.jobs(status, process, limit, offset))

    def job(self, job_id: str) -> "Job":
        return Job(self, self.run(calls.job(job_id)))

    def estimate(self, process_id: str, inputs: dict[str, Any]) -> EstimateAnswer:
        return self.run(calls.estimate(process_id, inputs))

    def datasets(self) -> list[DatasetRecord]:
        return self.run(calls.datasets())

    def dataset(self, dataset_id: str) -> DatasetRecord:
        return self.run(calls.dataset(dataset_id))


class Job:
    """A job handle; ``last`` is the status it was last seen with."""

    def __init__(self, client: Client, last: StatusInfo) -> None:
        self.client = client
        self.id = last.jobID
        self.last = last

    def __repr__(self) -> str:
        return f"Job({self.id!r}, {self.last.status.value!r})"

    def status(self) -> StatusInfo:
        self.last = self.client.run(calls.job(self.id))
        return self.last

    def results(self) -> Any:
        return self.client.run(calls.results(self.id))

    def events(self) -> list[Recorded]:
        """The job's history in stream order, every page of it."""
        history: list[Recorded] = []
        while True:
            page = self.client.run(calls.events_page(self.id, calls.after(history)))
            history += page
            if len(page) < calls.PAGE:
                return history

    def dismiss(self) -> StatusInfo:
        self.last = self.client.run(calls.dismiss(self.id))
        return self.last

    def wait(self, progress: Progress = None, timeout: float | None = None) -> StatusInfo:
        """Follow the job to its end and return its final status when successful; raise
        JobFailed or JobDismissed (with ``.job``, the final status) otherwise, TimeoutError
        after ``timeout`` seconds. ``progress``: True prints a line on stderr, a callable is
        called with each new status."""
        follower = Follower(self.id, self.client.url, reporter(progress))
        deadline = Deadline(timeout)
        while follower.final is None:
            deadline.check(self.id)
            try:
                self._follow(follower, deadline)
            except RETRYABLE as exc:
                time.sleep(deadline.clip(follower.backoff(exc)))
        self.last = follower.final
        return follower.outcome()

    def _follow(self, follower: Follower, deadline: Deadline) -> None:
        """One request: the event stream to its end, or one long-poll GET."""
        http = self.client.http
        request = http.build_request(
            "GET",
            follower.path(),
            headers=follower.headers(),
            timeout=follower.timeout(deadline, self.client.timeout),
        )
        try:
            response = http.send(request, stream=True)
            try:
                self._read(follower, response, deadline)
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise unreachable(exc) from exc

    def _read(self, follower: Follower, response: httpx.Response, deadline: Deadline) -> None:
        if follower.long_poll or not response.is_success:
            response.read()
        if follower.long_poll:
            return follower.polled(response)
        if not follower.opened(response):
            return
        for message in EventSource(response).iter_sse():
            follower.feed(message)
            if follower.final is not None:
                return
            deadline.check(self.id)
        raise stream_ended(self.id)
