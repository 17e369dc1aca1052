"""The notifier: reads job events through one durable consumer that every notifier shares, and
POSTs the callbacks their jobs' subscribers asked for.

At least once: an event is acked only once its callback was answered 2xx (or given up on), so
a notifier killed mid-delivery leaves it to be redelivered. A refused delivery is nak'ed with
the backoff's delay: the redelivery is the retry, nothing sleeps. Each delivery and each
give-up is recorded as an event in the job's history, its URI and error stripped of secrets.

One delivery (lookup, connection, request, the answer's head) ends within the callback
timeout, which the consumer's AckWait exceeds: it is never redelivered while it still runs, and
a stuck receiver holds one of the notifier's slots for that long at most.
"""

import asyncio
from collections import OrderedDict
from functools import partial
from typing import Any

import httpx
import structlog
from nats.js import JetStreamContext

from jobstream_contracts.events import (
    TERMINAL_TOKENS,
    CallbackAbandoned,
    CallbackDelivered,
    Event,
    EventDecodeError,
    JobDefinition,
    JobSubmitted,
    decode_event,
)
from jobstream_contracts.ogc import Subscriber
from jobstream_contracts.redaction import strip_url_secrets
from jobstream_contracts.status import results_document, status_info
from jobstream_contracts.subjects import STREAM, notified_filters, parse_subject
from jobstream_infra.callbacks import (
    CallbackRefused,
    LookupTimedOut,
    Resolve,
    check_callback,
    lookup,
)
from jobstream_infra.connection import close_nats, connect_nats, stopped_within
from jobstream_infra.delivery import Delivery, MessageDelivery
from jobstream_infra.journal import JetStreamJournal, Journal, direct_reads
from jobstream_infra.metrics import (
    CALLBACKS_ABANDONED,
    CALLBACKS_DELIVERED,
    CALLBACKS_RETRIED,
    sample_consumers,
    start_sampling,
)
from jobstream_infra.provisioning import ensure_notifier_consumer, ensure_stream
from jobstream_infra.settings import NotifierSettings

from .decisions import READ, Callback, GiveUp, after_failure, callback_for, progress_due
from .delivery import DeliveryFailed, callback_client, post
from .folded import FoldedJobs

log = structlog.get_logger(__name__)

# Jobs whose subscriber (or lack of one), last progress callback and folded state are
# remembered; a job's are forgotten at its final event.
REMEMBERED_JOBS = 10_000


# A job the notifier has not seen the submission of (it started after it, or forgot it).
UNKNOWN = object()


