"""The journal's contract, one suite run against every implementation: the JetStream stream on a
real nats-server, and the in-memory journal that tests of the components stand on.

The stream cannot be deleted or purged (not even by the admin), so the JetStream tests share
one stream per module: each test names its jobs afresh and counts sequences from the newest
one stored before it (``at``).
"""

import asyncio
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import aclosing
from dataclasses import dataclass

import nats
import pytest

from jobstream_contracts.events import (
    Event,
    EventDecodeError,
    JobDismissed,
    JobProgressed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.subjects import STREAM, event_subject, submissions_filter
from jobstream_infra.archive import Archive, ArchiveIndex
from jobstream_infra.embedded import EmbeddedNats
from jobstream_infra.journal import (
    HistoryChanged,
    JetStreamJournal,
    Journal,
    Recorded,
    last_sequence_at,
)
from jobstream_infra.journal_with_archive import JournalWithArchive
from jobstream_infra.memory_journal import InMemoryJournal
from jobstream_infra.provisioning import ensure_stream

# A follower's idle wait in these tests: short, so that an empty batch comes quickly.
WAIT = 0.2


@dataclass
class Subject:
    """A journal under test, how to put bytes in it that are no event, and the newest sequence
    it held when the test began."""

    journal: Journal
    put_bytes: Callable[[str, bytes], Awaitable[object]]
    base: int = 0
    prefix: str = ""

    def at(self, n: int) -> int:
        """The sequence of the ``n``-th message this test stored."""
        return self.base + n

    def job(self, name: str) -> str:
        """A job id of this test's own."""
        return f"{name}-{self.prefix}"


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory) -> Iterator[str]:
    with EmbeddedNats(tmp_path_factory.mktemp("journal") / "nats") as server:
        yield server.url


async def _jetstream(url: str, direct: bool) -> AsyncGenerator[Subject, None]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await ensure_stream(js)

    async def put_bytes(subject: str, data: bytes) -> object:
        return await js.publish(subject, data, stream=STREAM)

    try:
        yield Subject(JetStreamJournal(nc, js, direct), put_bytes)
    finally:
        await nc.close()


async def _in_memory() -> AsyncGenerator[Subject, None]:
    journal = InMemoryJournal()

    async def put_bytes(subject: str, data: bytes) -> object:
        return journal.append_bytes(subject, data)

    yield Subject(journal, put_bytes)


async def _with_archive(url: str, folder: str) -> AsyncGenerator[Subject, None]:
    """The stream's journal read through an archive (empty here: what every job that was
    never archived meets)."""
    async with aclosing(_jetstream(url, direct=True)) as made:
        async for each in made:
            index = ArchiveIndex(Archive(folder))
            yield Subject(JournalWithArchive(each.journal, index), each.put_bytes)


# JetStream's reads go to the leader (a replicated stream) or to any replica (direct gets).
@pytest.fixture(params=["jetstream-leader", "jetstream-direct", "memory", "with-archive"])
async def subject(request, tmp_path) -> AsyncGenerator[Subject, None]:
    if request.param == "memory":
        made = _in_memory()
    elif request.param == "with-archive":
        made = _with_archive(request.getfixturevalue("nats_url"), str(tmp_path / "archive"))
    else:
        url = request.getfixturevalue("nats_url")
        made = _jetstream(url, direct=request.param == "jetstream-direct")
    async with aclosing(made) as subjects:
        async for each in subjects:
            each.base = await each.journal.last_sequence()
            each.prefix = uuid.uuid4().hex[:8]
            yield each


def submitted(job_id: str, process_id: str = "echo") -> JobSubmitted:
    return JobSubmitted(job_id=job_id, process_id=process_id, inputs={"message": job_id})


def progressed(job_id: str, done: float = 1, process_id: str = "echo") -> JobProgressed:
    return JobProgressed(job_id=job_id, process_id=process_id, done=done, total=10)


