"""The HTML pages in a real browser: headless Chromium (Debian's package, driven by Playwright
through its executable path; no browser is downloaded) against a running stack.

Every page must parse as valid HTML, log no console error, and fetch nothing but the gateway:
any other request is aborted and fails the test, so the pages are known to work with no
network. Screenshots of each page go to test-artifacts/pages/.
"""

import re
import time

import httpx
import pytest
from playwright.sync_api import Page

from .conftest import shot, valid_html

FINAL = ("successful", "failed", "dismissed")


def test_from_the_landing_page_to_a_finished_job(page, stack):
    browser_page, _ = page
    browser_page.goto(stack.url + "/")
    assert browser_page.locator("h1").inner_text() == "jobstream"
    valid_html(browser_page)
    shot(browser_page, "landing")

    browser_page.get_by_role("link", name="Processes", exact=True).last.click()
    browser_page.wait_for_url(re.compile(r"/processes$"))
    valid_html(browser_page)
    shot(browser_page, "processes")

    browser_page.get_by_role("link", name="count", exact=True).click()
    browser_page.wait_for_url(re.compile(r"/processes/count$"))
    valid_html(browser_page)
    shot(browser_page, "process")
    browser_page.fill("#input-n", "30")
    browser_page.fill("#input-interval", "0.1")
    browser_page.get_by_role("button", name="Submit a job").click()
    browser_page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+$"))
    valid_html(browser_page)

    seen = _progress_until_final(browser_page)
    assert browser_page.locator("#status").inner_text() == "successful"
    assert any(0 < value < 100 for value in seen), f"the bar never moved: {seen}"
    valid_html(browser_page)
    assert browser_page.get_by_role("link", name="Results").is_visible()
    assert browser_page.locator("table.timeline tbody tr").count() >= 3
    shot(browser_page, "job")


def _progress_until_final(page: Page, timeout: float = 60) -> list[float]:
    """The progress bar's values while the job runs, until the page shows it final."""
    seen: list[float] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = page.locator("#status").inner_text()
        if status in FINAL:
            _wait_reloaded_final(page)
            return seen
        seen.append(float(page.locator("#progress").get_attribute("value") or 0))
        time.sleep(0.05)
    raise AssertionError(f"the job page did not reach a final status: {seen[-5:]}")


def _wait_reloaded_final(page: Page) -> None:
    """Until the page, rendered anew by its script as the job ends, shows it final."""
    final = ", ".join(f'#job[data-status="{status}"]' for status in FINAL)
    page.wait_for_selector(final, timeout=30_000)
    page.wait_for_load_state()


def test_dismissing_a_running_job_from_its_page(page, stack):
    browser_page, _ = page
    job = stack.submit("hold", {"seconds": 60})
    stack.wait_job(job, statuses=("running",))
    browser_page.goto(f"{stack.url}/jobs/{job}")
    browser_page.get_by_role("button", name="Dismiss this job").click()
    _wait_reloaded_final(browser_page)
    assert browser_page.locator("#status").inner_text() == "dismissed"
    assert stack.wait_job(job)["status"] == "dismissed"
    valid_html(browser_page)
    shot(browser_page, "job-dismissed")


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/jobs", "Jobs"),
        ("/queue", "Queue"),
        ("/schedules", "Schedules"),
        ("/conformance", "Conformance"),
        ("/datasets", "Datasets"),
    ],
)
def test_list_pages(page, stack, path, heading):
    browser_page, _ = page
    browser_page.goto(stack.url + path)
    assert browser_page.locator("h1").inner_text() == heading
    valid_html(browser_page)
    shot(browser_page, path.strip("/"))


def test_a_missing_job_is_a_404_page(page, stack):
    browser_page, watched = page
    response = browser_page.goto(f"{stack.url}/jobs/no-such-job")
    assert response is not None and response.status == 404
    assert "No such job" in browser_page.locator("h1").inner_text()
    valid_html(browser_page)
    # The browser reports the 404 itself as a console error: that one is expected.
    watched.problems[:] = [p for p in watched.problems if "404" not in p]


def test_the_api_documentation_renders_from_the_gateways_own_files(page, stack):
    browser_page, _ = page
    browser_page.goto(stack.url + "/api.html")
    browser_page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "jobstream" in browser_page.locator(".swagger-ui .info .title").inner_text()
    shot(browser_page, "api")


def test_json_and_html_link_to_each_other(stack):
    as_html = stack.http.get("/processes", headers={"Accept": "text/html"})
    assert as_html.headers["content-type"].startswith("text/html")
    assert 'rel="alternate" type="application/json" href="/processes?f=json"' in as_html.text
    assert stack.http.get("/processes?f=json", headers={"Accept": "text/html"}).json()
    assert stack.http.get("/processes", headers={"Accept": "*/*"}).json()
    assert stack.http.get("/processes?f=html").headers["content-type"].startswith("text/html")


def test_an_open_service_offers_no_sign_in(stack):
    landing = httpx.get(f"{stack.url}/", headers={"Accept": "text/html"})
    assert landing.status_code == 200 and "<h1>jobstream</h1>" in landing.text
    assert "/signin" not in landing.text
    signin = httpx.get(f"{stack.url}/signin")
    assert "does not ask who you are" in signin.text
    # Nothing to sign in to: straight on, and no cookie.
    answer = httpx.post(f"{stack.url}/signin", data={"token": "x", "next": "/jobs"})
    assert answer.status_code == 303 and answer.headers["location"] == "/jobs"
    assert "set-cookie" not in answer.headers
