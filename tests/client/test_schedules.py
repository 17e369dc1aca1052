"""Schedules through the Python client, against the session's running stack."""

import uuid
from zoneinfo import ZoneInfo

import pytest

from jobstream_client import (
    AsyncClient,
    Client,
    InvalidParameter,
    Job,
    NoSuchProcess,
    NotFound,
)
from jobstream_contracts.schedule_events import (
    ScheduleChanged,
    ScheduleCreated,
    ScheduleFired,
    SchedulePaused,
    ScheduleResumed,
)
from jobstream_contracts.schedules import CatchUp, Overlap
from tests.support.waiting import eventually

# Fires on New Year's midnight only: no firing of its own while a test looks at it.
YEARLY = "0 0 1 1 *"


@pytest.fixture
def client(stack):
    with Client(stack.url) as client:
        yield client


def new_id() -> str:
    return f"c-{uuid.uuid4().hex[:8]}"


def fired(client: Client, schedule_id: str) -> list[ScheduleFired]:
    return [e for e in client.schedule_events(schedule_id) if isinstance(e, ScheduleFired)]


def at_least(count: int, found: list) -> list | None:
    return found if len(found) >= count else None


def test_a_schedule_every_second_makes_a_job_per_firing_until_paused(client):
    created = client.create_schedule("echo", {"message": "tick"}, every="1s", id=new_id())
    assert created.every == "1s" and created.cron is None and not created.paused
    assert created.overlap is Overlap.SKIP and created.catch_up is CatchUp.LATEST
    assert len(created.next_firings) == 5 and created.source == "api" and created.owner
    firings = eventually(
        lambda: at_least(2, fired(client, created.id)),
        what="two firings of the schedule",
    )
    paused = client.pause_schedule(created.id)
    assert paused.paused and paused.next_firings == []
    assert len({f.instant for f in firings}) == len(firings)
    # A firing handled late (a loaded machine) runs as the catch-up of the instants it missed.
    assert {f.cause for f in firings} <= {"clock", "catch-up"}
    jobs = [f.job_id for f in firings[:2]]
    assert len(set(jobs)) == 2
    for job_id in jobs:
        job = client.job(job_id)
        assert job.wait(timeout=30).status == "successful"
        assert job.results() == "tick"
    history = client.schedule_events(created.id)
    assert isinstance(history[0], ScheduleCreated) and history[0].spec.every == "1s"
    assert any(isinstance(event, SchedulePaused) for event in history)
    # The schedule's document names the jobs its last firings made.
    eventually(
        lambda: set(jobs) <= {f.job_id for f in client.schedule(created.id).last_firings},
        what="the firings in the schedule's document",
    )


def test_trigger_change_list_and_delete_a_schedule(client):
    schedule_id = new_id()
    created = client.create_schedule(
        "echo",
        {"message": "now"},
        cron=YEARLY,
        timezone="Europe/Berlin",
        id=schedule_id,
        title="New Year",
        paused=True,
    )
    assert created.id == schedule_id and created.paused and created.next_firings == []
    assert created.title == "New Year" and created.timezone == "Europe/Berlin"
    job = client.trigger_schedule(schedule_id)
    assert isinstance(job, Job) and job.last.processID == "echo"
    assert job.wait(timeout=30).status == "successful" and job.results() == "now"
    last = client.schedule_events(schedule_id)[-1]
    assert isinstance(last, ScheduleFired) and last.cause == "manual" and last.job_id == job.id

    resumed = client.resume_schedule(schedule_id)
    assert not resumed.paused and resumed.next_firings
    local = resumed.next_firings[0].astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.month, local.day, local.hour, local.minute) == (1, 1, 0, 0)
    changed = client.change_schedule(
        schedule_id, cron=None, every="1h", catch_up="all", catch_up_limit=3
    )
    assert changed.cron is None and changed.every == "1h"
    assert changed.catch_up is CatchUp.ALL and changed.catch_up_limit == 3
    kinds = [type(event) for event in client.schedule_events(schedule_id)]
    assert kinds == [ScheduleCreated, ScheduleFired, ScheduleResumed, ScheduleChanged]
    assert schedule_id in [schedule.id for schedule in client.schedules()]

    assert client.delete_schedule(schedule_id) is None
    with pytest.raises(NotFound) as missing:
        client.schedule(schedule_id)
    assert missing.value.status == 404 and schedule_id in (missing.value.detail or "")
    assert schedule_id not in [schedule.id for schedule in client.schedules()]
    with pytest.raises(NotFound):
        client.trigger_schedule(schedule_id)


def test_what_the_gateway_refuses_is_raised_with_its_detail(client):
    schedule_id = new_id()
    with pytest.raises(InvalidParameter) as bad_cron:
        client.create_schedule("echo", {"message": "x"}, cron="61 * * * *", id=schedule_id)
    assert bad_cron.value.status == 400 and bad_cron.value.field == "body.cron"
    assert "is not a cron expression" in (bad_cron.value.detail or "")
    with pytest.raises(NotFound):
        client.schedule(schedule_id)
    with pytest.raises(NoSuchProcess):
        client.create_schedule("no-such-process", {}, every="1h")
    client.create_schedule("echo", {"message": "x"}, cron=YEARLY, id=schedule_id)
    with pytest.raises(InvalidParameter) as taken:
        client.create_schedule("echo", {"message": "x"}, every="1h", id=schedule_id)
    assert taken.value.status == 409 and taken.value.field == "id"
    with pytest.raises(InvalidParameter) as unknown:
        client.change_schedule(schedule_id, colour="red")
    assert "colour" in (unknown.value.detail or "")
    client.delete_schedule(schedule_id)


async def test_the_async_client_runs_a_schedule_too(stack):
    async with AsyncClient(stack.url) as client:
        schedule_id = new_id()
        created = await client.create_schedule(
            "echo", {"message": "async"}, cron=YEARLY, id=schedule_id, overlap="allow"
        )
        assert created.overlap is Overlap.ALLOW and created.next_firings
        job = await client.trigger_schedule(schedule_id)
        assert (await job.wait(timeout=30)).status == "successful"
        assert await job.results() == "async"
        assert (await client.pause_schedule(schedule_id)).paused
        assert (await client.schedule(schedule_id)).paused
        assert schedule_id in [schedule.id for schedule in await client.schedules()]
        changed = await client.change_schedule(schedule_id, title="changed")
        assert changed.title == "changed" and changed.paused
        kinds = [type(event) for event in await client.schedule_events(schedule_id)]
        assert kinds == [ScheduleCreated, ScheduleFired, SchedulePaused, ScheduleChanged]
        await client.delete_schedule(schedule_id)
        with pytest.raises(NotFound):
            await client.schedule(schedule_id)