def events_of(records: list[Recorded]) -> list[Event]:
    return [record.event for record in records]


async def collect(s: Subject, count: int, **follow) -> list[int]:
    """The sequences of the first ``count`` events a follower is given (from this test's
    first message unless told otherwise), relative to the test's start."""
    follow.setdefault("after", s.base)
    found: list[Recorded] = []
    async with aclosing(s.journal.follow(wait=WAIT, **follow)) as batches:
        async for batch in batches:
            found.extend(batch)
            if len(found) >= count:
                return [record.sequence - s.base for record in found]
    raise AssertionError("the follower ended")


async def sequences(s: Subject, job: str, **read) -> list[int]:
    return [record.sequence - s.base for record in await s.journal.read(job, **read)]


# -- append and read ------------------------------------------------------------------------


async def test_an_unknown_job_has_no_events(subject: Subject):
    assert await subject.journal.read(subject.job("nobody")) == []


async def test_an_empty_in_memory_journal_has_no_last_sequence():
    assert await InMemoryJournal().last_sequence() == 0


async def test_appends_answer_increasing_sequences(subject: Subject):
    a, b = subject.job("a"), subject.job("b")
    journal = subject.journal
    stored = [await journal.append(e) for e in (submitted(a), submitted(b), progressed(a))]
    assert stored == [subject.at(1), subject.at(2), subject.at(3)]
    assert await journal.last_sequence() == subject.at(3)


async def test_read_gives_one_jobs_events_in_order_as_appended(subject: Subject):
    a, b = subject.job("a"), subject.job("b")
    first, second = submitted(a), progressed(a, done=2)
    for event in (first, submitted(b), second, progressed(b)):
        await subject.journal.append(event)
    records = await subject.journal.read(a)
    assert [r.sequence for r in records] == [subject.at(1), subject.at(3)]
    assert events_of(records) == [first, second]
    assert records[0].time <= records[1].time


async def test_read_after_and_limit(subject: Subject):
    a = subject.job("a")
    for done in range(5):
        await subject.journal.append(progressed(a, done=done))
    assert await sequences(subject, a, after=subject.at(2)) == [3, 4, 5]
    assert await sequences(subject, a, after=subject.at(1), limit=2) == [2, 3]
    assert await sequences(subject, a, limit=1) == [1]
    assert await sequences(subject, a, after=subject.at(5)) == []


async def test_a_job_is_read_across_its_event_subjects_and_no_other_job(subject: Subject):
    a = subject.job("a")
    await subject.journal.append(submitted(a))
    await subject.journal.append(JobStarted(job_id=a, process_id="echo", executor="x"))
    await subject.journal.append(submitted(f"{a}x"))  # a job id with a's as its prefix
    events = events_of(await subject.journal.read(a))
    assert [type(e) for e in events] == [JobSubmitted, JobStarted]


# -- conditional appends ----------------------------------------------------------------------


async def test_expect_last_zero_stores_only_a_jobs_first_event(subject: Subject):
    a = subject.job("a")
    assert await subject.journal.append(submitted(a), expect_last=0) == subject.at(1)
    with pytest.raises(HistoryChanged):
        await subject.journal.append(submitted(a), expect_last=0)
    assert await subject.journal.last_sequence() == subject.at(1)


async def test_expect_last_holds_against_the_jobs_newest_event(subject: Subject):
    a, b = subject.job("a"), subject.job("b")
    journal = subject.journal
    await journal.append(submitted(a))
    await journal.append(submitted(b))  # another job's events do not count
    assert await journal.append(progressed(a), expect_last=subject.at(1)) == subject.at(3)
    with pytest.raises(HistoryChanged):
        await journal.append(progressed(a, done=2), expect_last=subject.at(1))
    assert await sequences(subject, a) == [1, 3]


