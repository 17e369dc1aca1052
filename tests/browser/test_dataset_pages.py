"""Pictures in a real browser: a dataset page's coverage bar, facts and quick-look map, a data
job's progress per attempt, the ingest form, against a stack that runs the data processes on
the test templates.

The page checks of conftest.py hold here too: valid HTML, no console error, nothing fetched
but the gateway. Screenshots go to test-artifacts/pages/dataset*.png, data-job.png and
process-form.png.
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
    name = "Quick-look map of Demo daily temperature, period 2020-01-07, colour bar in K"
    quicklook = browser_page.get_by_role("img", name=name)
    quicklook.wait_for()
    browser_page.wait_for_load_state()
    # Framed: the map (2 x 4 cells, enlarged to 256 x 128 px), its coordinates and colour bar.
    size = quicklook.evaluate("img => img.complete && [img.naturalWidth, img.naturalHeight]")
    assert size[0] > 256 + 60 and size[1] > 128 + 30
    facts = browser_page.locator("#facts").inner_text()
    for fact in ("t2m, in K", "west 4, south 57, east 6, north 58", "2020-01-01 to 2020-01-07"):
        assert fact in facts
    code = browser_page.locator("pre.open-it").inner_text()
    assert "from jobstream_datasets import open_dataset\n" in code
    assert 'ds = open_dataset("demo")' in code
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


def test_the_ingest_form_starts_on_offline_data_and_takes_dates_from_pickers(page, stack):
    browser_page, _ = page
    browser_page.goto(f"{stack.url}/processes/ingest")
    dataset = browser_page.locator("select#input-dataset_id")
    assert dataset.input_value() == "demo"  # the first dataset of the synthetic plugin
    assert "Demo daily temperature (demo)" in dataset.locator("option:checked").inner_text()
    assert "demo-twin" in browser_page.locator("form .hint code").all_inner_texts()
    assert "`" not in browser_page.locator("main").inner_text()
    browser_page.fill("input#input-start[type=date]", "2020-01-08")
    browser_page.fill("input#input-end[type=date]", "2020-01-09")
    valid_html(browser_page)
    shot(browser_page, "process-form")
    browser_page.click("button[type=submit]")
    browser_page.wait_for_url(f"{stack.url}/jobs/*")
    job = browser_page.url.rsplit("/", 1)[-1]
    submitted = stack.http.get(f"/jobs/{job}/events").json()["events"][0]["data"]
    assert submitted["inputs"] == {
        "dataset_id": "demo",
        "start": "2020-01-08",
        "end": "2020-01-09",
        "overwrite": False,
    }
