"""Schedules as pages: the list, a schedule's page (its firings to come in UTC and in its
zone, the last ones with their jobs, its history), and a gateway that serves none.

Their stream is the session server's, shared by every test here: ids are new each time, and
each test deletes its schedules, whose cadences would not fire while the suite runs anyway.
"""

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from jobstream_contracts.schedule_events import ScheduleFired, ScheduleSkipped
from jobstream_gateway.html_pages.render import in_zone, when
from jobstream_gateway.html_pages.session import PAGE_HEADER
from jobstream_gateway.scheduling import Schedules

from ..support.inprocess import Gateway

HTML = {"Accept": "text/html"}
MakeSchedule = Callable[..., Awaitable[dict]]


@pytest.fixture
async def make_schedule(scheduling_gateway) -> AsyncIterator[MakeSchedule]:
    """Creates a schedule over the API and answers it; deletes it when the test ends."""
    made: list[str] = []

    async def make(**spec) -> dict:
        spec.setdefault("id", f"page-{uuid.uuid4().hex[:8]}")
        answer = await scheduling_gateway.http.post("/schedules", json=spec)
        assert answer.status_code == 201, answer.text
        made.append(spec["id"])
        return answer.json()

    yield make
    for schedule_id in made:
        await scheduling_gateway.http.delete(f"/schedules/{schedule_id}")


def _schedules(gateway: Gateway) -> Schedules:
    assert gateway.ctx.schedules is not None
    return gateway.ctx.schedules


async def _page(gateway: Gateway, path: str) -> str:
    answer = await gateway.http.get(path, headers=HTML)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def _section(page: str, heading_id: str) -> str:
    """The part of the page from the heading ``heading_id`` to the next heading."""
    return page.split(f'<h2 id="{heading_id}">', 1)[1].split("<h2", 1)[0]


def _row(page: str, schedule_id: str) -> str:
    return page.split(f'<tr data-schedule="{schedule_id}">', 1)[1].split("</tr>", 1)[0]


async def test_a_schedules_page_shows_its_next_firings_in_utc_and_in_its_zone(
    scheduling_gateway, make_schedule
):
    schedule = await make_schedule(
        title="Morning echo",
        process="echo",
        inputs={"message": "good morning"},
        cron="30 6 * * *",
        timezone="Europe/Berlin",
    )
    page = await _page(scheduling_gateway, f"/schedules/{schedule['id']}")
    assert "<h1>Morning echo" in page and 'href="/processes/echo"' in page
    assert "cron <code>30 6 * * *</code>" in page and 'class="status active"' in page

    upcoming = _section(page, "next")
    assert len(schedule["nextFirings"]) == 5
    for instant in schedule["nextFirings"]:
        local = in_zone(instant, "Europe/Berlin")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d 06:30:00 CES?T", local), local
        assert f"{when(instant)}</time></td><td>{local}</td>" in upcoming

    assert ">Pause this schedule</button>" in page and ">Run now</button>" in page
    assert "None yet." in _section(page, "last")
    history = _section(page, "history")
    assert "by anonymous: echo, cron 30 6 * * * (Europe/Berlin); message=good morning" in history
    # Everyone else still gets the schedule's JSON at its URL.
    as_json = await scheduling_gateway.http.get(f"/schedules/{schedule['id']}")
    assert as_json.json()["id"] == schedule["id"]


async def test_each_firing_shows_its_job_and_status_or_why_it_made_none(
    scheduling_gateway, make_schedule
):
    schedule = await make_schedule(process="echo", inputs={"message": "weekly"}, every="7d")
    schedule_id = schedule["id"]
    a_minute_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    reason = "overlap: the previous job is still running (overlap policy skip)"
    await _schedules(scheduling_gateway).record(
        ScheduleSkipped(schedule_id=schedule_id, instant=a_minute_ago, reason=reason)
    )
    triggered = await scheduling_gateway.http.post(
        f"/schedules/{schedule_id}/trigger", headers={PAGE_HEADER: "1"}
    )
    assert triggered.status_code == 201, triggered.text
    job_id = triggered.json()["jobID"]
    assert triggered.headers["location"].endswith(f"/jobs/{job_id}")
    await scheduling_gateway.run(job_id, {"echo": "weekly"})

    page = await _page(scheduling_gateway, f"/schedules/{schedule_id}")
    manual, skipped = _section(page, "last").split("<tbody>", 1)[1].split("</tr>")[:2]
    assert "<td>manual</td>" in manual and f'href="/jobs/{job_id}"' in manual
    assert '<span class="status successful">successful</span>' in manual
    assert "<td>clock</td>" in skipped and f"skipped: {reason}" in skipped
    history = _section(page, "history")
    assert f'<a href="/jobs/{job_id}">manual firing of ' in history
    assert f"clock firing of {when(a_minute_ago.isoformat())} skipped: {reason}" in history

    listed = _row(await _page(scheduling_gateway, "/schedules"), schedule_id)
    assert f'<a href="/schedules/{schedule_id}">{schedule_id}</a>' in listed
    assert "every 7d" in listed and 'class="status active"' in listed
    assert when(schedule["nextFirings"][0]) in listed
    # The newest firing: the one run now, with its job's status.
    assert "manual" in listed and f'href="/jobs/{job_id}"' in listed
    assert '<span class="status successful">successful</span>' in listed


