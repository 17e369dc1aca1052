"""Pages for browsers, signing in with a session cookie, and metrics."""

from collections.abc import AsyncIterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from jobstream_contracts.access import Role
from jobstream_gateway.html_pages.session import PAGE_HEADER, SESSION_COOKIE

from ..support.inprocess import Gateway, keyed_identity, serving, view_engine

HTML = {"Accept": "text/html"}


@pytest.fixture
async def signing_in(settings, journal, tmp_path) -> AsyncIterator[tuple[Gateway, str]]:
    """A gateway with API keys on, and alice's key."""
    identity, keys = keyed_identity({"alice": Role.SUBMITTER})
    with_keys = settings.model_copy(update={"auth": "apikey"})
    async with serving(with_keys, journal, view_engine(tmp_path), identity) as gateway:
        yield gateway, keys["alice"]


async def test_a_browser_gets_pages_and_everyone_else_json(gateway):
    page = await gateway.http.get("/processes", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "echo" in page.text and page.headers["x-frame-options"] == "DENY"
    asked = await gateway.http.get("/processes", params={"f": "json"}, headers=HTML)
    assert asked.headers["content-type"] == "application/json"
    forced = await gateway.http.get("/processes", params={"f": "html"})
    assert forced.headers["content-type"].startswith("text/html")
    assert (await gateway.http.get("/processes")).headers["content-type"] == "application/json"


async def test_a_job_page_shows_the_job_and_a_missing_one_is_a_404_page(gateway):
    job_id = await gateway.submit("echo", {"message": "on a page"})
    page = await gateway.http.get(f"/jobs/{job_id}", headers=HTML)
    assert page.status_code == 200 and job_id in page.text
    missing = await gateway.http.get("/jobs/nothing", headers=HTML)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    css = await gateway.http.get("/static/jobstream.css")
    assert css.status_code == 200
    assert (await gateway.http.get("/static/../app.py")).status_code == 404


async def test_signing_in_keeps_the_key_in_a_cookie_that_only_pages_may_use(signing_in):
    gateway, key = signing_in
    assert (await gateway.http.get("/signin")).status_code == 200
    signed_in = await gateway.http.post(
        "/signin", data={"token": key, "next": "/jobs"}, headers={"Origin": "http://gateway.test"}
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/jobs"
    assert gateway.http.cookies[SESSION_COOKIE] == key
    assert (await gateway.http.get("/jobs")).status_code == 200  # the cookie stands in
    submit = {"url": "/processes/echo/execution", "json": {"inputs": {"message": "x"}}}
    assert (await gateway.http.post(**submit)).status_code == 401  # not without the page
    created = await gateway.http.post(
        **submit, headers={PAGE_HEADER: "1", "Prefer": "respond-async"}
    )
    assert created.status_code == 201
    await gateway.http.post("/signout")
    assert SESSION_COOKIE not in gateway.http.cookies
    assert (await gateway.http.get("/jobs")).status_code == 401


async def test_a_sign_in_from_another_site_or_with_a_wrong_key_is_refused(signing_in):
    gateway, key = signing_in
    elsewhere = await gateway.http.post(
        "/signin", data={"token": key}, headers={"Origin": "https://evil.example"}
    )
    assert elsewhere.status_code == 403 and SESSION_COOKIE not in gateway.http.cookies
    wrong = await gateway.http.post("/signin", data={"token": "jsk_" + "y" * 43})
    assert wrong.status_code == 401 and SESSION_COOKIE not in gateway.http.cookies
    outside = await gateway.http.post("/signin", data={"token": key, "next": "//evil.example"})
    assert outside.headers["location"] == "/"


async def test_metrics_count_requests_by_route_template(gateway):
    job_id = await gateway.submit("echo", {"message": "counted"})
    for _ in range(2):
        await gateway.http.get(f"/jobs/{job_id}")
    scraped = await gateway.http.get("/metrics")
    assert scraped.status_code == 200
    requests = {
        (sample.labels["route"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(scraped.text)
        if family.name == "jobstream_http_requests"
        for sample in family.samples
        if sample.name == "jobstream_http_requests_total" and sample.labels["method"] == "GET"
    }
    assert requests[("/jobs/{job_id}", "200")] >= 2
    assert not [route for route, _ in requests if job_id in route]
