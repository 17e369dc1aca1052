"""The asynchronous client: the same calls and follower as ``Client``, sent with
``httpx.AsyncClient``. A ``progress`` callable is called synchronously (keep it quick)."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
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
from .retrying import async_retrying_submit

T = TypeVar("T")


class AsyncClient:
    """``AsyncClient(url, token)``: url and token default to JOBSTREAM_URL and JOBSTREAM_TOKEN;
    ``http_client`` (an ``httpx.AsyncClient``), ``auth`` and ``headers`` as for ``Client``."""

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        *,
        http_client: httpx.AsyncClient | None = None,
        auth: httpx.Auth | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        self.url, token = calls.settings(url, token)
        self.timeout = timeout
        self.service = calls.Service(self.url, calls.headers(token, headers), auth)
        self.owns_http = http_client is None
        self.http = http_client or httpx.AsyncClient(
            base_url=self.url, headers=self.service.headers, auth=auth, timeout=timeout
        )

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self.owns_http:
            await self.http.aclose()

    async def run(self, call: Call[T]) -> T:
        request = call.request(self.http, self.service)
        try:
            return call.decode(await self.http.send(request, **self.service.send_options()))
        except httpx.TransportError as exc:
            raise unreachable(exc) from exc

    # -- processes -----------------------------------------------------------------------
    async def processes(self) -> list[ProcessSummary]:
        return await self.run(calls.processes())

    async def process(self, process_id: str) -> ProcessDescription:
        return await self.run(calls.process(process_id))

    async def submit(
        self,
        process_id: str,
        inputs: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        subscriber: Subscriber | dict[str, str] | None = None,
        priority: str | None = None,
    ) -> "AsyncJob":
        """As ``Client.submit``: retried under one Idempotency-Key, never a second job."""
        key = idempotency_key or calls.new_idempotency_key()
        call = calls.submit(process_id, inputs, key, subscriber, priority)
        return AsyncJob(self, await async_retrying_submit(self.run, call))

    # -- jobs and datasets ---------------------------------------------------------------
    async def jobs(
        self,
        status: str | list[str] | None = None,
        process: str | list[str] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[StatusInfo]:
        return await self.run(calls.jobs(status, process, limit, offset))

    async def iter_jobs(
        self,
        status: str | list[str] | None = None,
        process: str | list[str] | None = None,
        page: int = 100,
    ) -> AsyncIterator[StatusInfo]:
        """As ``Client.iter_jobs``."""
        seen = calls.Seen()
        for offset in calls.offsets(page):
            listed = await self.run(calls.jobs(status, process, page, offset))
            for status_info in seen.new(listed):
                yield status_info
            if len(listed) < page:
                return

    async def job(self, job_id: str) -> "AsyncJob":
        return AsyncJob(self, await self.run(calls.job(job_id)))

    async def rerun(self, job_id: str) -> "AsyncJob":
        """As ``Client.rerun``: not retried."""
        return AsyncJob(self, await self.run(calls.rerun(job_id)))

    async def estimate(self, process_id: str, inputs: dict[str, Any]) -> EstimateAnswer:
        return await self.run(calls.estimate(process_id, inputs))

    async def queue(self) -> Queue:
        """As ``Client.queue``."""
        return await self.run(calls.queue())

    async def datasets(self) -> list[DatasetRecord]:
        return await self.run(calls.datasets())

    async def dataset(self, dataset_id: str) -> DatasetRecord:
        return await self.run(calls.dataset(dataset_id))

    # -- schedules -----------------------------------------------------------------------
    async def schedules(self) -> list[Schedule]:
        return await self.run(calls.schedules())

    async def schedule(self, schedule_id: str) -> Schedule:
        return await self.run(calls.schedule(schedule_id))

    async def create_schedule(
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
        """As ``Client.create_schedule``."""
        return await self.run(
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

    async def change_schedule(self, schedule_id: str, **changes: Any) -> Schedule:
        """As ``Client.change_schedule``."""
        return await self.run(calls.change_schedule(schedule_id, changes))

    async def pause_schedule(self, schedule_id: str) -> Schedule:
        return await self.run(calls.change_schedule(schedule_id, {"paused": True}))

    async def resume_schedule(self, schedule_id: str) -> Schedule:
        return await self.run(calls.change_schedule(schedule_id, {"paused": False}))

    async def delete_schedule(self, schedule_id: str) -> None:
        await self.run(calls.delete_schedule(schedule_id))

    async def trigger_schedule(self, schedule_id: str) -> "AsyncJob":
        """As ``Client.trigger_schedule``: not retried."""
        return AsyncJob(self, await self.run(calls.trigger_schedule(schedule_id)))

    async def schedule_events(self, schedule_id: str) -> list[ScheduleEvent]:
        return await self.run(calls.schedule_events(schedule_id))


class AsyncJob:
    """A job handle of the async client; see ``Job``."""

    def __init__(self, client: AsyncClient, last: StatusInfo) -> None:
        self.client = client
        self.id = last.jobID
        self.last = last

    def __repr__(self) -> str:
        return f"AsyncJob({self.id!r}, {self.last.status.value!r})"

    async def status(self) -> StatusInfo:
        self.last = await self.client.run(calls.job(self.id))
        return self.last

    async def results(self) -> Any:
        return await self.client.run(calls.results(self.id))

    async def events(self) -> list[Recorded]:
        return [recorded async for recorded in self.iter_events()]

    async def iter_events(self) -> AsyncIterator[Recorded]:
        """As ``Job.iter_events``."""
        after = 0
        while True:
            page = await self.client.run(calls.events_page(self.id, after))
            for recorded in page:
                yield recorded
            if len(page) < calls.PAGE:
                return
            after = page[-1].sequence

    async def dismiss(self) -> StatusInfo:
        self.last = await self.client.run(calls.dismiss(self.id))
        return self.last

    async def wait(self, progress: Progress = None, timeout: float | None = None) -> StatusInfo:
        """As ``Job.wait``."""
        follower = Follower(self.id, self.client.url, reporter(progress))
        deadline = Deadline(timeout)
        while follower.final is None:
            deadline.check(self.id)
            try:
                await self._follow(follower, deadline)
            except RETRYABLE as exc:
                await asyncio.sleep(deadline.clip(follower.backoff(exc)))
        self.last = follower.final
        return follower.outcome()

    async def _follow(self, follower: Follower, deadline: Deadline) -> None:
        http, service = self.client.http, self.client.service
        request = http.build_request(
            "GET",
            service.url + follower.path(),
            headers={**service.headers, **follower.headers()},
            timeout=follower.timeout(deadline, self.client.timeout),
        )
        try:
            response = await http.send(request, stream=True, **service.send_options())
            try:
                await self._read(follower, response, deadline)
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            raise unreachable(exc) from exc

    async def _read(self, follower: Follower, response: httpx.Response, deadline: Deadline) -> None:
        if follower.long_poll or not response.is_success:
            await response.aread()
        if follower.long_poll:
            return follower.polled(response)
        if not follower.opened(response):
            return
        # Closed when left early, not when collected: it reads the response being closed.
        async with aclosing(EventSource(response).aiter_sse()) as messages:
            async for message in messages:
                follower.feed(message)
                if follower.final is not None:
                    return
                deadline.check(self.id)
        raise stream_ended(self.id)
