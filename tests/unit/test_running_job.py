"""The progress slot a process writes to, from its own thread."""

from typing import Any

import pytest

from jobstream_contracts.process import JobCancelled
from jobstream_executor.running import Progress, RunningJob


def test_reports_are_coerced_in_the_callers_thread():
    job = RunningJob("j", "p", 1)
    # Processes are untyped callers: a number as message is stored as text, not failed on
    # publish, and a done that is no number fails in the caller's thread.
    number_message: Any = 5
    job.report(3, 10, number_message)
    assert job.unpublished() == Progress(3.0, 10.0, "5")
    not_a_number: Any = "three"
    with pytest.raises((TypeError, ValueError)):
        job.report(not_a_number)


def test_only_the_latest_unpublished_report_is_returned_once():
    job = RunningJob("j", "p", 1)
    for i in range(1, 1001):
        job.report(i, 1000)
    assert job.unpublished() == Progress(1000.0, 1000.0, None)
    assert job.unpublished() is None


def test_a_cancelled_job_raises_at_its_next_report():
    job = RunningJob("j", "p", 1)
    job.cancel()
    with pytest.raises(JobCancelled):
        job.report(1)
    assert not job.released


def test_a_released_job_is_cancelled_and_marked_for_redelivery():
    job = RunningJob("j", "p", 1)
    job.release()
    assert job.released and job.cancelled
