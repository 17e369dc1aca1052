"""Concurrency limits by key on three executors, one SIGKILLed mid-run: the limits hold at
every moment, the dead executor's slots come free within the lease TTL, no job is lost and
none finishes twice."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from ..support.overlap import most_at_once
from ..support.waiting import eventually
from .conftest import final_events

LEASE_TTL = 3.0
# A waiting job looks for a free slot about every second (attempt.SLOT_LOOK, jittered).
LOOK = 1.25


def test_key_limits_hold_across_executors_while_one_is_killed(make_stack):
    stack = make_stack(executor_concurrency=2, ack_wait=LEASE_TTL, lease_ttl=LEASE_TTL)
    stack.start("projector", "gateway", wait=False)
    for _ in range(3):
        stack.start_component("executor")
    stack.wait_ready(("keyed",))
    # Six datasets of two providers, two jobs each: one writer per dataset alone would let
    # three jobs of a provider run at once, and its limit is two.
    inputs = [{"dataset": f"d{i}", "provider": f"p{i % 2}", "seconds": 1.5} for i in range(6)] * 2
    ids = [stack.submit("keyed", job_inputs) for job_inputs in inputs]
    first = eventually(lambda: _first_started(stack, ids), 30, "a job to start")
    executors = stack.processes["executor"]
    victim = next(i for i, p in enumerate(executors) if first.executor.endswith(f"-{p.pid}"))
    killed_at = datetime.now(UTC)
    stack.kill_one("executor", victim)

    for job_id in ids:
        assert stack.wait_job(job_id, timeout=90)["status"] == "successful"
    events = [e for e in stack.events() if e.job_id in set(ids)]
    assert set(final_events(events).values()) == {1}
    runs = _runs(events, killed_at)
    assert len(runs[first.job_id]) == 2, "the killed executor's job ran once more"
    by_key = defaultdict(list)
    for job_runs in runs.values():
        for span, holds in job_runs:
            for key in holds:
                by_key[key].append(span)
    peaks = {key: most_at_once(spans) for key, spans in by_key.items()}
    print("most at once, by key:", peaks)
    assert all(peaks[f"dataset:d{i}"] == 1 for i in range(6))
    # The provider limit was reached, and never passed.
    assert peaks["provider:p0"] == peaks["provider:p1"] == 2
    # The dead attempt's dataset slot was taken again within the lease TTL and a look.
    dataset = next(key for key in first.holds if key.startswith("dataset:"))
    later = [span[0] for span, holds in _all(runs) if dataset in holds and span[0] > killed_at]
    freed = min(later) - killed_at
    print(f"the killed job's dataset slot was taken again {freed.total_seconds():.1f} s after")
    assert freed < timedelta(seconds=LEASE_TTL + LOOK + 1.5)


def _first_started(stack, ids):
    return next((e for e in stack.events() if e.type == "JobStarted" and e.job_id in ids), None)


def _runs(events, killed_at: datetime) -> dict:
    """Each job's attempts as ((start, end), keys held). An attempt with no end of its own
    ended when its executor was killed."""
    ended = {(e.job_id, e.attempt): e.time for e in events if e.type == "JobSucceeded"}
    runs = defaultdict(list)
    for e in events:
        if e.type == "JobStarted":
            end = ended.get((e.job_id, e.attempt), killed_at)
            runs[e.job_id].append(((e.time, end), e.holds))
    return runs


def _all(runs: dict):
    return [run for job_runs in runs.values() for run in job_runs]
