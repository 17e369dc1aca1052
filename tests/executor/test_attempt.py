"""One delivery of a job, carried out in-process: the executor's attempt (decide, start, run,
report progress, end the job once) against the in-memory journal, with a delivery that records
how it was answered. The same code runs on JetStream in tests/integration/test_executor.py and
tests/faults; here each case takes milliseconds.
"""

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from nats.aio.client import Client as NATS
from nats.js.kv import KeyValue

from jobstream_contracts.events import (
    ErrorInfo,
    Event,
    JobDismissed,
    JobFailed,
    JobProgressed,
    JobRetryScheduled,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)
from jobstream_contracts.ogc import OutputDescription, ProcessDescription, RetryPolicy
from jobstream_contracts.process import PermanentError, Process, ProgressCallback
from jobstream_contracts.subjects import event_subject
from jobstream_executor.attempt import handle
from jobstream_executor.runtime import Runtime
from jobstream_infra.leases import Leases
from jobstream_infra.memory_journal import InMemoryJournal
from jobstream_infra.settings import ExecutorSettings

from ..support.deliveries import RecordedDelivery

JOB = "job-1"
# Long enough for any case here; a case that waits this long has failed.
PATIENCE = 10.0


def process(
    function: Callable[..., Any], retry: RetryPolicy | None = None, max_runtime: float | None = None
) -> Process:
    description = ProcessDescription(
        id="work",
        version="1.0.0",
        title="Work",
        outputs={"out": OutputDescription(title="Out", schema={"type": "string"})},
        retryPolicy=retry or RetryPolicy(maxAttempts=3, backoff=[5.0, 10.0]),
        maxRuntime=max_runtime,
    )
    return Process(description, function)


def unconnected_leases() -> Leases:
    """A lease store never connected: no process here holds a lease."""
    js = NATS().jetstream()
    return Leases(
        KeyValue(name="leases", stream="KV_leases", pre="$KV.leases.", js=js, direct=False)
    )


@pytest.fixture
def journal() -> InMemoryJournal:
    return InMemoryJournal()


@pytest.fixture
def pool():
    with ThreadPoolExecutor(2) as threads:
        yield threads


def runtime_of(
    journal: InMemoryJournal, pool, max_payload: int = 1 << 20, **settings: Any
) -> Runtime:
    configured = ExecutorSettings(progress_interval=0.02, ack_wait=0.3, **settings)
    return Runtime(configured, "test", journal, max_payload, unconnected_leases(), pool, {})


async def submit(journal: InMemoryJournal, **inputs: Any) -> RecordedDelivery:
    """The job's submission, stored, and its first delivery."""
    submitted = JobSubmitted(job_id=JOB, process_id="work", inputs=inputs)
    sequence = await journal.append(submitted)
    return RecordedDelivery(submitted.subject, submitted.encode(), sequence)


async def history(journal: InMemoryJournal) -> list[Event]:
    return [record.event for record in await journal.read(JOB)]


def kinds(events: list[Event]) -> list[type[Event]]:
    return [type(event) for event in events]


async def until_recorded(journal: InMemoryJournal, kind: type[Event]) -> Event:
    """The job's first event of ``kind``, once it is stored."""
    async with asyncio.timeout(PATIENCE), journal.watch(JOB) as changed:
        while True:
            changed.clear()
            found = [event for event in await history(journal) if isinstance(event, kind)]
            if found:
                return found[0]
            await changed.wait()


def raising(error: Exception):
    """A process that fails with ``error``."""

    def work(on_progress: ProgressCallback) -> Any:
        raise error

    return work


def gated(reached: threading.Event, go_on: threading.Event, returns: Any = "done"):
    """A process that signals it runs, then waits for the test to let it finish."""

    def work(on_progress: ProgressCallback) -> Any:
        reached.set()
        if not go_on.wait(PATIENCE):
            raise AssertionError("the test never let the process finish")
        return returns

    return work


# -- ending a job -----------------------------------------------------------------------------


