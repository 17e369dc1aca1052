"""The notifier's handling of one event, in-process: the job's history in the in-memory
journal, a real receiver on loopback, and a delivery that records how it was answered. The
notifier's consumer, and a notifier killed mid-run, are in tests/integration/test_callbacks.py.
"""

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from nats.aio.client import Client as NATS

from jobstream_contracts.events import (
    CallbackAbandoned,
    CallbackDelivered,
    Event,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.ogc import Subscriber
from jobstream_contracts.subjects import event_subject
from jobstream_infra.memory_journal import InMemoryJournal
from jobstream_infra.settings import NotifierSettings
from jobstream_notifier.service import Notifier

from ..support.deliveries import RecordedDelivery
from ..support.receiver import Receiver

JOB = "job-1"
SETTINGS = NotifierSettings(
    callback_allowed_networks=["127.0.0.1/32"], callback_backoff=[3.0], callback_max_attempts=2
)


@pytest.fixture
def journal() -> InMemoryJournal:
    return InMemoryJournal()


@pytest.fixture
def receive():
    """A receiver on loopback answering the n-th request with ``answer(n)``."""
    started: list[Receiver] = []

    def start(answer: Callable[[int], int] = lambda n: 204) -> Receiver:
        started.append(Receiver(answer=answer).start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
async def notifier(journal) -> AsyncIterator[Notifier]:
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        # The notifier's consumer is never used: the test hands it its deliveries.
        yield Notifier(SETTINGS, NATS().jetstream(), journal, client)


async def delivered(journal: InMemoryJournal, event: Event, attempt: int = 1) -> RecordedDelivery:
    """The event, stored, and its delivery to the notifier."""
    sequence = await journal.append(event)
    return RecordedDelivery(event.subject, event.encode(), sequence, attempt)


async def job_with(journal: InMemoryJournal, subscriber: Subscriber | None) -> RecordedDelivery:
    """A job submitted with ``subscriber``, started and succeeded; the success's delivery."""
    await journal.append(JobSubmitted(job_id=JOB, process_id="echo", subscriber=subscriber))
    await journal.append(JobStarted(job_id=JOB, process_id="echo", attempt=1, executor="e"))
    success = JobSucceeded(job_id=JOB, process_id="echo", attempt=1, results={"echo": "hi"})
    return await delivered(journal, success)


async def recorded(journal: InMemoryJournal, kind: type[Event]) -> list[Event]:
    return [r.event for r in await journal.read(JOB) if isinstance(r.event, kind)]


async def test_a_success_is_posted_recorded_and_acked(journal, notifier, receive):
    receiver = receive()
    delivery = await job_with(journal, Subscriber(successUri=receiver.url("/done")))
    await notifier.handle(delivery)
    (call,) = receiver.at("/done")
    assert call.document == {"echo": "hi"}
    (report,) = await recorded(journal, CallbackDelivered)
    assert isinstance(report, CallbackDelivered) and report.status_code == 204
    assert delivery.answers == [("ack", None)]


async def test_a_job_without_a_subscriber_is_acked_without_a_call(journal, notifier):
    delivery = await job_with(journal, None)
    await notifier.handle(delivery)
    assert await recorded(journal, CallbackDelivered) == []
    assert delivery.answers == [("ack", None)]


async def test_a_refused_callback_is_retried_by_redelivery(journal, notifier, receive):
    receiver = receive(lambda n: 503)
    delivery = await job_with(journal, Subscriber(successUri=receiver.url("/done")))
    await notifier.handle(delivery)
    assert len(receiver.at("/done")) == 1
    assert await recorded(journal, CallbackDelivered) == []
    assert delivery.answers == [("nak", 3.0)]


async def test_a_callback_refused_to_the_last_try_is_abandoned(journal, notifier, receive):
    receiver = receive(lambda n: 503)
    first = await job_with(journal, Subscriber(successUri=receiver.url("/done")))
    last = RecordedDelivery(first.subject, first.data, first.sequence, attempt=2)
    await notifier.handle(last)
    (abandoned,) = await recorded(journal, CallbackAbandoned)
    assert isinstance(abandoned, CallbackAbandoned) and abandoned.tries == 2
    assert last.answers == [("term", None)]


async def test_a_callback_to_a_private_address_not_allowed_is_abandoned(journal, receive):
    receiver = receive()
    delivery = await job_with(journal, Subscriber(successUri=receiver.url("/done")))
    async with httpx.AsyncClient() as client:
        closed = Notifier(NotifierSettings(), NATS().jetstream(), journal, client)
        await closed.handle(delivery)
    assert receiver.at("/done") == []
    assert len(await recorded(journal, CallbackAbandoned)) == 1
    assert delivery.answers == [("term", None)]


async def test_an_unreadable_event_is_terminated(journal, notifier):
    subject = event_subject("echo", JOB, "succeeded")
    sequence = journal.append_bytes(subject, b"{broken")
    delivery = RecordedDelivery(subject, b"{broken", sequence)
    await notifier.handle(delivery)
    assert delivery.answers == [("term", None)]