class Remembered(OrderedDict):
    """A bounded map, oldest entries dropped first."""

    def remember(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > REMEMBERED_JOBS:
            self.popitem(last=False)


class Notifier:
    def __init__(
        self,
        settings: NotifierSettings,
        js: JetStreamContext,
        journal: Journal,
        client: httpx.AsyncClient,
        resolve: Resolve = lookup,
    ) -> None:
        self.settings = settings
        # The notifier's consumer: the work queue of callbacks to deliver.
        self.js = js
        # The jobs' histories: where subscribers are found and deliveries recorded.
        self.journal = journal
        self.client = client
        # How callback host names are looked up: tests give a resolver of their own.
        self.resolve = resolve
        self.subscribers: Remembered = Remembered()
        self.progress_sent: Remembered = Remembered()
        self.folded = FoldedJobs(journal, REMEMBERED_JOBS)
        self.tasks: set[asyncio.Task] = set()

    async def run(self, stop: asyncio.Event) -> None:
        filters = notified_filters([token for kind in READ for token in kind.tokens()])
        durable = await ensure_notifier_consumer(self.js, filters, self.settings)
        sub = await self.js.pull_subscribe_bind(durable=durable, stream=STREAM)
        sample = partial(sample_consumers, self.js, [durable])
        sampler = start_sampling(self.settings.metrics_port, sample, stop)
        log.info("notifier running")
        while not stop.is_set():
            free = self.settings.notifier_concurrency - len(self.tasks)
            if free <= 0:
                await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                msgs = await sub.fetch(free, timeout=1.0)
            except TimeoutError:
                continue
            except Exception as exc:  # noqa: BLE001 - NATS may be reconnecting
                log.warning("fetch failed", error=repr(exc))
                await stopped_within(stop, 0.5)
                continue
            for msg in msgs:
                task = asyncio.create_task(self.handle(MessageDelivery(msg)))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        # Deliveries in flight are not acked: they are redelivered to another notifier.
        for task in [*self.tasks, sampler]:
            if task is not None:
                task.cancel()

    async def handle(self, delivery: Delivery) -> None:
        if self._without_subscriber(delivery.subject):
            await delivery.ack()
            return
        try:
            event = decode_event(delivery.data, delivery.subject)
        except EventDecodeError as exc:
            log.error("unreadable event; not notified", error=str(exc))
            await delivery.term()
            return
        if isinstance(event, JobSubmitted):
            self.subscribers.remember(event.job_id, event.subscriber)
            await delivery.ack()
            return
        callback = callback_for(event, await self.subscriber_of(event.job_id))
        if callback is None or not self._due(callback, event):
            await delivery.ack()
        else:
            with structlog.contextvars.bound_contextvars(job_id=event.job_id, kind=callback.kind):
                await self.deliver(delivery, event, callback)
        if event.token in TERMINAL_TOKENS:
            self._forget(event.job_id)

    def _without_subscriber(self, subject: str) -> bool:
        """An event of a job whose submission named no subscriber: nothing to read or call
        (what most events are). Forgets the job at its final event."""
        _, job_id, token = parse_subject(subject)
        if token in JobSubmitted.tokens() or self.subscribers.get(job_id, UNKNOWN) is not None:
            return False
        if token in TERMINAL_TOKENS:
            self._forget(job_id)
        return True

    def _forget(self, job_id: str) -> None:
        """A job ended: no callback is due but a redelivery's, which reads again."""
        for remembered in (self.subscribers, self.progress_sent):
            remembered.pop(job_id, None)
        self.folded.forget(job_id)

    def _due(self, callback: Callback, event: Event) -> bool:
        if callback.kind != "in-progress":
            return True
        interval = self.settings.callback_progress_interval
        if not progress_due(self.progress_sent.get(event.job_id), event.time, interval):
            return False
        self.progress_sent.remember(event.job_id, event.time)
        return True

    async def subscriber_of(self, job_id: str) -> Subscriber | None:
        if job_id not in self.subscribers:
            submitted = await self._submission_of(job_id)
            subscriber = submitted.subscriber if submitted is not None else None
            self.subscribers.remember(job_id, subscriber)
        return self.subscribers[job_id]

    async def _submission_of(self, job_id: str) -> JobSubmitted | None:
        """The job's submission: its first event, or, for a job created first (Part 4), the
        one after its definitions, which names the subscriber that stands. One get an event."""
        after = 0
        while records := await self.journal.read(job_id, after=after, limit=1):
            event = records[0].event
            if isinstance(event, JobSubmitted):
                return event
            if not isinstance(event, JobDefinition):
                return None
            after = records[0].sequence
        return None

    async def deliver(self, delivery: Delivery, event: Event, callback: Callback) -> None:
        tries = delivery.attempt
        report: dict[str, Any] = dict(
            job_id=event.job_id,
            process_id=event.process_id,
            attempt=event.attempt,
            kind=callback.kind,
            uri=strip_url_secrets(callback.uri),
            for_event=event.event_id,
            tries=tries,
        )
        document = await self.document(event, delivery.sequence, callback)
        try:
            status = await self.call(callback.uri, document, str(event.event_id))
        except CallbackRefused as exc:
            error = strip_url_secrets(str(exc))
            await self._give_up(delivery, CallbackAbandoned(error=error, **report))
            return
        except DeliveryFailed as exc:
            await self._retry_or_give_up(delivery, report, strip_url_secrets(str(exc)))
            return
        await self.journal.append(CallbackDelivered(status_code=status, **report))
        await delivery.ack()
        CALLBACKS_DELIVERED.labels(callback.kind).inc()
        log.info("callback delivered", status=status, tries=tries)

    async def call(self, uri: str, document: Any, message_id: str) -> int:
        """Check ``uri`` and POST to the address checked, all within the callback timeout."""
        deadline = self.settings.callback_timeout
        try:
            async with asyncio.timeout(deadline):
                allowed = self.settings.callback_allowed_networks
                checked = await check_callback(uri, allowed, self.resolve)
                return await post(
                    self.client, checked, document, message_id, self.settings.callback_secret
                )
        except LookupTimedOut as exc:
            raise DeliveryFailed(str(exc)) from None
        except TimeoutError:
            raise DeliveryFailed(f"no answer within {deadline:g} s") from None

    async def _retry_or_give_up(self, delivery: Delivery, report: dict, error: str) -> None:
        settings = self.settings
        decision = after_failure(
            delivery.attempt, settings.callback_backoff, settings.callback_max_attempts, error
        )
        if isinstance(decision, GiveUp):
            await self._give_up(delivery, CallbackAbandoned(error=decision.reason, **report))
            return
        log.info("callback refused; retrying", error=error, delay=decision.delay)
        CALLBACKS_RETRIED.labels(report["kind"]).inc()
        await delivery.nak(delay=decision.delay)

    async def _give_up(self, delivery: Delivery, abandoned: CallbackAbandoned) -> None:
        log.warning("callback abandoned", error=abandoned.error)
        await self.journal.append(abandoned)
        await delivery.term()
        CALLBACKS_ABANDONED.labels(abandoned.kind).inc()

    async def document(self, event: Event, sequence: int, callback: Callback) -> dict:
        """The results document (success) or the status document, as of the event."""
        state = await self.folded.state_at(event.job_id, sequence)
        assert state is not None  # the event itself is in the history
        if callback.kind == "success":
            return results_document(state)
        return status_info(state, self.settings.base_url).to_json()


async def run_notifier(settings: NotifierSettings, stop: asyncio.Event) -> None:
    nc = await connect_nats(settings, "notifier", stop=stop)
    js = nc.jetstream()
    replicas = await ensure_stream(js, new_replicas=settings.replicas)
    async with callback_client() as client:
        try:
            journal = JetStreamJournal(nc, js, direct_reads(replicas))
            await Notifier(settings, js, journal, client).run(stop)
        finally:
            await close_nats(nc, "notifier")