async def test_a_successful_attempt_starts_succeeds_and_acks(journal, pool):
    delivery = await submit(journal, message="hi")
    await handle(
        runtime_of(journal, pool), process(lambda message, on_progress: message.upper()), delivery
    )
    events = await history(journal)
    assert kinds(events) == [JobSubmitted, JobStarted, JobSucceeded]
    assert isinstance(events[-1], JobSucceeded) and events[-1].results == {"out": "HI"}
    assert all(event.attempt == 1 for event in events[1:])
    assert delivery.answers == [("ack", None)]


async def test_the_last_progress_is_recorded_before_the_final_event(journal, pool):
    def count(n: int, on_progress: ProgressCallback) -> str:
        for i in range(1, n + 1):
            on_progress(i, n, f"step {i}")
        return "counted"

    delivery = await submit(journal, n=50)
    await handle(runtime_of(journal, pool), process(count), delivery)
    events = await history(journal)
    assert kinds(events)[-2:] == [JobProgressed, JobSucceeded]
    last = events[-2]
    assert isinstance(last, JobProgressed) and (last.done, last.total) == (50, 50)


async def test_a_permanent_error_fails_the_job_and_terminates_the_delivery(journal, pool):
    delivery = await submit(journal)
    await handle(runtime_of(journal, pool), process(raising(PermanentError("never"))), delivery)
    events = await history(journal)
    assert kinds(events) == [JobSubmitted, JobStarted, JobFailed]
    assert isinstance(events[-1], JobFailed) and events[-1].error.detail == "never"
    assert delivery.answers == [("term", None)]


async def test_a_rerun_of_another_version_fails_without_starting(journal, pool):
    # The executor was upgraded after the gateway checked the rerun's version.
    rerun = JobSubmitted(job_id=JOB, process_id="work", process_version="0.9", rerun_of="job-0")
    delivery = RecordedDelivery(rerun.subject, rerun.encode(), await journal.append(rerun))
    runtime = runtime_of(journal, pool)
    runtime.versions["work"] = "1.0.0"
    await handle(runtime, process(lambda on_progress: "x"), delivery)
    events = await history(journal)
    assert kinds(events) == [JobSubmitted, JobFailed]
    assert isinstance(events[-1], JobFailed) and events[-1].error.detail == (
        "this rerun of job job-0 needs work at version 0.9; this executor runs version 1.0.0"
    )


async def test_inputs_that_do_not_fit_fail_the_job_without_starting_it(journal, pool):
    delivery = await submit(journal, unexpected=1)
    await handle(runtime_of(journal, pool), process(lambda on_progress: "x"), delivery)
    assert kinds(await history(journal)) == [JobSubmitted, JobFailed]
    assert delivery.answers == [("term", None)]


async def test_a_retryable_error_schedules_a_retry_and_naks_with_its_delay(journal, pool):
    delivery = await submit(journal)
    await handle(runtime_of(journal, pool), process(raising(RuntimeError("again"))), delivery)
    events = await history(journal)
    assert kinds(events) == [JobSubmitted, JobStarted, JobRetryScheduled]
    assert isinstance(events[-1], JobRetryScheduled) and events[-1].delay == 5.0
    assert delivery.answers == [("nak", 5.0)]


async def test_the_last_allowed_attempt_fails_for_good(journal, pool):
    work = process(raising(RuntimeError("still")), RetryPolicy(maxAttempts=2, backoff=[1.0]))
    delivery = await submit(journal)
    await handle(runtime_of(journal, pool), work, delivery)
    second = RecordedDelivery(delivery.subject, delivery.data, delivery.sequence, attempt=2)
    await handle(runtime_of(journal, pool), work, second)
    assert kinds(await history(journal))[-2:] == [JobStarted, JobFailed]
    assert (delivery.answers, second.answers) == ([("nak", 1.0)], [("term", None)])


