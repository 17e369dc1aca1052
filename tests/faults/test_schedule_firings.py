"""A schedule firing every 2 s while its gateway and then its executor are SIGKILLed and
started again: every instant of the window has exactly one job, the missed ones made by the
catch-up policy, and every job ends once."""

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import nats
import pytest

from jobstream_contracts.events import JobSubmitted
from jobstream_contracts.schedule_events import decode_schedule_event
from jobstream_contracts.subjects import ALL_SCHEDULE_EVENTS, SCHEDULE_STREAM, SCHEDULER_CONSUMER
from jobstream_infra.embedded import free_port
from jobstream_infra.embedded_cluster import EmbeddedCluster
from jobstream_infra.provisioning import provision

from ..support.cluster import NODES, admin_settings, stream_leader, wait_replicated
from ..support.stack import Stack, wait_gateway
from ..support.waiting import eventually
from .conftest import final_events

EVERY = 2
WINDOW = 20

pytestmark = pytest.mark.timeout(180)


def _scheduled_jobs(stack: Stack, schedule_id: str) -> dict[str, datetime]:
    """The job of each instant, from the job stream: job id -> instant."""
    return {
        e.job_id: e.fired_by.instant
        for e in stack.events()
        if isinstance(e, JobSubmitted) and e.fired_by and e.fired_by.schedule_id == schedule_id
    }