async def test_pausing_and_resuming_show_on_both_pages(scheduling_gateway, make_schedule):
    schedule = await make_schedule(process="echo", inputs={"message": "x"}, cron="0 0 1 1 *")
    path = f"/schedules/{schedule['id']}"
    # What the page's pause button sends.
    paused = await scheduling_gateway.http.patch(
        path, json={"paused": True}, headers={PAGE_HEADER: "1"}
    )
    assert paused.status_code == 200 and paused.json()["paused"]
    page = await _page(scheduling_gateway, path)
    assert 'data-paused="true"' in page and 'class="status paused"' in page
    assert ">Resume this schedule</button>" in page
    assert "None while it is paused" in _section(page, "next")
    assert "SchedulePaused" in _section(page, "history")
    listed = _row(await _page(scheduling_gateway, "/schedules"), schedule["id"])
    assert 'class="status paused"' in listed and "none yet" in listed

    await scheduling_gateway.http.patch(path, json={"paused": False})
    page = await _page(scheduling_gateway, path)
    assert 'data-paused="false"' in page and ">Pause this schedule</button>" in page
    assert "<time datetime=" in _section(page, "next")


async def test_many_firings_are_one_history_row_and_unread_jobs_still_links(
    scheduling_gateway, make_schedule
):
    schedule = await make_schedule(process="echo", inputs={"message": "x"}, every="7d")
    schedule_id = schedule["id"]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    book = _schedules(scheduling_gateway).book
    for second in range(30):
        instant = start + timedelta(seconds=second)
        fired = ScheduleFired(schedule_id=schedule_id, instant=instant, job_id=f"gone-{second}")
        await book.record_firing(fired, instant)
    await _schedules(scheduling_gateway).record(
        ScheduleSkipped(schedule_id=schedule_id, instant=start + timedelta(minutes=1), reason="r")
    )

    page = await _page(scheduling_gateway, f"/schedules/{schedule_id}")
    history = _section(page, "history")
    assert re.findall(r'<tr data-row="(\d+)"', history) == ["1", "2", "32"]
    first, last = when(start.isoformat()), when((start + timedelta(seconds=29)).isoformat())
    assert f"<summary>30 firings, {first} … {last}, one job each</summary>" in history
    assert '<a href="/jobs/gone-29">' in history and "(32 events)" in history
    # The API keeps the latest 20 firings: the skip and 19 jobs, none of which can be read.
    last_firings = _section(page, "last")
    assert last_firings.count('href="/jobs/gone-') == 19
    assert 'class="status' not in last_firings


async def test_the_landing_page_lists_schedules(scheduling_gateway, make_schedule):
    schedule = await make_schedule(
        title="Yearly", process="echo", inputs={"message": "x"}, cron="0 0 1 1 *"
    )
    landing = await _page(scheduling_gateway, "/")
    card = landing.split('<h2><a href="/schedules">Schedules</a></h2>', 1)[1]
    assert f'<a href="/schedules/{schedule["id"]}">Yearly</a>' in card.split("</section>")[0]


async def test_a_gateway_without_schedules_lists_none_and_refuses_to_create_one(gateway):
    landing = await _page(gateway, "/")
    assert '<a href="/schedules">Schedules</a>' in landing  # in the header and a card
    listed = await gateway.http.get("/schedules", headers=HTML)
    assert listed.status_code == 200 and "No schedules yet" in listed.text
    created = await gateway.http.post(
        "/schedules", json={"process": "echo", "inputs": {"message": "x"}, "every": "1h"}
    )
    assert created.status_code == 503
    assert "schedules need the NATS schedules stream" in created.json()["detail"]