async def test_expect_last_counts_every_subject_of_the_job(subject: Subject):
    a = subject.job("a")
    journal = subject.journal
    await journal.append(submitted(a))
    await journal.append(JobDismissed(job_id=a, process_id="echo"))
    with pytest.raises(HistoryChanged):
        await journal.append(JobSucceeded(job_id=a, process_id="echo"), expect_last=subject.at(1))
    final = JobSucceeded(job_id=a, process_id="echo")
    assert await journal.append(final, expect_last=subject.at(2)) == subject.at(3)


async def test_of_racing_conditional_appends_one_is_stored(subject: Subject):
    a = subject.job("a")
    await subject.journal.append(submitted(a))
    finals = [JobSucceeded(job_id=a, process_id="echo", attempt=n) for n in range(4)]
    outcomes = await asyncio.gather(
        *(subject.journal.append(final, expect_last=subject.at(1)) for final in finals),
        return_exceptions=True,
    )
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert sum(isinstance(o, HistoryChanged) for o in outcomes) == 3
    assert len(await subject.journal.read(a)) == 2


# -- de-duplication ---------------------------------------------------------------------------


async def test_an_event_appended_twice_is_stored_once(subject: Subject):
    a = subject.job("a")
    event = submitted(a)
    assert await subject.journal.append(event) == subject.at(1)
    await subject.journal.append(progressed(a))
    assert await subject.journal.append(event) == subject.at(1)
    assert await subject.journal.last_sequence() == subject.at(2)
    assert events_of(await subject.journal.read(a))[0] == event


async def test_a_retried_conditional_append_is_refused_not_stored_twice(subject: Subject):
    """A publish whose acknowledgement was lost, retried with the same condition: JetStream
    checks the condition before the event id, so the retry is told the history changed (and
    a reader finds its own event there), and the event is stored once."""
    a = subject.job("a")
    await subject.journal.append(submitted(a))
    final = JobSucceeded(job_id=a, process_id="echo")
    assert await subject.journal.append(final, expect_last=subject.at(1)) == subject.at(2)
    with pytest.raises(HistoryChanged):
        await subject.journal.append(final, expect_last=subject.at(1))
    assert await subject.journal.append(final, expect_last=subject.at(2)) == subject.at(2)
    assert await subject.journal.last_sequence() == subject.at(2)


async def test_the_duplicate_window_passes():
    now = [0.0]
    journal = InMemoryJournal(duplicate_window=120, clock=lambda: now[0])
    event = submitted("a")
    await journal.append(event)
    now[0] = 119.0
    assert await journal.append(event) == 1
    now[0] = 121.0
    assert await journal.append(event) == 2


# -- dismissal --------------------------------------------------------------------------------


async def test_is_dismissed_only_once_the_job_is(subject: Subject):
    a, b = subject.job("a"), subject.job("b")
    journal = subject.journal
    await journal.append(submitted(a))
    await journal.append(submitted(b))
    assert not await journal.is_dismissed("echo", a)
    await journal.append(JobDismissed(job_id=a, process_id="echo"))
    assert await journal.is_dismissed("echo", a)
    assert not await journal.is_dismissed("echo", b)
    assert not await journal.is_dismissed("other", a)


# -- undecodable messages ---------------------------------------------------------------------


async def test_an_unreadable_message_fails_a_read_and_is_skipped_by_followers(subject: Subject):
    a = subject.job("a")
    await subject.journal.append(submitted(a))
    await subject.put_bytes(event_subject("echo", a, "progressed"), b"{not json")
    await subject.journal.append(progressed(a))
    with pytest.raises(EventDecodeError):
        await subject.journal.read(a)
    assert await sequences(subject, a, limit=1) == [1]
    assert await collect(subject, 2) == [1, 3]


