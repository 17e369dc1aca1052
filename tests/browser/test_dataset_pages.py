"""Pictures in a real browser: a dataset page's coverage bar and quick-look map, a data job's
progress per attempt, against a stack that runs the data processes on the test templates.

The page checks of conftest.py hold here too: valid HTML, no console error, nothing fetched
but the gateway. Screenshots go to test-artifacts/pages/dataset*.png and data-job.png.
"""

from collections.abc import Iterator

import pytest

from jobstream_infra.embedded import EmbeddedNats

from ..support.datasets import DATA_PROCESSES, PLUGINS
from ..support.stack import Stack
from .conftest import shot, valid_html


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """A data stack where ``demo`` holds 2020-01-01..03 and 2020-01-06..07: one gap."""
    workdir = tmp_path_factory.mktemp("data-pages")
    with EmbeddedNats(workdir / "nats") as server:
        running = Stack(
            workdir,
            server.url,
            credentials=server.credentials,
            process_modules=DATA_PROCESSES,
            plugins_dir=PLUGINS,
            progress_interval=0.1,
        ).start(wait=False)
        try:
            running.wait_ready(("ingest", "sync"))
            for start, end in (("2020-01-01", "2020-01-03"), ("2020-01-06", "2020-01-07")):
                job = running.submit("ingest", {"dataset_id": "demo", "start": start, "end": end})
                assert running.wait_view(job, timeout=60)["status"] == "successful"
            yield running
        finally:
            running.close()


def test_opens_a_dataset_page_and_sees_its_coverage_picture(page, stack):
    browser_page, _ = page
    browser_page.goto(f"{stack.url}/datasets/demo")
    coverage = browser_page.locator("svg.coverage")
    assert coverage.is_visible()
    assert "2 stored runs, 1 missing gap" in (coverage.get_attribute("aria-label") or "")
    assert browser_page.locator("svg.coverage rect.stored").count() == 2
    assert browser_page.locator("svg.coverage rect.missing").count() == 1
    name = "Quick-look map of Demo daily temperature, period 2020-01-07"
    quicklook = browser_page.get_by_role("img", name=name)
    quicklook.wait_for()
    browser_page.wait_for_load_state()
    assert quicklook.evaluate("img => img.complete && img.naturalWidth > 0")
    valid_html(browser_page)
    shot(browser_page, "dataset")


def test_a_dataset_with_nothing_stored_says_so_and_asks_for_no_picture(page, stack):
    browser_page, _ = page
    browser_page.goto(f"{stack.url}/datasets/demo-twin")
    assert "Nothing stored yet" in browser_page.locator("main").inner_text()
    assert browser_page.locator("svg.coverage, figure.quicklook img").count() == 0
    valid_html(browser_page)
    shot(browser_page, "dataset-empty")


def test_a_data_jobs_page_shows_its_progress_over_time(page, stack):
    browser_page, _ = page
    job = stack.http.get("/datasets/demo").json()["stored"]["last_job"]
    browser_page.goto(f"{stack.url}/jobs/{job}")
    picture = browser_page.locator("svg.attempts")
    assert picture.is_visible()
    assert "in 1 attempt" in (picture.get_attribute("aria-label") or "")
    assert browser_page.locator("svg.attempts polyline.progress").count() == 1
    assert browser_page.locator("svg.attempts circle.succeeded").count() == 1
    valid_html(browser_page)
    shot(browser_page, "data-job")
