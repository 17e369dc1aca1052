"""Scenarios 2 and 3: retries are redeliveries that follow the policy; failures end clearly."""

import time

from jobstream_contracts.events import JobRetryScheduled, JobStarted


def test_a_transient_failure_is_retried_on_the_policys_schedule(make_stack, tmp_path):
    stack = make_stack().start()
    job_id = stack.submit("flaky", {"marker": str(tmp_path / "tries"), "failures": 2})
    status = stack.wait_job(job_id, timeout=30)
    assert status["status"] == "successful" and status["attempt"] == 3
    assert stack.http.get(f"/jobs/{job_id}/results").json() == 3
    events = stack.events(job_id)
    retries = [e for e in events if isinstance(e, JobRetryScheduled)]
    starts = [e for e in events if isinstance(e, JobStarted)]
    assert [(r.attempt, r.delay) for r in retries] == [(1, 0.5), (2, 1.0)]
    assert [s.attempt for s in starts] == [1, 2, 3]
    for retry, next_start in zip(retries, starts[1:], strict=True):
        waited = (next_start.time - retry.time).total_seconds()
        # Redelivered no sooner than the backoff, and without a long stall after it.
        assert retry.delay <= waited < retry.delay + 1.5, (retry.delay, waited)
    assert retries[0].error.type == "ConnectionError"


def test_a_job_that_always_fails_ends_failed_after_max_attempts(make_stack):
    stack = make_stack().start()
    job_id = stack.submit("fail", {"message": "no disk"})
    status = stack.wait_job(job_id, timeout=30)
    assert status["status"] == "failed" and status["attempt"] == 3
    assert status["message"] == "no disk"
    events = stack.events(job_id)
    assert [e.type for e in events].count("JobRetryScheduled") == 2
    assert [e.type for e in events].count("JobFailed") == 1
    time.sleep(3)  # longer than any backoff: a redelivery would have started by now
    assert len(stack.events(job_id)) == len(events)
    assert [(e["attempt"], e["detail"]) for e in status["errors"]] == [
        (1, "no disk"),
        (2, "no disk"),
        (3, "no disk"),
    ]
    listed = stack.wait_view(job_id)  # the view holds the same history
    assert listed["errors"] == status["errors"]


def test_a_permanent_error_fails_at_once(make_stack):
    stack = make_stack().start()
    job_id = stack.submit("refuse", {"message": "bad bbox"})
    status = stack.wait_job(job_id)
    assert status["status"] == "failed" and status["attempt"] == 1
    assert [e.type for e in stack.events(job_id)] == ["JobSubmitted", "JobStarted", "JobFailed"]