async def test_results_too_large_for_an_event_fail_the_job(journal, pool):
    delivery = await submit(journal, message="x" * 10_000)
    await handle(
        runtime_of(journal, pool, max_payload=8192),
        process(lambda message, on_progress: message),
        delivery,
    )
    events = await history(journal)
    assert kinds(events) == [JobSubmitted, JobStarted, JobFailed]
    assert isinstance(events[-1], JobFailed) and "bytes" in events[-1].error.detail
    assert delivery.answers == [("term", None)]


# -- deliveries after the first ---------------------------------------------------------------


async def test_a_delivery_of_a_final_job_is_acked_and_runs_nothing(journal, pool):
    delivery = await submit(journal)
    await journal.append(JobDismissed(job_id=JOB, process_id="work"))
    ran = threading.Event()
    await handle(runtime_of(journal, pool), process(lambda on_progress: ran.set()), delivery)
    assert kinds(await history(journal)) == [JobSubmitted, JobDismissed]
    assert not ran.is_set()
    assert delivery.answers == [("ack", None)]


async def test_a_second_attempt_after_a_crash_runs_the_job_once_more(journal, pool):
    delivery = await submit(journal, message="again")
    # The first attempt's executor died after starting the job.
    await journal.append(JobStarted(job_id=JOB, process_id="work", attempt=1, executor="gone"))
    second = RecordedDelivery(delivery.subject, delivery.data, delivery.sequence, attempt=2)
    await handle(runtime_of(journal, pool), process(lambda message, on_progress: message), second)
    events = await history(journal)
    assert kinds(events) == [JobSubmitted, JobStarted, JobStarted, JobSucceeded]
    assert [event.attempt for event in events[2:]] == [2, 2]
    assert second.answers == [("ack", None)]


async def test_an_unreadable_submission_fails_the_job_and_is_terminated(journal, pool):
    subject = event_subject("work", JOB, "submitted")
    sequence = journal.append_bytes(subject, b"{broken")
    delivery = RecordedDelivery(subject, b"{broken", sequence)
    await handle(runtime_of(journal, pool), process(lambda on_progress: "x"), delivery)
    failed = [e for e in journal_events_after(journal, sequence) if isinstance(e, JobFailed)]
    assert [e.error.type for e in failed] == ["UnreadableSubmission"]
    assert delivery.answers == [("term", None)]


async def test_a_submission_of_a_newer_jobstream_is_left_for_an_upgraded_executor(journal, pool):
    subject = event_subject("work", JOB, "submitted")
    data = (
        b'{"type": "JobSubmitted", "schema_version": 99, "job_id": "job-1", "process_id": "work"}'
    )
    sequence = journal.append_bytes(subject, data)
    runtime = runtime_of(journal, pool)
    delivery = RecordedDelivery(subject, data, sequence)
    await handle(runtime, process(lambda on_progress: "x"), delivery)
    assert delivery.answers == [("nak", runtime.settings.ack_wait)]
    assert await journal.last_sequence() == sequence


async def test_a_submission_off_its_subject_is_dropped_and_no_job_is_recorded(journal, pool):
    # Another job's submission stored on this job's subject: neither job is this executor's to
    # fail, so nothing is written for either.
    subject = event_subject("work", JOB, "submitted")
    data = JobSubmitted(job_id="job-2", process_id="work").encode()
    sequence = journal.append_bytes(subject, data)
    delivery = RecordedDelivery(subject, data, sequence)
    await handle(runtime_of(journal, pool), process(lambda on_progress: "x"), delivery)
    assert delivery.answers == [("term", None)]
    assert await journal.last_sequence() == sequence


