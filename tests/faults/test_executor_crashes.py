"""Scenario 1: executors SIGKILLed mid-job, repeatedly: every job succeeds exactly once."""

import random
import time

import pytest

from .conftest import final_events


def _storm(make_stack, jobs: int, kills: int, pause: float) -> dict:
    stack = make_stack(ack_wait=2, executor_concurrency=4).start("projector", "gateway", wait=False)
    stack.start_component("executor")
    stack.start_component("executor")
    stack.wait_ready()
    ids = [stack.submit("echo", {"message": str(i), "pause": pause}) for i in range(jobs)]
    rng = random.Random(7)
    killed = 0
    while killed < kills:
        time.sleep(rng.uniform(0.5, 1.0))
        stack.kill_one("executor", rng.randrange(2))
        killed += 1
        stack.start_component("executor")
    statuses = {job_id: stack.wait_job(job_id, timeout=120)["status"] for job_id in ids}
    events = stack.events()
    finals = final_events(events)
    redelivered = {e.job_id for e in events if e.type == "JobStarted" and e.attempt > 1}
    report = dict(
        jobs=jobs,
        kills=killed,
        redelivered=len(redelivered),
        successful=sum(s == "successful" for s in statuses.values()),
        lost=sum(job_id not in finals for job_id in ids),
        finished_twice=sum(finals[job_id] > 1 for job_id in ids),
    )
    print("executor SIGKILL storm:", report)
    assert report["successful"] == jobs and report["lost"] == 0
    assert report["finished_twice"] == 0
    assert report["redelivered"] > 0, "no kill hit a running job; the test proved nothing"
    return report


def test_sigkilled_executors_lose_no_job_and_finish_none_twice(make_stack):
    _storm(make_stack, jobs=200, kills=6, pause=0.3)


@pytest.mark.slow
def test_a_long_sigkill_storm(make_stack):
    _storm(make_stack, jobs=1000, kills=30, pause=0.2)
