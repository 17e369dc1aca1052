"""Signing in at the OIDC issuer from a browser: the authorization code flow with PKCE against
a real issuer on loopback (tests/support/issuer.py, reached as another site), as a
confidential client.

The browser may reach the gateway and the issuer, nothing else."""

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from jobstream_gateway.html_pages.session import SESSION_COOKIE
from jobstream_gateway.oidc_login import PENDING_COOKIE
from jobstream_infra.embedded import EmbeddedNats

from ..support.issuer import LocalIssuer
from ..support.stack import Stack
from .conftest import shot, valid_html

CLIENT = "jobstream-pages"
SECRET = "pages-secret"


@pytest.fixture(scope="module")
def issuer():
    # Another site than the gateway's 127.0.0.1, as an identity provider is: the way back
    # from it is a cross-site navigation.
    with LocalIssuer(host="localhost") as running:
        running.client_secret = SECRET
        yield running


@pytest.fixture(scope="module")
def stack(tmp_path_factory, issuer):
    workdir = tmp_path_factory.mktemp("oidc-signin")
    with EmbeddedNats(workdir / "nats") as server:
        running = Stack(
            workdir,
            server.url,
            None,
            server.credentials,
            auth="oidc",
            oidc_issuer=issuer.url,
            oidc_audience=issuer.audience,
            oidc_client_id=CLIENT,
            oidc_client_secret=SECRET,
        )
        running.start(wait=False)
        try:
            running.http.headers["Authorization"] = f"Bearer {issuer.mint('ops', ['operator'])}"
            running.wait_ready()
            yield running
        finally:
            running.close()


@pytest.fixture
def browser_page(browser, stack, issuer):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    allowed = {urlsplit(stack.url).netloc, urlsplit(issuer.url).netloc}
    refused: list[str] = []

    def only_ours(route, request) -> None:
        if urlsplit(request.url).netloc in allowed:
            route.continue_()
        else:
            refused.append(request.url)
            route.abort()

    context.route("**/*", only_ours)
    yield context.new_page()
    context.close()
    assert not refused, refused


def test_a_person_signs_in_at_the_identity_provider(browser_page, stack, issuer):
    issuer.person = ("alice", ["submitter"])
    browser_page.goto(stack.url + "/jobs")
    assert browser_page.locator("h1").inner_text() == "Unauthenticated"
    browser_page.locator("#signin-link").click()
    browser_page.wait_for_url(re.compile(r"/signin\?next=/jobs$"))
    valid_html(browser_page)
    shot(browser_page, "signin-oidc")

    issuer.login_page = True
    try:
        browser_page.get_by_role("link", name="Sign in with your identity provider").click()
        browser_page.get_by_role("button", name="Log in").click()
    finally:
        issuer.login_page = False
    browser_page.wait_for_url(re.compile(r"/jobs$"))
    assert browser_page.locator("h1").inner_text() == "Jobs"
    assert browser_page.locator("nav .session code").inner_text() == "oidc:alice"
    names = {cookie["name"] for cookie in browser_page.context.cookies()}
    assert SESSION_COOKIE in names and PENDING_COOKIE not in names
    assert issuer.requests.count("/token") >= 1


def _begin(client: httpx.Client, stack) -> str:
    """Start a sign-in; where the gateway sends the browser (the issuer's /authorize)."""
    started = client.get(f"{stack.url}/signin/oidc", params={"next": "/jobs"})
    assert started.status_code == 303 and PENDING_COOKIE in client.cookies
    return started.headers["location"]


def _callback(issuer_location: str) -> str:
    """Where the issuer sends the browser back: the gateway's callback with a code."""
    back = httpx.get(issuer_location)
    assert back.status_code == 302
    return back.headers["location"]


def test_a_callback_not_started_in_this_browser_is_refused(stack, issuer):
    with httpx.Client() as client:
        location = _begin(client, stack)
        query = parse_qs(urlsplit(location).query)
        assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [CLIENT]
        callback = _callback(location)
        forged = callback.replace("state=", "state=forged")
        answer = client.get(forged)
    assert answer.status_code == 400
    assert "not started in this browser" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")


def test_a_code_is_redeemed_once(stack, issuer):
    issuer.person = ("alice", ["submitter"])
    with httpx.Client() as client:
        callback = _callback(_begin(client, stack))
        pending = client.cookies[PENDING_COOKIE]
        first = client.get(callback)
        assert first.status_code == 303 and first.headers["location"] == "/jobs"
        assert SESSION_COOKIE in first.headers["set-cookie"]
        # The same callback again, pending cookie and all: the issuer refuses the used code.
        client.cookies.set(PENDING_COOKIE, pending, path="/signin")
        again = client.get(callback)
    assert again.status_code == 401
    assert "refused the sign-in: unknown or used code" in again.text


def test_a_person_without_a_role_is_not_signed_in(stack, issuer):
    issuer.person = ("dave", [])
    try:
        with httpx.Client() as client:
            answer = client.get(_callback(_begin(client, stack)))
    finally:
        issuer.person = ("alice", ["submitter"])
    assert answer.status_code == 403
    assert "oidc:dave has no jobstream role" in answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
