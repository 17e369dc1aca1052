"""The notifier's handling of one event, in-process: the job's history in the in-memory
journal, a real receiver on loopback, and a delivery that records how it was answered. The
notifier's consumer, and a notifier killed mid-run, are in tests/integration/test_callbacks.py.
"""

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from nats.aio.client import Client as NATS

from jobstream_contracts.events import (
    CallbackAbandoned,
    CallbackDelivered,
    Event,
    JobChanged,
    JobCreated,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.ogc import Subscriber
from jobstream_contracts.subjects import event_subject
from jobstream_infra.callbacks import Resolve
from jobstream_infra.memory_journal import InMemoryJournal
from jobstream_infra.settings import NotifierSettings
from jobstream_notifier.delivery import callback_client
from jobstream_notifier.service import Notifier

from ..support.certificates import Authority
from ..support.deliveries import RecordedDelivery
from ..support.receiver import Receiver
from ..support.resolvers import answering, rebinding
from ..support.stuck_receiver import StuckReceiver

JOB = "job-1"
SETTINGS = NotifierSettings(
    callback_allowed_networks=["127.0.0.1/32"], callback_backoff=[3.0], callback_max_attempts=2
)


@pytest.fixture
def journal() -> InMemoryJournal:
    return InMemoryJournal()


@pytest.fixture
def receive():
    """A receiver on loopback (tests/support/receiver.py has its options)."""
    started: list[Receiver] = []

    def start(**options) -> Receiver:
        started.append(Receiver(**options).start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


@pytest.fixture
async def notifier(journal) -> AsyncIterator[Notifier]:
    async with callback_client() as client:
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


async def test_a_job_created_first_is_called_back_at_the_subscriber_its_start_named(
    journal, notifier, receive
):
    """A created job's history starts with its definitions (Part 4): the submission of its
    start, read after them, names the subscriber that stands."""
    receiver = receive()
    await journal.append(JobCreated(job_id=JOB, process_id="echo"))
    changed = Subscriber(successUri=receiver.url("/changed"))
    await journal.append(JobChanged(job_id=JOB, process_id="echo", subscriber=changed))
    delivery = await job_with(journal, changed)
    await notifier.handle(delivery)
    (call,) = receiver.at("/changed")
    assert call.document == {"echo": "hi"}


async def test_a_job_without_a_subscriber_is_acked_without_a_call(journal, notifier):
    delivery = await job_with(journal, None)
    await notifier.handle(delivery)
    assert await recorded(journal, CallbackDelivered) == []
    assert delivery.answers == [("ack", None)]


async def test_after_a_submission_without_a_subscriber_its_job_is_acked_unread(journal, notifier):
    await notifier.handle(await delivered(journal, JobSubmitted(job_id=JOB, process_id="echo")))
    # Not even read: a damaged event of that job is acked, where one of an unknown job is
    # terminated (test_an_unreadable_event_is_terminated).
    damaged = RecordedDelivery(event_subject("echo", JOB, "succeeded"), b"{damaged", 3)
    await notifier.handle(damaged)
    assert damaged.answers == [("ack", None)]
    assert JOB not in notifier.subscribers  # forgotten at its final event


async def test_after_a_submission_with_a_subscriber_its_callbacks_are_made(
    journal, notifier, receive
):
    receiver = receive()
    subscriber = Subscriber(successUri=receiver.url("/done"))
    submission = await delivered(
        journal, JobSubmitted(job_id=JOB, process_id="echo", subscriber=subscriber)
    )
    await notifier.handle(submission)
    success = JobSucceeded(job_id=JOB, process_id="echo", attempt=1, results={"echo": "hi"})
    delivery = await delivered(journal, success)
    await notifier.handle(delivery)
    assert submission.answers == delivery.answers == [("ack", None)]
    assert [call.document for call in receiver.at("/done")] == [{"echo": "hi"}]


async def test_a_refused_callback_is_retried_by_redelivery(journal, notifier, receive):
    receiver = receive(answer=lambda n: 503)
    delivery = await job_with(journal, Subscriber(successUri=receiver.url("/done")))
    await notifier.handle(delivery)
    assert len(receiver.at("/done")) == 1
    assert await recorded(journal, CallbackDelivered) == []
    assert delivery.answers == [("nak", 3.0)]


async def test_a_callback_refused_to_the_last_try_is_abandoned(journal, notifier, receive):
    receiver = receive(answer=lambda n: 503)
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


def notifier_with(
    journal: InMemoryJournal, client: httpx.AsyncClient, resolve: Resolve | None = None, **options
) -> Notifier:
    """A notifier of its own settings (a 1 s delivery deadline) and, if given, resolver."""
    settings = NotifierSettings(**{"callback_timeout": 1.0, "callback_backoff": [3.0], **options})
    lookup = {"resolve": resolve} if resolve else {}
    return Notifier(settings, NATS().jetstream(), journal, client, **lookup)


async def test_a_name_rebound_to_loopback_after_its_check_reaches_nothing(journal, receive):
    """The first lookup answers a public address, every later one 127.0.0.1: the POST goes
    to the address checked, never to a second lookup's."""
    receiver = receive()
    uri = f"http://rebound.example:{receiver.port}/done"
    first = await job_with(journal, Subscriber(successUri=uri))
    async with callback_client() as client:
        notifier = notifier_with(journal, client, rebinding("8.8.8.8", "127.0.0.1"))
        await notifier.handle(first)
        again = RecordedDelivery(first.subject, first.data, first.sequence, attempt=2)
        await notifier.handle(again)
    assert receiver.received == []
    assert first.answers == [("nak", 3.0)]  # 8.8.8.8: unreachable, or silent on this port
    assert again.answers == [("term", None)]  # checked again, refused
    (abandoned,) = await recorded(journal, CallbackAbandoned)
    assert isinstance(abandoned, CallbackAbandoned) and "127.0.0.1" in abandoned.error


async def test_a_redirect_to_loopback_is_not_followed(journal, receive):
    inside = receive()  # 127.0.0.1: not allowed
    location = {"Location": inside.url("/inside")}
    redirector = receive(answer=lambda n: 307, host="127.0.0.2", headers=location)
    delivery = await job_with(journal, Subscriber(successUri=redirector.url("/done")))
    # Even a client made to follow redirects does not follow a callback's.
    async with httpx.AsyncClient(follow_redirects=True) as client:
        notifier = notifier_with(journal, client, callback_allowed_networks=["127.0.0.2/32"])
        await notifier.handle(delivery)
    assert len(redirector.at("/done")) == 1 and inside.received == []
    assert delivery.answers == [("nak", 3.0)]


@pytest.mark.parametrize(("certified", "delivered"), [("hooks.example", True), ("other", False)])
async def test_https_goes_to_the_checked_address_with_the_name_s_certificate(
    journal, receive, tmp_path, certified, delivered
):
    """Connected to 127.0.0.1, the TLS server name and the Host header are the URI's name,
    and the certificate must be that name's."""
    authority = Authority(tmp_path)
    receiver = receive(tls=authority.server_context(certified))
    uri = f"https://hooks.example:{receiver.port}/done"
    delivery = await job_with(journal, Subscriber(successUri=uri))
    async with httpx.AsyncClient(verify=authority.client_context()) as client:
        loopback = ["127.0.0.1/32"]
        notifier = notifier_with(
            journal, client, answering("127.0.0.1"), callback_allowed_networks=loopback
        )
        await notifier.handle(delivery)
    if delivered:
        (call,) = receiver.at("/done")
        assert call.headers["Host"] == f"hooks.example:{receiver.port}"
        assert delivery.answers == [("ack", None)]
    else:
        assert receiver.received == []
        assert delivery.answers == [("nak", 3.0)]


@pytest.fixture
def stuck():
    started: list[StuckReceiver] = []

    def start(mode) -> StuckReceiver:
        started.append(StuckReceiver(mode, interval=0.2).start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()


async def handled_within(notifier: Notifier, delivery: RecordedDelivery, most: float) -> float:
    """How long handling ``delivery`` took; a failure if it takes longer than ``most``."""
    began = time.monotonic()
    await asyncio.wait_for(notifier.handle(delivery), most)
    return time.monotonic() - began


async def test_a_receiver_trickling_its_answer_is_cut_off_at_the_deadline(journal, stuck):
    receiver = stuck("trickle")  # one byte every 0.2 s: no single read ever waits long
    delivery = await job_with(journal, Subscriber(successUri=receiver.url("/done")))
    async with callback_client() as client:
        notifier = notifier_with(journal, client, callback_allowed_networks=["127.0.0.1/32"])
        took = await handled_within(notifier, delivery, 10)
    assert 1.0 <= took < 2.0, took
    assert delivery.answers == [("nak", 3.0)]
    assert receiver.arrivals == 1


async def test_an_endless_answer_is_not_read(journal, stuck):
    receiver = stuck("endless")
    delivery = await job_with(journal, Subscriber(successUri=receiver.url("/done")))
    async with callback_client() as client:
        notifier = notifier_with(journal, client, callback_allowed_networks=["127.0.0.1/32"])
        took = await handled_within(notifier, delivery, 10)
    assert took < 1.0, took  # answered 200 by its head: the body is never read
    (report,) = await recorded(journal, CallbackDelivered)
    assert isinstance(report, CallbackDelivered) and report.status_code == 200
    assert delivery.answers == [("ack", None)]


async def test_a_subscriber_uri_is_recorded_without_its_token(journal, notifier, receive):
    receiver = receive()
    delivery = await job_with(journal, Subscriber(successUri=receiver.url("/done?token=s3cret")))
    await notifier.handle(delivery)
    assert len(receiver.at("/done?token=s3cret")) == 1  # the receiver got its token
    (report,) = await recorded(journal, CallbackDelivered)
    assert isinstance(report, CallbackDelivered) and report.uri == receiver.url("/done")


async def test_an_abandoned_callback_is_recorded_without_its_token(journal, notifier):
    uri = "http://127.0.0.1:99999/done?token=s3cret"  # a port out of range: refused
    await notifier.handle(await job_with(journal, Subscriber(successUri=uri)))
    (abandoned,) = await recorded(journal, CallbackAbandoned)
    assert isinstance(abandoned, CallbackAbandoned)
    assert abandoned.uri == "http://127.0.0.1:99999/done"
    assert "s3cret" not in abandoned.error and "127.0.0.1:99999/done" in abandoned.error
