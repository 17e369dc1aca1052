"""A schedule's pages in a browser, signed in on a stack with API keys on: from the landing
page to the list and to the schedule's page, its next firings in UTC and in its zone; paused
and resumed with its button, run now with the other, which opens the job it made. The buttons
act with the session cookie, as the job page's dismiss button does: only with the pages'
header, which another site's page cannot send."""

import re
import uuid
from collections.abc import Iterator

import httpx
import pytest

from jobstream_gateway.html_pages.session import PAGE_HEADER, SESSION_COOKIE

from ..support.stack import Stack, keyed_stack
from .conftest import shot, valid_html


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    with keyed_stack(tmp_path_factory.mktemp("schedule-pages")) as (running, admin_key):
        running.wait_ready(("echo",))
        yield running, admin_key


@pytest.fixture(scope="module")
def stack(keyed) -> Stack:
    """The stack every page of this module opens (the browser fixtures use it)."""
    return keyed[0]


@pytest.fixture
def owner(stack) -> tuple[str, httpx.Client]:
    """A submitter's key, and a client calling the API with it."""
    key = stack.new_key(f"ada-{uuid.uuid4().hex[:6]}", "submitter")
    return key, httpx.Client(base_url=stack.url, headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def schedule(owner) -> Iterator[dict]:
    """A schedule of the owner's: at 06:30 each day in Berlin, deleted after the test."""
    _, client = owner
    spec = {
        "id": f"morning-{uuid.uuid4().hex[:8]}",
        "title": "Morning echo",
        "process": "echo",
        "inputs": {"message": "good morning"},
        "cron": "30 6 * * *",
        "timezone": "Europe/Berlin",
    }
    created = client.post("/schedules", json=spec)
    assert created.status_code == 201, created.text
    yield created.json()
    client.delete(f"/schedules/{spec['id']}")
    client.close()


def test_a_person_pauses_a_schedule_and_runs_it_now_from_its_page(page, stack, owner, schedule):
    browser_page, _ = page
    key, client = owner
    browser_page.goto(f"{stack.url}/signin?next=/")
    browser_page.fill("#token", key)
    browser_page.get_by_role("button", name="Sign in").click()
    browser_page.wait_for_url(re.compile(r"/$"))

    browser_page.get_by_role("link", name="Schedules", exact=True).first.click()
    browser_page.wait_for_url(re.compile(r"/schedules$"))
    row = browser_page.locator(f'tr[data-schedule="{schedule["id"]}"]')
    assert "active" in row.inner_text() and "none yet" in row.inner_text()
    valid_html(browser_page)
    shot(browser_page, "schedules")

    row.get_by_role("link", name="Morning echo").click()
    browser_page.wait_for_url(re.compile(rf"/schedules/{schedule['id']}$"))
    upcoming = browser_page.locator("#next + table tbody tr")
    assert upcoming.count() == 5
    for index in range(5):
        cells = upcoming.nth(index).locator("td").all_inner_texts()
        assert re.fullmatch(r"\d{4}-\d\d-\d\d 0[45]:30:00 UTC", cells[0]), cells
        assert re.fullmatch(r"\d{4}-\d\d-\d\d 06:30:00 CES?T", cells[1]), cells
    valid_html(browser_page)

    browser_page.get_by_role("button", name="Pause this schedule").click()
    browser_page.wait_for_selector('#schedule[data-paused="true"]')
    assert browser_page.locator("#state").inner_text() == "paused"
    assert "None while it is paused" in browser_page.locator("#live").inner_text()
    assert browser_page.get_by_role("button", name="Resume this schedule").is_visible()
    assert client.get(f"/schedules/{schedule['id']}").json()["paused"] is True
    valid_html(browser_page)
    shot(browser_page, "schedule-paused")

    browser_page.get_by_role("button", name="Run now").click()
    browser_page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+$"))
    job_id = browser_page.url.rsplit("/", 1)[1]
    browser_page.wait_for_selector('#job[data-status="successful"]', timeout=30_000)
    newest = client.get(f"/schedules/{schedule['id']}").json()["lastFirings"][0]
    assert (newest["jobID"], newest["cause"]) == (job_id, "manual")
    # The job is the owner's, as every job of the schedule is.
    assert client.get(f"/jobs/{job_id}").status_code == 200

    browser_page.go_back()
    browser_page.wait_for_url(re.compile(rf"/schedules/{schedule['id']}$"))
    browser_page.reload()  # the page as it is now, not as the browser kept it
    firing = browser_page.locator("#last + div table tbody tr").first
    assert "manual" in firing.inner_text() and "successful" in firing.inner_text()
    assert firing.locator(f'a[href="/jobs/{job_id}"]').count() == 1
    history = browser_page.locator("table.timeline").inner_text()
    assert "SchedulePaused" in history and "manual firing of" in history
    valid_html(browser_page)
    shot(browser_page, "schedule")

    browser_page.get_by_role("button", name="Resume this schedule").click()
    browser_page.wait_for_selector('#schedule[data-paused="false"]')
    assert browser_page.locator("#next + table tbody tr").count() == 5
    assert browser_page.context.cookies()[0]["name"] == SESSION_COOKIE


def test_another_sites_page_cannot_pause_or_run_a_schedule(stack, owner, schedule):
    key, _ = owner
    path = f"{stack.url}/schedules/{schedule['id']}"
    with httpx.Client(cookies={SESSION_COOKIE: key}) as browser_like:
        # What a form or a script of another site could send: the cookie, not the header.
        assert browser_like.patch(path, json={"paused": True}).status_code == 401
        assert browser_like.post(f"{path}/trigger").status_code == 401
        assert browser_like.get(path).json()["paused"] is False
        ours = browser_like.patch(path, json={"paused": True}, headers={PAGE_HEADER: "1"})
        assert ours.status_code == 200 and ours.json()["paused"] is True
