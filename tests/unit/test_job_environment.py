"""The test JobContext: a process function runs in it as under an executor, and what the
function asks of its job is kept for the test to read."""

import pytest

from jobstream_contracts.events import JobEstimated, JobProgressed
from jobstream_contracts.process import JobCancelled, JobContext, PermanentError
from jobstream_executor.bridge import Bridge, caused_job_id
from jobstream_executor.testing import JobEnvironment
from jobstream_infra.leases import LeaseLost


def both_are_job_contexts(bridge: Bridge, environment: JobEnvironment) -> list[JobContext]:
    """Never called: pyright checks that the executor's context and the test one are both
    JobContexts (a method that drifts from the Protocol fails `dev.py check`)."""
    return [bridge, environment]


def counting(total: int, on_progress, job: JobContext) -> int:
    job.record(JobEstimated, estimate={"periods": total})
    with job.hold("dataset.demo") as lease:
        for done in range(1, total + 1):
            lease.check()
            on_progress(done, total, f"counted {done}")
    return total


def test_a_function_runs_with_its_inputs_progress_and_job():
    job = JobEnvironment(job_id="j1", process_id="count", attempt=2)
    assert job.run(counting, total=3) == 3
    assert job.progress == [(1, 3, "counted 1"), (2, 3, "counted 2"), (3, 3, "counted 3")]
    [estimated] = job.records
    assert isinstance(estimated, JobEstimated) and estimated.estimate == {"periods": 3}
    assert (estimated.job_id, estimated.process_id, estimated.attempt) == ("j1", "count", 2)
    assert job.holds == ["dataset.demo"] and job.held == set()


def test_a_function_without_a_job_parameter_is_called_without_one():
    def plain(word: str, on_progress) -> str:
        on_progress(1, 1)
        return word.upper()

    job = JobEnvironment()
    assert job.run(plain, word="hi") == "HI"
    assert job.progress == [(1, 1, None)]


def test_inputs_that_do_not_fit_the_function_are_a_type_error():
    with pytest.raises(TypeError):
        JobEnvironment().run(counting, total=3, colour="red")


def test_an_async_function_runs_to_its_end():
    async def later(n: int, on_progress, job: JobContext) -> int:
        job.record(JobProgressed, done=n)
        return n * 2

    job = JobEnvironment()
    assert job.run(later, n=4) == 8
    assert [event.done for event in job.records if isinstance(event, JobProgressed)] == [4]


def test_after_a_dismissal_reports_and_records_raise_job_cancelled():
    job = JobEnvironment()
    job.dismiss()
    with pytest.raises(JobCancelled):
        job.on_progress(1, 2)
    with pytest.raises(JobCancelled):
        job.record(JobProgressed, done=1)
    assert job.progress == [] and job.records == []


def test_a_held_resource_is_busy_until_released():
    job = JobEnvironment()
    with job.hold("dataset.demo"), pytest.raises(PermanentError, match="busy"):
        with job.hold("dataset.demo", wait=False):
            pass
    with job.hold("dataset.demo"):
        assert job.held == {"dataset.demo"}


def test_a_lost_lease_fails_its_next_check():
    job = JobEnvironment()
    with job.hold("dataset.demo") as lease:
        lease.check()
        job.lose("dataset.demo")
        with pytest.raises(LeaseLost):
            lease.check()


def test_a_submitted_job_has_the_id_the_executor_would_give_it():
    job = JobEnvironment(job_id="sync-1")
    inputs = {"dataset_id": "demo-monthly"}
    first, again = job.submit("resample", inputs), job.submit("resample", inputs)
    assert first == again == caused_job_id("sync-1", "resample", inputs)
    assert job.submitted == [("resample", inputs), ("resample", inputs)]
