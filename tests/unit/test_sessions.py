"""Which requests a browser's session cookie may authenticate, where signing in may lead, and
the OIDC sign-in's PKCE and pending state: pure decisions, no server."""

import base64
from urllib.parse import parse_qs

import pytest
from starlette.datastructures import Headers

from jobstream_gateway.html_pages.session import (
    PAGE_HEADER,
    SESSION_COOKIE,
    SIGNED_IN_AS_COOKIE,
    Session,
    session_of,
    stands_in,
)
from jobstream_gateway.oidc_login import PendingSignIn, authorization_url, challenge_of
from jobstream_gateway.signin import local_path


def _headers(**values: str) -> Headers:
    return Headers({name.replace("_", "-"): value for name, value in values.items()})


def test_a_session_is_read_from_its_cookies():
    cookie = f"other=1; {SESSION_COOKIE}=jsk_abc-123; {SIGNED_IN_AS_COOKIE}=key:ada"
    assert session_of(_headers(cookie=cookie)) == Session("jsk_abc-123", "key:ada")
    # Another application's odd cookie hides nothing (Python's SimpleCookie drops them all).
    odd = f'prefs={{"a": 1}}; {SESSION_COOKIE}=jsk_abc; x=b c'
    assert session_of(_headers(cookie=odd)) == Session("jsk_abc", "")
    assert session_of(_headers(cookie="other=1")) is None
    assert session_of(_headers(cookie=f"{SESSION_COOKIE}=")) is None
    assert session_of(_headers()) is None


@pytest.mark.parametrize(
    ("method", "headers", "expected"),
    [
        ("GET", {}, True),
        ("HEAD", {}, True),
        ("POST", {}, False),
        ("DELETE", {}, False),
        ("POST", {PAGE_HEADER: "1"}, True),
        ("DELETE", {PAGE_HEADER: "1"}, True),
        # A credential the request sent itself always wins.
        ("GET", {"authorization": "Bearer jsk_other"}, False),
        ("POST", {PAGE_HEADER: "1", "authorization": "Bearer jsk_other"}, False),
    ],
)
def test_the_cookie_stands_in_for_safe_requests_and_the_pages_own(method, headers, expected):
    assert stands_in({"method": method}, Headers(headers)) is expected


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/jobs?status=running", "/jobs?status=running"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://elsewhere.example/", "/"),
        ("//elsewhere.example/", "/"),
        ("/\\elsewhere.example/", "/"),
        ("jobs", "/"),
        # Browsers drop tabs and newlines: this would become //elsewhere.example/.
        ("/\t/elsewhere.example/", "/"),
        ("/\n/elsewhere.example/", "/"),
    ],
)
def test_signing_in_leads_only_to_this_site(target, expected):
    assert local_path(target) == expected


def test_the_pkce_challenge_is_rfc_7636s():
    # RFC 7636, Appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert challenge_of(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_pending_sign_in_survives_its_cookie_and_nothing_else_does():
    pending = PendingSignIn.begin("/jobs?status=running")
    assert PendingSignIn.from_cookie(pending.cookie()) == pending
    assert pending.answers(pending.state) and not pending.answers("other")
    assert not pending.answers(None)
    assert not pending.answers("é")  # not ASCII: refused, not a TypeError
    for broken in (None, "", "not base64!", "e30=", base64.urlsafe_b64encode(b"[1]").decode()):
        assert PendingSignIn.from_cookie(broken) is None
    elsewhere = PendingSignIn("s", "v", "https://elsewhere.example/")
    assert PendingSignIn.from_cookie(elsewhere.cookie()) == PendingSignIn("s", "v", "/")
    odd_next = base64.urlsafe_b64encode(b'{"state": "s", "verifier": "v", "next": 5}').decode()
    assert PendingSignIn.from_cookie(odd_next) == PendingSignIn("s", "v", "/")


def test_the_authorization_request_asks_for_a_code_with_s256():
    pending = PendingSignIn("the-state", "the-verifier", "/")
    url = authorization_url(
        "https://idp.example/auth?realm=x",
        "pages",
        "https://js.example/signin/callback",
        "openid",
        pending,
    )
    base, _, query = url.partition("?")
    assert base == "https://idp.example/auth"
    assert parse_qs(query) == {
        "realm": ["x"],
        "response_type": ["code"],
        "client_id": ["pages"],
        "redirect_uri": ["https://js.example/signin/callback"],
        "scope": ["openid"],
        "state": ["the-state"],
        "code_challenge": [challenge_of("the-verifier")],
        "code_challenge_method": ["S256"],
    }
