"""Which requests a browser's session cookie may authenticate, and where signing in may lead:
pure decisions, no server."""

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
from jobstream_gateway.signin import local_path


def _headers(**values: str) -> Headers:
    return Headers({name.replace("_", "-"): value for name, value in values.items()})


def test_a_session_is_read_from_its_cookies():
    cookie = f"other=1; {SESSION_COOKIE}=jsk_abc-123; {SIGNED_IN_AS_COOKIE}=key:ada"
    assert session_of(_headers(cookie=cookie)) == Session("jsk_abc-123", "key:ada")
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
    ],
)
def test_signing_in_leads_only_to_this_site(target, expected):
    assert local_path(target) == expected
