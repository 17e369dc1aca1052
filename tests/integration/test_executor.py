"""Executors: competing consumers, heartbeats, bounded progress and a concurrency limit."""

import signal
import time
from collections import Counter

import pytest

from ..support.overlap import most_at_once
from ..support.processes import TICK_MAX_RUNTIME
from ..support.stack import Stack, own_server_stack, wait_gateway
from ..support.waiting import eventually


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A projector and a gateway on their own nats-server, shared by the module: each test
    starts the executors it is about (their settings are theirs alone) on its own jobs."""
    with own_server_stack(tmp_path_factory.mktemp("executors")) as stack:
        stack.start("projector", "gateway", wait=False)
        # Serving before the first test: its wait is then for its executors alone.
        wait_gateway(stack.url, stack.processes["gateway"][0])
        yield stack


@pytest.fixture
def stack(served: Stack):
    """The shared stack, whose executors are all stopped again after the test."""
    try:
        yield served
    finally:
        served.stop("executor")


def test_two_executors_share_the_work_and_each_job_runs_once(stack):
    # Both fetching before the first job, or the first to start may run them all. Earlier
    # tests' executors wrote to the same log files.
    running = stack.log("executor").count("executor running")
    stack.start_component("executor")
    stack.start_component("executor")
    eventually(
        lambda: stack.log("executor").count("executor running") == running + 2,
        60,
        lambda: f"two executors running:\n{stack.log('executor')[-4000:]}",
    )
    stack.wait_ready()
    ids = [stack.submit("echo", {"message": str(i), "pause": 0.05}) for i in range(40)]
    for job_id in ids:
        assert stack.wait_job(job_id)["status"] == "successful"
    events = [e for e in stack.events() if e.job_id in set(ids)]
    succeeded = Counter(e.job_id for e in events if e.type == "JobSucceeded")
    assert set(succeeded) == set(ids) and set(succeeded.values()) == {1}
    workers = {e.executor for e in events if e.type == "JobStarted"}
    assert len(workers) == 2, "both executors should have run jobs"


def test_a_job_past_its_maximum_runtime_fails_while_one_without_runs_on(stack):
    stack.start_component("executor")
    stack.wait_ready(("tick", "count"))
    unlimited = stack.submit("count", {"n": 600, "interval": 0.05})
    limited = stack.submit("tick", {"seconds": 60})
    failed = stack.wait_job(limited, timeout=30)
    assert failed["status"] == "failed", failed
    assert failed["errors"][-1]["type"] == "MaxRuntimeExceeded"
    assert failed["message"] == f"ran past its maximum runtime of {TICK_MAX_RUNTIME:g} s; stopped"
    # Stopped within its limit and the executor's grace, not after the minute it asked for.
    stopped = [e for e in stack.events(limited) if e.type in ("JobStarted", "JobFailed")]
    assert (stopped[-1].time - stopped[0].time).total_seconds() < TICK_MAX_RUNTIME + 5
    assert stack.http.get(f"/jobs/{unlimited}").json()["status"] == "running"
    assert stack.http.delete(f"/jobs/{unlimited}").status_code == 200


def test_heartbeats_keep_a_job_longer_than_ack_wait_from_redelivery(stack):
    # The executor sets its consumers' AckWait to its own as it starts.
    stack.start_component("executor", ack_wait=1.5)
    stack.wait_ready(("hold",))
    job_id = stack.submit("hold", {"seconds": 5})
    status = stack.wait_job(job_id, timeout=30)
    assert status["status"] == "successful" and status["attempt"] == 1
    types = [e.type for e in stack.events(job_id)]
    assert types.count("JobStarted") == 1 and types.count("JobSucceeded") == 1


def test_progress_events_are_bounded_and_the_last_value_is_kept(stack):
    stack.start_component("executor", progress_interval=0.2)
    stack.wait_ready(("spin",))
    job_id = stack.submit("spin", {"n": 1_000_000})
    status = stack.wait_job(job_id, timeout=120)
    assert status["status"] == "successful"
    events = stack.events(job_id)
    progressed = [e for e in events if e.type == "JobProgressed"]
    started = next(e for e in events if e.type == "JobStarted").time
    finished = next(e for e in events if e.type == "JobSucceeded").time
    allowed = (finished - started).total_seconds() / 0.2 + 2
    assert 1 <= len(progressed) <= allowed, (len(progressed), allowed)
    assert (progressed[-1].done, progressed[-1].total) == (1_000_000, 1_000_000)
    assert status["done"] == 1_000_000 and status["message"] == "step 1000000"


@pytest.mark.parametrize("concurrency", [2, 8])
def test_an_executor_runs_exactly_its_concurrency_at_once(stack, concurrency):
    stack.start_component("executor", executor_concurrency=concurrency)
    stack.wait_ready(("hold",))
    ids = [stack.submit("hold", {"seconds": 1.0}) for _ in range(concurrency * 3)]
    for job_id in ids:
        assert stack.wait_job(job_id)["status"] == "successful"
    assert most_at_once(spans_of(stack.events(), ids).values()) == concurrency


def spans_of(events, ids) -> dict:
    """(started, succeeded) of each of the jobs ``ids``."""
    started = {e.job_id: e.time for e in events if e.type == "JobStarted" and e.job_id in ids}
    ended = {e.job_id: e.time for e in events if e.type == "JobSucceeded" and e.job_id in ids}
    return {job_id: (started[job_id], ended[job_id]) for job_id in ids}


def test_sigterm_hands_a_running_job_to_another_executor(stack):
    stack.start_component("executor")
    stack.wait_ready(("count",))
    job_id = stack.submit("count", {"n": 60, "interval": 0.05})
    stack.wait_job(job_id, statuses=("running",))
    executor = stack.processes["executor"][0]
    began = time.monotonic()
    stack.stop("executor", sig=signal.SIGTERM)
    assert executor.returncode == 0
    assert time.monotonic() - began < 5
    assert stack.http.get(f"/jobs/{job_id}").json()["status"] == "running"
    stack.start_component("executor")
    status = stack.wait_job(job_id, timeout=30)
    assert status["status"] == "successful" and status["attempt"] == 2
    types = [e.type for e in stack.events(job_id)]
    assert types.count("JobStarted") == 2 and types.count("JobSucceeded") == 1


def _started(stack, job_id):
    return next(e for e in stack.events(job_id) if e.type == "JobStarted")


def _succeeded(stack, job_id):
    return next(e for e in stack.events(job_id) if e.type == "JobSucceeded")


def _waiting(stack, job_id) -> dict:
    """The job's status once it says it waits for a slot."""
    return eventually(
        lambda: (s := stack.http.get(f"/jobs/{job_id}").json()).get("message") and s, 30
    )