async def test_a_newer_events_schema_is_told_apart(subject: Subject):
    a = subject.job("a")
    newer = (
        f'{{"type": "JobSubmitted", "schema_version": 99, "job_id": "{a}", "process_id": "echo"}}'
    )
    await subject.put_bytes(event_subject("echo", a, "submitted"), newer.encode())
    with pytest.raises(EventDecodeError) as raised:
        await subject.journal.read(a)
    assert raised.value.newer


async def test_an_event_off_its_subject_is_skipped_by_every_read(subject: Subject):
    # What the notifier's user could publish: a success on a callback subject it may write.
    a = subject.job("a")
    await subject.journal.append(submitted(a))
    forged = JobSucceeded(job_id=a, process_id="echo", results={"forged": True})
    await subject.put_bytes(event_subject("echo", a, "callback-delivered"), forged.encode())
    await subject.journal.append(progressed(a))
    read = events_of(await subject.journal.read(a))
    assert [type(event) for event in read] == [JobSubmitted, JobProgressed]
    assert await sequences(subject, a) == [1, 3]
    assert await sequences(subject, a, after=subject.at(1), limit=1) == [3]
    assert await collect(subject, 2) == [1, 3]


async def test_events_are_read_at_their_sequences_skipping_what_followers_skip(
    subject: Subject,
):
    a, b = subject.job("a"), subject.job("b")
    await subject.journal.append(submitted(a))
    await subject.journal.append(submitted(b))
    await subject.put_bytes(event_subject("echo", a, "progressed"), b"{not json")
    forged = JobSucceeded(job_id=a, process_id="echo", results={"forged": True})
    await subject.put_bytes(event_subject("echo", a, "callback-delivered"), forged.encode())
    await subject.journal.append(progressed(a))
    asked = [subject.at(n) for n in (5, 1, 3, 4, 2)] + [subject.at(1000)]
    found = await subject.journal.at(asked)
    assert [record.sequence - subject.base for record in found] == [5, 1, 2]
    assert [type(record.event) for record in found] == [JobProgressed, JobSubmitted, JobSubmitted]
    assert found[1].event.job_id == a and found[2].event.job_id == b


async def test_catch_up_reaches_past_a_skipped_forgery(subject: Subject):
    # A conditional append must name the job's newest message, readable or not.
    a = subject.job("a")
    await subject.journal.append(submitted(a))
    forged = JobSucceeded(job_id=a, process_id="echo")
    await subject.put_bytes(event_subject("echo", a, "callback-delivered"), forged.encode())
    caught = await subject.journal.catch_up(a, after=subject.at(1))
    assert (caught.records, caught.through) == ([], subject.at(2))
    with pytest.raises(HistoryChanged):
        await subject.journal.append(progressed(a), expect_last=subject.at(1))
    await subject.journal.append(progressed(a), expect_last=caught.through)
    assert [r.sequence for r in (await subject.journal.catch_up(a)).records] == [
        subject.at(1),
        subject.at(3),
    ]


async def test_catch_up_of_a_job_with_nothing_new_stays_where_it_was(subject: Subject):
    a = subject.job("a")
    await subject.journal.append(submitted(a))
    caught = await subject.journal.catch_up(a, after=subject.at(1))
    assert (caught.records, caught.through) == ([], subject.at(1))


# -- following --------------------------------------------------------------------------------


async def test_follow_from_a_position_in_batches(subject: Subject):
    for n in range(5):
        await subject.journal.append(submitted(subject.job(f"j{n}")))
    batches = []
    following = subject.journal.follow(after=subject.base, batch=2, wait=WAIT)
    async with aclosing(following) as each:
        async for batch in each:
            if not batch:
                break
            batches.append([r.sequence - subject.base for r in batch])
    assert [s for batch in batches for s in batch] == [1, 2, 3, 4, 5]
    assert all(len(batch) <= 2 for batch in batches)