async def test_a_success_forged_on_a_callback_subject_neither_ends_nor_stalls_the_job(
    journal, pool
):
    # Stored while the attempt runs, after the history it read: its outcome's conditional
    # append must name the forgery's sequence (which JetStream counts), not loop on it.
    reached, go_on = threading.Event(), threading.Event()
    delivery = await submit(journal)
    attempt = asyncio.create_task(
        handle(runtime_of(journal, pool), process(gated(reached, go_on)), delivery)
    )
    await until_recorded(journal, JobStarted)
    forged = JobSucceeded(job_id=JOB, process_id="work", results={"out": "forged"})
    journal.append_bytes(event_subject("work", JOB, "callback-delivered"), forged.encode())
    go_on.set()
    await asyncio.wait_for(attempt, PATIENCE)
    events = await history(journal)
    assert kinds(events) == [JobSubmitted, JobStarted, JobSucceeded]
    assert "forged" not in events[-1].model_dump_json()
    assert delivery.answers == [("ack", None)]


def journal_events_after(journal: InMemoryJournal, sequence: int) -> list[Event]:
    """The readable events stored after ``sequence`` (the job's history holds bytes that are
    none)."""
    records = (stored.recorded() for stored in journal.stored[sequence:])
    return [record.event for record in records if record is not None]


# -- the maximum runtime ----------------------------------------------------------------------


def busy_until_stopped(stopped: threading.Event):
    """A process that reports progress until its job is stopped (on_progress raises)."""

    def busy(on_progress: ProgressCallback) -> str:
        try:
            for step in range(int(PATIENCE / 0.005)):
                on_progress(step, None, "busy")
                time.sleep(0.005)
            return "ran to the end"
        finally:
            stopped.set()

    return busy


async def test_a_job_past_its_maximum_runtime_is_stopped_and_fails_for_good(journal, pool):
    stopped = threading.Event()
    delivery = await submit(journal)
    work = process(busy_until_stopped(stopped), max_runtime=0.2)
    began = time.monotonic()
    await asyncio.wait_for(handle(runtime_of(journal, pool), work, delivery), PATIENCE)
    assert stopped.is_set() and time.monotonic() - began < 2
    events = await history(journal)
    assert kinds(events)[:2] == [JobSubmitted, JobStarted] and JobSucceeded not in kinds(events)
    failed = events[-1]
    assert isinstance(failed, JobFailed) and failed.error.type == "MaxRuntimeExceeded"
    assert failed.error.detail == "ran past its maximum runtime of 0.2 s; stopped"
    assert delivery.answers == [("term", None)]


async def test_without_a_limit_of_its_own_a_process_gets_the_executors(journal, pool):
    stopped = threading.Event()
    delivery = await submit(journal)
    runtime = runtime_of(journal, pool, max_runtime=0.2)
    await asyncio.wait_for(handle(runtime, process(busy_until_stopped(stopped)), delivery), 5)
    failed = (await history(journal))[-1]
    assert isinstance(failed, JobFailed) and "0.2 s" in failed.error.detail


async def test_a_timeout_of_the_process_own_is_its_error_not_the_runtime_limit(journal, pool):
    delivery = await submit(journal)
    slow_source = process(raising(TimeoutError("the source did not answer")), max_runtime=60)
    await handle(runtime_of(journal, pool), slow_source, delivery)
    retry = (await history(journal))[-1]
    assert isinstance(retry, JobRetryScheduled) and retry.error.type == "TimeoutError"


async def test_a_job_within_its_maximum_runtime_runs_to_its_end(journal, pool):
    delivery = await submit(journal, message="hi")
    quick = process(lambda message, on_progress: message, max_runtime=PATIENCE)
    await handle(runtime_of(journal, pool, max_runtime=0.01), quick, delivery)
    assert kinds(await history(journal))[-1] is JobSucceeded


async def test_a_job_that_does_not_stop_is_failed_and_its_slot_held_until_it_returns(journal, pool):
    reached, go_on = threading.Event(), threading.Event()
    delivery = await submit(journal)
    # Never reports progress, so it cannot be asked to stop: failed after the grace.
    work = process(gated(reached, go_on), max_runtime=0.2)
    attempt = asyncio.create_task(
        handle(runtime_of(journal, pool, shutdown_grace=0.2), work, delivery)
    )
    failed = await until_recorded(journal, JobFailed)
    assert isinstance(failed, JobFailed) and failed.error.type == "MaxRuntimeExceeded"
    assert "did not stop" in failed.error.detail
    assert delivery.answers == [("term", None)]
    await asyncio.sleep(0.1)  # the attempt still holds its slot: its thread runs on
    assert not attempt.done()
    go_on.set()
    await asyncio.wait_for(attempt, PATIENCE)
    assert kinds(await history(journal))[-1] is JobFailed  # what the thread returned is dropped


