"""Signing in from a browser on a stack with API keys on: a person signs in with a key, uses
the pages (a job submitted and dismissed through them), and signs out; a revoked key ends the
session at once; another site's page can neither use the session nor sign anyone in."""

import re
import time

import httpx
import pytest

from jobstream_gateway.html_pages.session import PAGE_HEADER, SESSION_COOKIE

from ..support.stack import keyed_stack
from .conftest import shot, valid_html


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    with keyed_stack(tmp_path_factory.mktemp("signin")) as (running, admin_key):
        running.wait_ready()
        yield running, admin_key


@pytest.fixture(scope="module")
def stack(keyed):
    """The stack every page of this module opens (the browser fixtures use it)."""
    return keyed[0]


def _expected_refusals(watched, status: int) -> None:
    # Chromium logs every 4xx page load as a console error; these were the test's intent.
    watched.problems[:] = [p for p in watched.problems if f"status of {status}" not in p]


def _sign_in(browser_page, key: str) -> None:
    browser_page.fill("#token", key)
    browser_page.get_by_role("button", name="Sign in").click()


def test_a_person_signs_in_uses_the_pages_and_signs_out(page, stack):
    browser_page, watched = page
    key = stack.new_key("ada", "submitter")
    browser_page.goto(stack.url + "/jobs")
    assert browser_page.locator("h1").inner_text() == "Unauthenticated"
    valid_html(browser_page)
    _expected_refusals(watched, 401)

    browser_page.locator("#signin-link").click()
    browser_page.wait_for_url(re.compile(r"/signin\?next=/jobs$"))
    valid_html(browser_page)
    shot(browser_page, "signin")
    _sign_in(browser_page, key)
    browser_page.wait_for_url(re.compile(r"/jobs$"))
    assert browser_page.locator("nav .session code").inner_text() == "key:ada"
    valid_html(browser_page)
    shot(browser_page, "signed-in")

    browser_page.goto(stack.url + "/processes/echo")
    browser_page.fill("#input-message", "signed in")
    browser_page.get_by_role("button", name="Submit a job").click()
    browser_page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]+$"))
    job_id = browser_page.url.rsplit("/", 1)[1]
    assert stack.wait_job(job_id)["status"] == "successful"
    # The job is ada's: her key reads it, another submitter's finds no such job.
    assert _status_with(stack, key, job_id) == 200
    assert _status_with(stack, stack.new_key("grace", "submitter"), job_id) == 404

    browser_page.get_by_role("button", name="Sign out").click()
    browser_page.wait_for_url(re.compile(r"/$"))
    assert browser_page.get_by_role("link", name="Sign in").is_visible()
    assert browser_page.context.cookies() == []


def _status_with(stack, key: str, job_id: str) -> int:
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json"}
    return httpx.get(f"{stack.url}/jobs/{job_id}", headers=headers).status_code


def test_a_wrong_key_is_refused_on_the_form(page, stack):
    browser_page, watched = page
    browser_page.goto(stack.url + "/signin")
    _sign_in(browser_page, "jsk_not-a-key-of-this-service")
    assert browser_page.locator("#signin-error").inner_text() == (
        "not signed in: unknown or revoked API key"
    )
    assert browser_page.context.cookies() == []
    valid_html(browser_page)
    _expected_refusals(watched, 401)


def test_a_revoked_key_ends_the_session_at_once(page, stack):
    browser_page, watched = page
    key = stack.new_key("bob", "submitter")
    browser_page.goto(stack.url + "/signin?next=/processes")
    _sign_in(browser_page, key)
    browser_page.wait_for_url(re.compile(r"/processes$"))

    assert stack.apikey("revoke", "bob").returncode == 0
    assert _wait_refused(stack, key)
    browser_page.reload()
    assert browser_page.locator("h1").inner_text() == "Unauthenticated"
    assert "signed in with as key:bob is no longer accepted" in browser_page.inner_text("main")
    _expected_refusals(watched, 401)


def _wait_refused(stack, key: str) -> bool:
    """Until every gateway has seen the revocation (the key bucket's watch)."""
    for _ in range(100):
        answer = httpx.get(f"{stack.url}/jobs", headers={"Authorization": f"Bearer {key}"})
        if answer.status_code == 401:
            return True
        time.sleep(0.05)
    return False


def test_another_sites_page_cannot_use_the_session(stack):
    key = stack.new_key("eve-target", "submitter")
    cookies = {SESSION_COOKIE: key}
    body = {"inputs": {"message": "forged"}}
    execute = f"{stack.url}/processes/echo/execution"
    with httpx.Client(cookies=cookies) as browser_like:
        listed = browser_like.get(f"{stack.url}/jobs")
        assert listed.status_code == 200
        # Answered with the session's credential: no shared cache may keep it.
        assert listed.headers["cache-control"] == "private, no-store"
        # What a form or fetch of another site could send: the cookie, not the page header.
        forged = browser_like.post(execute, json=body)
        assert forged.status_code == 401, forged.text
        ours = browser_like.post(execute, json=body, headers={PAGE_HEADER: "1"})
        assert ours.status_code in (200, 201), ours.text


def test_another_sites_page_cannot_sign_a_visitor_in(stack):
    key = stack.new_key("mallory", "submitter")
    answer = httpx.post(
        f"{stack.url}/signin",
        data={"token": key, "next": "/jobs"},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert answer.status_code == 403
    assert "another site" in answer.text
    assert "set-cookie" not in answer.headers
    # A browser too old to send Origin still says where the request came from.
    answer = httpx.post(
        f"{stack.url}/signin",
        data={"token": key, "next": "/jobs"},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert answer.status_code == 403 and "set-cookie" not in answer.headers


def test_signing_out_always_forgets_the_session(stack):
    answer = httpx.post(
        f"{stack.url}/signout",
        cookies={SESSION_COOKIE: "jsk_whatever"},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert answer.status_code == 303
    cleared = answer.headers.get_list("set-cookie")
    assert any(c.startswith(f"{SESSION_COOKIE}=") and "Max-Age=0" in c for c in cleared)


def test_a_credential_too_long_for_a_cookie_is_refused_on_the_form(stack):
    answer = httpx.post(f"{stack.url}/signin", data={"token": "x" * 5000, "next": "/"})
    assert answer.status_code == 400
    assert "5000 characters long" in answer.text
    assert "set-cookie" not in answer.headers


def test_pages_may_not_be_framed_by_another_site(stack):
    page = httpx.get(f"{stack.url}/signin")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'"


@pytest.mark.parametrize("target", ["https://elsewhere.example/", "//elsewhere.example/x"])
def test_signing_in_never_sends_the_browser_to_another_site(stack, target):
    key = stack.new_key(f"carol-{len(target)}", "submitter")
    answer = httpx.post(f"{stack.url}/signin", data={"token": key, "next": target})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