async def test_follow_from_the_first_event(subject: Subject):
    await subject.journal.append(submitted(subject.job("a")))
    found: list[int] = []
    async with aclosing(subject.journal.follow(after=0, wait=WAIT)) as batches:
        async for batch in batches:
            found.extend(record.sequence for record in batch)
            if subject.at(1) in found:
                break
    assert found[0] == 1
    assert found == sorted(found)


async def test_follow_after_a_sequence(subject: Subject):
    for n in range(4):
        await subject.journal.append(submitted(subject.job(f"j{n}")))
    assert await collect(subject, 2, after=subject.at(2)) == [3, 4]


async def test_follow_from_an_instant(subject: Subject):
    for n in range(4):
        await subject.journal.append(submitted(subject.job(f"j{n}")))
    third = (await subject.journal.read(subject.job("j2")))[0]
    assert await collect(subject, 2, since=third.time) == [3, 4]


async def test_follow_with_filters(subject: Subject):
    a, b, c = subject.job("a"), subject.job("b"), subject.job("c")
    await subject.journal.append(submitted(a, process_id="echo"))
    await subject.journal.append(progressed(a, process_id="echo"))
    await subject.journal.append(submitted(b, process_id="count"))
    await subject.journal.append(submitted(c, process_id="spin"))
    echo_and_spin = [submissions_filter("echo"), submissions_filter("spin")]
    assert await collect(subject, 2, filters=echo_and_spin) == [1, 4]
    assert await collect(subject, 3, filters=[submissions_filter("*")]) == [1, 3, 4]
    assert await collect(subject, 2, filters=[f"jobstream.jobs.echo.{a}.>"]) == [1, 2]


async def test_an_idle_follower_is_given_empty_batches_then_new_events(subject: Subject):
    await subject.journal.append(submitted(subject.job("a")))
    following = subject.journal.follow(after=subject.at(1), wait=WAIT)
    async with aclosing(following) as batches:
        assert await anext(batches) == []
        await subject.journal.append(submitted(subject.job("b")))
        while not (batch := await anext(batches)):
            pass
    assert [r.sequence for r in batch] == [subject.at(2)]


async def test_follow_without_a_position_gives_only_new_events(subject: Subject):
    await subject.journal.append(submitted(subject.job("old")))
    async with aclosing(subject.journal.follow(after=None, wait=WAIT)) as batches:
        assert await anext(batches) == []  # the follower is in place: nothing old came
        await subject.journal.append(submitted(subject.job("new")))
        while not (batch := await anext(batches)):
            pass
    assert [(r.sequence, r.event.job_id) for r in batch] == [(subject.at(2), subject.job("new"))]


# -- watching ---------------------------------------------------------------------------------


async def test_watch_is_set_when_the_job_gets_an_event(subject: Subject):
    a = subject.job("a")
    await subject.journal.append(submitted(a))
    async with subject.journal.watch(a) as changed:
        assert not changed.is_set()
        await subject.journal.append(progressed(a))
        await asyncio.wait_for(changed.wait(), 5)


async def test_the_last_sequence_at_an_instant(subject: Subject):
    for n in range(3):
        await subject.journal.append(submitted(subject.job(f"j{n}")))
    second = (await subject.journal.read(subject.job("j1")))[0]
    assert await last_sequence_at(subject.journal, second.time) == subject.at(2)


# -- usage ------------------------------------------------------------------------------------


async def test_usage_counts_every_stored_event(subject: Subject):
    before = await subject.journal.usage()
    big = submitted(subject.job("big"))
    big = big.model_copy(update={"inputs": {"message": "x" * 50_000}})
    await subject.journal.append(big)
    after = await subject.journal.usage()
    assert after.used - before.used >= len(big.encode()), (before, after)
    assert after.capacity is None  # neither sets a limit unless told


async def test_the_in_memory_journal_reports_the_capacity_it_is_given():
    journal = InMemoryJournal(capacity=4096)
    await journal.append(submitted("a"))
    usage = await journal.usage()
    assert usage.capacity == 4096 and 0 < usage.used < 4096