async def _pending_firings(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().consumer_info(SCHEDULE_STREAM, SCHEDULER_CONSUMER)
        return (info.num_pending or 0) + (info.num_ack_pending or 0)
    finally:
        await nc.close()


async def _schedule_events(url: str, schedule_id: str) -> list:
    nc = await nats.connect(url)
    try:
        sub = await nc.jetstream().subscribe(
            ALL_SCHEDULE_EVENTS.replace(">", f"{schedule_id}.*"), ordered_consumer=True
        )
        events = []
        while True:
            msg = await sub.next_msg(timeout=5)
            events.append(decode_schedule_event(msg.data, msg.subject))
            if msg.metadata.num_pending == 0:
                return events
    finally:
        await nc.close()


def _fired(stack: Stack, schedule_id: str) -> int | None:
    """Firings that made a job so far, as the gateway tells (None while it cannot)."""
    answer = stack.http.get(f"/schedules/{schedule_id}/events")
    if answer.status_code != 200:
        return None
    return sum(e["data"]["type"] == "ScheduleFired" for e in answer.json())


def _count_after(stack: Stack, schedule_id: str, count: int) -> int:
    """Once the schedule made ``count`` jobs: how many it made."""

    def reached() -> int | None:
        fired = _fired(stack, schedule_id)
        return fired if fired is not None and fired >= count else None

    return eventually(reached, timeout=30)


def _past(moment: datetime) -> bool:
    return datetime.now(UTC) > moment


def test_every_instant_of_a_schedule_makes_one_job_through_sigkills(make_stack):
    stack = make_stack(ack_wait=3).start()
    stack.wait_ready(("echo",))
    schedule_id = f"f-{uuid.uuid4().hex[:8]}"
    _create_every(stack, schedule_id)
    ends = datetime.now(UTC) + timedelta(seconds=WINDOW)
    _count_after(stack, schedule_id, 2)

    # The gateway killed: the server fires the next instant into the stream, where it waits;
    # two instants more pass unfired before a gateway is back to catch up on them.
    stack.kill_one("gateway")
    eventually(lambda: asyncio.run(_pending_firings(stack.nats_url)) > 0, timeout=10)
    waiting_since = datetime.now(UTC)
    eventually(lambda: _past(waiting_since + timedelta(seconds=2 * EVERY + 0.5)), timeout=10)
    stack.start_component("gateway")
    stack.wait_ready(("echo",))
    before = _count_after(stack, schedule_id, 1)
    _count_after(stack, schedule_id, before + 2)

    # The executor killed: firings go on making jobs, which run once it is back.
    stack.kill_one("executor")
    _count_after(stack, schedule_id, before + 4)
    stack.start_component("executor")
    eventually(lambda: _past(ends), timeout=WINDOW + 5)
    paused = stack.http.patch(f"/schedules/{schedule_id}", json={"paused": True})
    assert paused.status_code == 200, paused.text

    # One job per instant, and no instant of the window without one.
    instants = _assert_one_job_per_instant(stack, schedule_id)
    assert len(instants) >= WINDOW // EVERY

    events = asyncio.run(_schedule_events(stack.nats_url, schedule_id))
    fired = Counter(e.instant for e in events if type(e).__name__ == "ScheduleFired")
    assert set(fired) == set(instants) and set(fired.values()) == {1}
    caught_up = [e for e in events if getattr(e, "cause", None) == "catch-up"]
    assert len(caught_up) >= 2, "the instants missed while the gateway was down"
    print(f"\n{len(instants)} instants, {len(caught_up)} caught up after the gateway's restart")


def _create_every(stack: Stack, schedule_id: str) -> None:
    created = stack.http.post(
        "/schedules",
        json={
            "id": schedule_id,
            "process": "echo",
            "inputs": {"message": "fired"},
            "every": f"{EVERY}s",
            "catchUp": "all",
            "catchUpLimit": 100,
            "overlap": "allow",
        },
    )
    assert created.status_code == 201, created.text


def _assert_one_job_per_instant(stack: Stack, schedule_id: str) -> list[datetime]:
    jobs = _scheduled_jobs(stack, schedule_id)
    for job_id in jobs:
        assert stack.wait_job(job_id, timeout=60)["status"] == "successful"
    instants = sorted(jobs.values())
    assert len(instants) == len(set(instants)), "an instant with two jobs"
    steps = {(b - a).total_seconds() for a, b in zip(instants, instants[1:], strict=False)}
    assert steps == {EVERY}, f"gaps or doubles between instants: {sorted(steps)}"
    finals = final_events(stack.events())
    assert all(finals[job_id] == 1 for job_id in jobs)
    return instants


@pytest.fixture
def cluster_stack(tmp_path):
    cluster = EmbeddedCluster(tmp_path / "nats", size=NODES).start()
    try:
        asyncio.run(provision(admin_settings(cluster)))
        stack = Stack(
            tmp_path / "stack",
            cluster.url,
            credentials=cluster.credentials,
            replicas=NODES,
            ack_wait=3,
        )
        try:
            yield cluster, stack.start()
        finally:
            stack.close()
    finally:
        cluster.stop()


def test_killing_the_schedules_stream_leader_makes_no_instant_twice(cluster_stack):
    cluster, stack = cluster_stack
    stack.wait_ready(("echo",))
    schedule_id = f"c-{uuid.uuid4().hex[:8]}"
    _create_every(stack, schedule_id)
    ends = datetime.now(UTC) + timedelta(seconds=WINDOW)
    _count_after(stack, schedule_id, 2)
    asyncio.run(wait_replicated(cluster.url, SCHEDULE_STREAM))
    leader = cluster.node_named(asyncio.run(stream_leader(cluster.url, SCHEDULE_STREAM)))
    before = _count_after(stack, schedule_id, 1)
    leader.kill()
    _count_after(stack, schedule_id, before + 3)
    leader.start()
    eventually(lambda: _past(ends), timeout=WINDOW + 30)
    assert stack.http.patch(f"/schedules/{schedule_id}", json={"paused": True}).is_success
    asyncio.run(wait_replicated(cluster.url, SCHEDULE_STREAM, timeout=30))
    instants = _assert_one_job_per_instant(stack, schedule_id)
    assert len(instants) >= WINDOW // EVERY - 1


def test_two_gateways_share_the_firings_and_make_each_job_once(make_stack):
    stack = make_stack().start()
    stack.wait_ready(("echo",))
    second = free_port()
    stack.start_component("gateway", port=second)
    wait_gateway(f"http://127.0.0.1:{second}", stack.processes["gateway"][1])
    schedule_id = f"g-{uuid.uuid4().hex[:8]}"
    created = stack.http.post(
        "/schedules",
        json={"id": schedule_id, "process": "echo", "inputs": {"message": "2"}, "every": "1s"},
    )
    assert created.status_code == 201, created.text
    _count_after(stack, schedule_id, 8)
    assert stack.http.patch(f"/schedules/{schedule_id}", json={"paused": True}).is_success
    jobs = _scheduled_jobs(stack, schedule_id)
    instants = sorted(jobs.values())
    assert len(instants) == len(set(instants)) >= 8
    handled = [
        (stack.logs / f"gateway-{n}.log").read_text().count(f"schedule={schedule_id}")
        for n in (0, 1)
    ]
    print(f"\nfirings handled by each gateway: {handled}")
    assert all(count > 0 for count in handled), handled
