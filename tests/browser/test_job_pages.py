"""A job's page in a browser that caches, as a person's does: it follows its job to the end
and stays a page, and a long data job's page stays short.

The HTTP cache is on in these tests (``cached_page``: no request routing). With it off, as
every other page test has it, the job page's turning into its JSON on reload went unseen.
"""

import re
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page

from ..support.datasets import DATA_SETTINGS
from ..support.stack import Stack, own_server_stack
from ..support.waiting import eventually
from .conftest import shot, valid_html

# 400 days of the synthetic test dataset (tests/support/plugins/datasets/demo.yaml).
LONG_INGEST = {"dataset_id": "demo", "start": "2020-01-01", "end": "2021-02-03"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    with own_server_stack(
        tmp_path_factory.mktemp("job-pages"), progress_interval=0.1, **DATA_SETTINGS
    ) as running:
        running.start(wait=False)
        running.wait_ready(("count", "ingest"))
        yield running


def _events_shown(page: Page) -> int:
    """How many of the job's events the page's history says it holds."""
    found = re.search(r"\(([\d,]+) events\)", page.locator("#live").inner_text())
    return int(found.group(1).replace(",", "")) if found else 0


def _is_html(page: Page) -> bool:
    return page.evaluate("document.contentType") == "text/html"


def test_a_job_page_follows_its_job_to_the_end_and_stays_a_page(cached_page, stack):
    page, _ = cached_page
    page.goto(f"{stack.url}/processes/count")
    page.fill("#input-n", "40")
    page.fill("#input-interval", "0.1")
    page.get_by_role("button", name="Submit a job").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+$"))
    job_url = page.url

    seen = eventually(_growing(page), 60, "the history growing while running")
    page.wait_for_selector('#job[data-status="successful"]', timeout=60_000)
    assert _is_html(page) and page.locator("h1").inner_text().startswith("Job")
    assert _events_shown(page) > seen, "the history caught up with the end"
    assert page.locator("#finished").inner_text().endswith("UTC")
    valid_html(page)

    # What broke it: the job's JSON in the browser's cache at the page's URL, with an ETag
    # the browser sends back on reload.
    held = page.evaluate(
        "url => fetch(url, {headers: {Accept: 'application/json'}}).then(r => r.status)", job_url
    )
    assert held == 200
    for _ in range(2):
        response = page.reload()
        assert response is not None and response.status == 200
        assert _is_html(page) and page.locator("#status").inner_text() == "successful"
    page.go_back()
    page.go_forward()
    assert _is_html(page)
    assert "LocalProtocolError" not in stack.log("gateway")


def _growing(page: Page) -> Callable[[], int | None]:
    """A look answering the events shown once the page shows more than at first, while
    the job still runs."""
    looks: list[int] = []

    def look() -> int | None:
        if page.locator("#status").inner_text() != "running":
            return None
        looks.append(_events_shown(page))
        return looks[-1] if looks[-1] > looks[0] > 0 else None

    return look


def test_a_long_ingests_page_summarises_its_commits_and_stays_short(cached_page, stack):
    page, _ = cached_page
    job = stack.submit("ingest", LONG_INGEST)
    assert stack.wait_job(job, timeout=120)["status"] == "successful"
    page.goto(f"{stack.url}/jobs/{job}")
    commits = page.locator("tr.summary", has_text="commits,")
    assert re.search(r"\d+ commits, 2020-01-01 … 2021-02-03; 400 stored", commits.inner_text())
    height = page.evaluate("document.body.scrollHeight")
    assert height < 2 * 800, f"the page is {height} px tall"
    shot(page, "job-long-ingest")

    commits.locator("summary").click()
    listed = commits.locator("ol.grouped li")
    assert listed.count() > 50 and listed.first.is_visible()
    valid_html(page)