# -- racing writers ---------------------------------------------------------------------------


async def test_a_job_dismissed_while_running_stops_and_is_acked(journal, pool):
    stopped = threading.Event()

    def busy(on_progress: ProgressCallback) -> str:
        try:
            step = 0
            while True:  # until the dismissal cancels it: on_progress raises JobCancelled
                step += 1
                on_progress(step, None, "busy")
                time.sleep(0.005)
        finally:
            stopped.set()

    delivery = await submit(journal)
    attempt = asyncio.create_task(handle(runtime_of(journal, pool), process(busy), delivery))
    await until_recorded(journal, JobStarted)
    await journal.append(JobDismissed(job_id=JOB, process_id="work"))
    await asyncio.wait_for(attempt, PATIENCE)
    assert stopped.is_set()
    events = await history(journal)
    assert kinds(events)[-1] is JobDismissed
    assert not {JobSucceeded, JobFailed} & set(kinds(events))
    assert delivery.answers == [("ack", None)]


async def run_while_another_writes(journal, pool, meanwhile: Event) -> RecordedDelivery:
    """An attempt whose process returns only once ``meanwhile`` was stored after its start."""
    reached, go_on = threading.Event(), threading.Event()
    delivery = await submit(journal)
    attempt = asyncio.create_task(
        handle(runtime_of(journal, pool), process(gated(reached, go_on)), delivery)
    )
    await until_recorded(journal, JobStarted)
    await journal.append(meanwhile)
    go_on.set()
    await asyncio.wait_for(attempt, PATIENCE)
    return delivery


async def test_a_final_event_written_meanwhile_is_not_followed_by_another(journal, pool):
    # Another writer (a zombie's delivery) ended the job while this attempt ran.
    error = ErrorInfo(type="RuntimeError", detail="elsewhere")
    failed = JobFailed(job_id=JOB, process_id="work", error=error)
    delivery = await run_while_another_writes(journal, pool, failed)
    assert kinds(await history(journal)) == [JobSubmitted, JobStarted, JobFailed]
    assert delivery.answers == [("ack", None)]


async def test_an_attempt_superseded_by_a_newer_delivery_leaves_the_message_alone(journal, pool):
    # The delivery was given up on (AckWait) and delivered again elsewhere, which started it.
    started = JobStarted(job_id=JOB, process_id="work", attempt=2, executor="other")
    delivery = await run_while_another_writes(journal, pool, started)
    assert kinds(await history(journal)) == [JobSubmitted, JobStarted, JobStarted]
    assert delivery.answers == []


async def test_of_two_attempts_racing_to_the_end_one_ends_the_job(journal, pool):
    reached = [threading.Event(), threading.Event()]
    go_on = threading.Event()
    first = await submit(journal)
    second = RecordedDelivery(first.subject, first.data, first.sequence, attempt=1)
    attempts = [
        asyncio.create_task(
            handle(runtime_of(journal, pool), process(gated(reached[n], go_on, f"by {n}")), d)
        )
        for n, d in enumerate((first, second))
    ]
    await asyncio.to_thread(lambda: all(r.wait(PATIENCE) for r in reached))
    go_on.set()
    await asyncio.wait_for(asyncio.gather(*attempts), PATIENCE)
    finals = [e for e in await history(journal) if isinstance(e, (JobSucceeded, JobFailed))]
    assert len(finals) == 1
    assert sorted(first.answers + second.answers) == [("ack", None), ("ack", None)]