def test_a_job_waits_for_its_key_out_of_the_executors_slots(stack):
    stack.start_component("executor", executor_concurrency=2)
    stack.wait_ready(("keyed",))
    first = stack.submit("keyed", {"dataset": "d1", "provider": "p1", "seconds": 4})
    stack.wait_job(first, statuses=("running",))
    second = stack.submit("keyed", {"dataset": "d1", "provider": "p1", "seconds": 0.1})
    waiting = _waiting(stack, second)
    assert waiting["status"] == "accepted"
    assert waiting["message"] == "waiting for a dataset:d1 slot: 1 of 1 in use"
    # The waiting job lent its executor slot back: a job of other keys runs beside the first.
    other = stack.submit("keyed", {"dataset": "d2", "provider": "p2", "seconds": 0.1})
    assert stack.wait_job(other)["status"] == "successful"
    assert stack.http.get(f"/jobs/{first}").json()["status"] == "running"
    dismissed = stack.submit("keyed", {"dataset": "d1", "provider": "p1", "seconds": 0.1})
    _waiting(stack, dismissed)
    assert stack.http.delete(f"/jobs/{dismissed}").status_code == 200
    done = stack.wait_job(second, timeout=30)
    assert done["status"] == "successful" and done["attempt"] == 1
    assert _started(stack, second).time >= _succeeded(stack, first).time
    assert _started(stack, second).holds == {"dataset:d1": 1, "provider:p1": 2}
    assert [e.type for e in stack.events(dismissed)].count("JobStarted") == 0


def test_a_providers_limit_is_shared_by_its_datasets(stack):
    stack.start_component("executor", executor_concurrency=4)
    stack.wait_ready(("keyed",))
    ids = [
        stack.submit("keyed", {"dataset": f"q{i}", "provider": "quota", "seconds": 1.0})
        for i in range(5)
    ]
    messages = set()

    def all_final() -> bool:
        for job_id in ids:
            messages.add(stack.http.get(f"/jobs/{job_id}").json().get("message"))
        return all(stack.http.get(f"/jobs/{i}").json()["status"] == "successful" for i in ids)

    eventually(all_final, 60, "five jobs of one provider to succeed")
    assert "waiting for a provider:quota slot: 2 of 2 in use" in messages
    assert most_at_once(spans_of(stack.events(), ids).values()) == 2


def test_a_high_priority_job_behind_fifty_queued_starts_next(stack):
    stack.start_component("executor", executor_concurrency=1)
    stack.wait_ready(("hold",))
    queued = [stack.submit("hold", {"seconds": 0.1}) for _ in range(50)]
    urgent = stack.submit("hold", {"seconds": 0.1}, priority="high")
    for job_id in [*queued, urgent]:
        assert stack.wait_job(job_id, timeout=60)["status"] == "successful"
    events = stack.events()
    started = {e.job_id: e.time for e in events if e.type == "JobStarted"}
    submitted = next(e.time for e in events if e.type == "JobSubmitted" and e.job_id == urgent)
    before = sum(started[job_id] < started[urgent] for job_id in queued)
    already = sum(started[job_id] < submitted for job_id in queued)
    print(f"{already} of 50 queued jobs had started when it came; {before} before it")
    # Behind the one running when it came, and at most one fetched for that slot meanwhile.
    assert before - already <= 2 and before < 25, (already, before)
