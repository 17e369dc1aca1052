"""The synchronous client: a thin shell that sends the shared calls with ``httpx.Client``.

Everything that is not sending, sleeping or reading lines lives in ``calls`` and ``following``,
shared with the async client.
"""

import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx
from httpx_sse import EventSource

from jobstream_contracts.dataset_records import DatasetRecord
from jobstream_contracts.estimates import EstimateAnswer
from jobstream_contracts.ogc import ProcessDescription, ProcessSummary, StatusInfo, Subscriber
from jobstream_contracts.queue import Queue
from jobstream_contracts.schedule_events import ScheduleEvent
from jobstream_contracts.schedules import Schedule

from . import calls
from .calls import Call, Recorded
from .errors import unreachable
from .following import RETRYABLE, Deadline, Follower, stream_ended
from .progress import Progress, reporter
from .retrying import retrying_submit

T = TypeVar("T")


class Client:
    """``Client(url, token)``: url and token default to JOBSTREAM_URL and JOBSTREAM_TOKEN.

    ``http_client``: an ``httpx.Client`` of your own (a proxy, a CA bundle, event hooks), which
    ``close`` leaves open; ``auth``: an ``httpx.Auth`` sent with every request (it wins over
    ``token``); ``headers``: added to every request; ``timeout``: of the client made here.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        http_client: httpx.Client | None = None,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        self.url, token = calls.settings(url, token)
        self.timeout = timeout
        self.service = calls.Service(self.url, calls.headers(token, headers), auth)
        self.owns_http = http_client is None
        self.http = http_client or httpx.Client(
            base_url=self.url, headers=self.service.headers, auth=auth, timeout=timeout
        )

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.owns_http:
            self.http.close()

    def run(self, call: Call[T]) -> T:
        request = call.request(self.http, self.service)
        try:
            return call.decode(self.http.send(request, **self.service.send_options()))
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
        priority: str | None = None,
    ) -> "Job":
        """Submit a job; unanswered requests and 503s are retried under one Idempotency-Key
        (a new one unless given), so a retry never makes a second job. ``priority``
        (high, normal, low) is the job's lane: lower than the process's default for anyone,
        higher for an operator."""
        key = idempotency_key or calls.new_idempotency_key()
        call = calls.submit(process_id, inputs, key, subscriber, priority)
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

    def iter_jobs(
        self,
        status: str | list[str] | None = None,
        process: str | list[str] | None = None,
        page: int = 100,
    ) -> Iterator[StatusInfo]:
        """Every job the caller may see, newest first, a page at a time; a job that moves to a
        later page while you read (newer ones were submitted) is not given twice."""
        seen = calls.Seen()
        for offset in calls.offsets(page):
            listed = self.run(calls.jobs(status, process, page, offset))
            yield from seen.new(listed)
            if len(listed) < page:
                return

    def job(self, job_id: str) -> "Job":
        return Job(self, self.run(calls.job(job_id)))

    def rerun(self, job_id: str) -> "Job":
        """A new job reproducing a successful one: the same process version and inputs, each
        dataset read at the snapshot the original read. JobstreamError (409) when it cannot
        be reproduced, saying why. Not retried: a second try would be a second rerun."""
        return Job(self, self.run(calls.rerun(job_id)))

    def estimate(self, process_id: str, inputs: dict[str, Any]) -> EstimateAnswer:
        return self.run(calls.estimate(process_id, inputs))

    def queue(self) -> Queue:
        """Per process, the jobs waiting and running (yours, unless you read every job)."""
        return self.run(calls.queue())

    def datasets(self) -> list[DatasetRecord]:
        return self.run(calls.datasets())

    def dataset(self, dataset_id: str) -> DatasetRecord:
        return self.run(calls.dataset(dataset_id))

    # -- schedules -----------------------------------------------------------------------
    def schedules(self) -> list[Schedule]:
        """The schedules the caller may see, by id."""
        return self.run(calls.schedules())

    def schedule(self, schedule_id: str) -> Schedule:
        return self.run(calls.schedule(schedule_id))

    def create_schedule(
        self,
        process_id: str,
        inputs: dict[str, Any],
        *,
        cron: str | None = None,
        every: str | None = None,
        on_dataset_updated: str | None = None,
        condition: str | None = None,
        timezone: str = "UTC",
        id: str | None = None,
        title: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        overlap: str | None = None,
        catch_up: str | None = None,
        catch_up_limit: int | None = None,
        priority: str | None = None,
        paused: bool = False,
    ) -> Schedule:
        """Run ``process_id`` with ``inputs`` on a cadence: ``cron`` ("0 6 * * *", in
        ``timezone``) or ``every`` ("90s", "15m", "1h30m", "1d"), or each update of the dataset
        ``on_dataset_updated``: exactly one. ``condition="new-periods"``: a firing makes a job
        only when the process's plan has periods to add. ``id``: else
        the gateway gives one. ``overlap`` (skip, queue, allow): a firing while the previous
        job has not ended; ``catch_up`` (skip, latest, all, up to ``catch_up_limit``): the
        firings missed. None leaves a member to the gateway's default; the gateway checks
        every one (a bad cron raises ``InvalidParameter`` naming it)."""
        return self.run(
            calls.create_schedule(
                process_id,
                inputs,
                id=id,
                title=title,
                cron=cron,
                every=every,
                on_dataset_updated=on_dataset_updated,
                condition=condition,
                timezone=timezone,
                start=start,
                end=end,
                overlap=overlap,
                catch_up=catch_up,
                catch_up_limit=catch_up_limit,
                priority=priority,
                paused=paused,
            )
        )

    def change_schedule(self, schedule_id: str, **changes: Any) -> Schedule:
        """Change the members named (as ``create_schedule`` names them, or as the API does);
        one given as None is cleared: ``change_schedule(id, every="1h", cron=None)``."""
        return self.run(calls.change_schedule(schedule_id, changes))

    def pause_schedule(self, schedule_id: str) -> Schedule:
        """No firings until resumed (``trigger_schedule`` still runs it)."""
        return self.run(calls.change_schedule(schedule_id, {"paused": True}))

    def resume_schedule(self, schedule_id: str) -> Schedule:
        """Firings again from the next instant after now; those missed while paused are not
        run."""
        return self.run(calls.change_schedule(schedule_id, {"paused": False}))

    def delete_schedule(self, schedule_id: str) -> None:
        """No more firings; its id is never given again. Its jobs stay."""
        self.run(calls.delete_schedule(schedule_id))

    def trigger_schedule(self, schedule_id: str) -> "Job":
        """Run the schedule's process now, as a firing of its own (not instead of the next);
        the job it made. Not retried: a second try would be a second firing."""
        return Job(self, self.run(calls.trigger_schedule(schedule_id)))

    def schedule_events(self, schedule_id: str) -> list[ScheduleEvent]:
        """The schedule's history, oldest first, as the contracts' events: created, changed,
        paused, resumed, deleted, and each firing with its job (``ScheduleFired``) or why it
        made none (``ScheduleSkipped``)."""
        return self.run(calls.schedule_events(schedule_id))


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
        return list(self.iter_events())

    def iter_events(self) -> Iterator[Recorded]:
        """The job's history in stream order, a page fetched as the last one is used up: a
        long ingest's thousands of events without holding them all."""
        after = 0
        while True:
            page = self.client.run(calls.events_page(self.id, after))
            yield from page
            if len(page) < calls.PAGE:
                return
            after = page[-1].sequence

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
        http, service = self.client.http, self.client.service
        request = http.build_request(
            "GET",
            service.url + follower.path(),
            headers={**service.headers, **follower.headers()},
            timeout=follower.timeout(deadline, self.client.timeout),
        )
        try:
            response = http.send(request, stream=True, **service.send_options())
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
