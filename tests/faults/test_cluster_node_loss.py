"""Node-loss tests 1-4 of issue #13, on its deployment (tests/support/deployment.py): a
three-node R3 cluster, two gateways, three executors, two projectors, the PostgreSQL view.

Clients submit across both gateways, each retrying a refused request on the other with the same
Idempotency-Key. Whatever is lost, the end state is the same: every job answered 201 is in the
stream once, ends successful exactly once (final events counted in the stream), was readable
from the other gateway right after its 201, and the view equals a rebuild.
"""

import signal
import time

import pytest

from jobstream_contracts.events import JobSubmitted, JobSucceeded

from ..support.clients import Clients, Outcome
from ..support.deployment import PROJECTOR_ACTIVE, Deployment
from ..support.rebuild import job_rows, rebuilt_view, wait_projected
from .conftest import final_events

# Enough that clients are submitting before, during and after each fault (the stream's
# election takes ~5 s; the cluster accepts ~34 jobs/s here): a third are accepted before it,
# the rest wait out the election. 1,000 and 300 proved no more than 150, at more minutes.
JOBS = 150
# The longest a node stays stopped should no 201 show the stream moving on without it sooner
# (both gateways may be connected to the stopped node): past JetStream's Raft election
# timeout (4-9 s), so the others elect.
STOPPED_AT_MOST = 12.0

# Each test starts fourteen processes and runs up to 150 jobs through them on two cores.
pytestmark = pytest.mark.timeout(420)


@pytest.fixture
def deployment(tmp_path, postgres_url):
    with Deployment(tmp_path, postgres_url) as running:
        yield running


def _assert_the_end_state(deployment: Deployment, outcome: Outcome, tmp_path) -> None:
    stack = deployment.stack
    assert stack is not None
    jobs = set(outcome.accepted)
    print(f"\n{len(jobs)} jobs accepted; refused on the way: {dict(outcome.refusals)}")
    assert not outcome.given_up, f"never accepted: {outcome.given_up[:5]}"
    assert not outcome.unread, f"answered 201, then 404 on the other gateway: {outcome.unread}"
    wait_projected(stack, sorted(jobs))
    events = stack.events()
    # Retries with the same key made no second job, and no 201 went unrecorded.
    assert {e.job_id for e in events if isinstance(e, JobSubmitted)} == jobs
    finals = final_events(events)
    assert all(finals[job] == 1 for job in jobs), [j for j in jobs if finals[j] != 1][:5]
    assert {e.job_id for e in events if isinstance(e, JobSucceeded)} == jobs
    live, fresh = job_rows(stack.database_url), job_rows(rebuilt_view(stack, tmp_path))
    assert len(live) == len(jobs) and live == fresh


def test_1_killing_the_stream_leader_loses_no_accepted_job(deployment, tmp_path):
    clients = Clients(deployment.gateways, JOBS).start()
    clients.wait_accepted(JOBS // 3)
    leader = deployment.stream_leader()
    leader.kill()
    killed_at = time.monotonic()
    clients.wait_accepted(2 * JOBS // 3)
    leader.start()
    outcome = clients.join()
    first_201 = clients.accepted_after(killed_at)
    assert first_201 is not None
    print(f"\nleader SIGKILLed: the next 201 {first_201 - killed_at:.2f} s later")
    deployment.wait_caught_up()
    _assert_the_end_state(deployment, outcome, tmp_path)


def test_2_a_node_stopped_past_the_election_timeout_rejoins(deployment, tmp_path):
    clients = Clients(deployment.gateways, JOBS).start()
    clients.wait_accepted(JOBS // 3)
    stopped = deployment.stream_leader()
    assert stopped.process is not None
    stopped.process.send_signal(signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:
        elected = deployment.wait_new_leader(stopped, timeout=30)
        elected_at = time.monotonic()
        print(f"\nleader SIGSTOPped: {elected} elected {elected_at - stopped_at:.1f} s later")
        # A 201 after the election is a write the others committed without the stopped node,
        # which it must catch up on when it rejoins.
        while clients.accepted_after(elected_at) is None:
            if time.monotonic() > stopped_at + STOPPED_AT_MOST:
                break
            time.sleep(0.05)
        moved_on = clients.accepted_after(elected_at) is not None
        print(f"SIGCONT {time.monotonic() - stopped_at:.1f} s after SIGSTOP, 201s: {moved_on}")
    finally:
        stopped.process.send_signal(signal.SIGCONT)
    outcome = clients.join()
    deployment.wait_caught_up()
    _assert_the_end_state(deployment, outcome, tmp_path)


def test_3_the_standby_projector_takes_over_on_the_cluster(deployment, tmp_path):
    clients = Clients(deployment.gateways, JOBS // 2).start()
    clients.wait_accepted(JOBS // 6)
    assert deployment.stack is not None
    active, standby = deployment.active_projector(), deployment.standby_projector()
    deployment.stack.processes["projector"][active].kill()
    deployment.wait_log("projector", standby, PROJECTOR_ACTIVE, timeout=30)
    outcome = clients.join()
    _assert_the_end_state(deployment, outcome, tmp_path)
    # Nobody wrote under the new holder: no event was offered to the view twice.
    assert "checkpoint moved" not in deployment.log("projector", standby)


def test_4_killing_a_gateway_loses_nothing_for_clients_retrying_on_the_other(deployment, tmp_path):
    clients = Clients(deployment.gateways, JOBS // 2).start()
    clients.wait_accepted(JOBS // 6)
    assert deployment.stack is not None
    deployment.stack.kill_one("gateway", 1)
    outcome = clients.join()
    # The clients met the dead gateway (and went on with the other).
    assert sum(n for reason, n in outcome.refusals.items() if isinstance(reason, str)) > 0
    _assert_the_end_state(deployment, outcome, tmp_path)
