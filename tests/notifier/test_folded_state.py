"""The notifier keeps each job's folded state: N callbacks of one job read its history once,
not N times (quadratic in a long job's events), and each document is the job as of its event."""

from collections.abc import AsyncIterator

import httpx
import pytest
from nats.aio.client import Client as NATS

from jobstream_contracts.events import (
    Event,
    JobProgressed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.ogc import Subscriber
from jobstream_infra.journal import Recorded
from jobstream_infra.memory_journal import InMemoryJournal
from jobstream_infra.settings import NotifierSettings
from jobstream_notifier.folded import FoldedJobs
from jobstream_notifier.service import Notifier

from ..support.receiver import Receiver
from .test_handle import JOB, delivered

PROGRESS = 50
# Every progress event is due a callback.
SETTINGS = NotifierSettings(
    callback_allowed_networks=["127.0.0.1/32"], callback_progress_interval=0
)


class CountingJournal(InMemoryJournal):
    """The in-memory journal, counting the events its reads hand out."""

    def __init__(self) -> None:
        super().__init__()
        self.handed_out = 0

    async def read(self, job_id: str, after: int = 0, limit: int | None = None) -> list[Recorded]:
        records = await super().read(job_id, after, limit)
        self.handed_out += len(records)
        return records


@pytest.fixture
def journal() -> CountingJournal:
    return CountingJournal()


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
async def notifier(journal, receiver) -> AsyncIterator[Notifier]:
    subscriber = Subscriber(
        successUri=receiver.url("/done"), inProgressUri=receiver.url("/progress")
    )
    await journal.append(JobSubmitted(job_id=JOB, process_id="count", subscriber=subscriber))
    async with httpx.AsyncClient(timeout=5.0, follow_redirects=False) as client:
        yield Notifier(SETTINGS, NATS().jetstream(), journal, client)


def progressed(done: int, total: int) -> Event:
    return JobProgressed(job_id=JOB, process_id="count", attempt=1, done=done, total=total)


async def test_n_callbacks_of_a_job_read_its_history_once(journal, notifier, receiver):
    events: list[Event] = [JobStarted(job_id=JOB, process_id="count", attempt=1, executor="e")]
    events += [progressed(n, PROGRESS) for n in range(1, PROGRESS + 1)]
    events.append(JobSucceeded(job_id=JOB, process_id="count", attempt=1, results={"n": 1}))
    for event in events:
        await notifier.handle(await delivered(journal, event))
    progress = receiver.at("/progress")
    assert len(progress) == PROGRESS + 1 and receiver.at("/done")[0].document == {"n": 1}
    # Each document is the job as of its event.
    assert [call.document["progress"] for call in progress[1:]] == [
        int(100 * n / PROGRESS) for n in range(1, PROGRESS + 1)
    ]
    history = len(await InMemoryJournal.read(journal, JOB))
    # The first event twice (the subscriber, then the fold), every other one once. Reading the
    # whole history for every callback handed out 2,757 events here.
    assert journal.handed_out <= history + 1, journal.handed_out
    assert JOB not in notifier.folded.jobs, "a job's state outlived its final event"


async def test_an_earlier_event_handled_after_a_later_one_is_folded_as_of_itself(journal):
    """Two events of one job handled at once may finish in either order."""
    await journal.append(JobSubmitted(job_id=JOB, process_id="count"))
    first = await journal.append(progressed(1, 4))
    second = await journal.append(progressed(2, 4))
    folded = FoldedJobs(journal, size=10)
    later = await folded.state_at(JOB, second)
    earlier = await folded.state_at(JOB, first)
    assert later is not None and later.done == 2
    assert earlier is not None and earlier.done == 1
    # The entry folded further stands: the next event folds on from it.
    assert folded.jobs[JOB].through == second


async def test_the_folded_states_are_bounded(journal):
    folded = FoldedJobs(journal, size=3)
    for n in range(5):
        sequence = await journal.append(JobSubmitted(job_id=f"job-{n}", process_id="count"))
        await folded.state_at(f"job-{n}", sequence)
    assert list(folded.jobs) == ["job-2", "job-3", "job-4"]
