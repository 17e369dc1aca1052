"""Signed-in browsers: a session cookie standing in for the Authorization header.

Decisions:
- The cookie holds the credential the person signed in with (an API key or an access token),
  HttpOnly, SameSite=Strict, Secure on https. Every request is then checked exactly as an API
  call with that credential: a revoked key or an expired token ends the session at once, and
  no gateway keeps session state.
- The cookie stands in only where no Authorization header was sent: on safe methods always, on
  unsafe ones only with the ``X-Jobstream-Page`` header the pages' script sends. A form or a
  script of another site cannot send that header without a CORS preflight this gateway never
  grants: cross-site request forgery fails even in a browser ignoring SameSite.
"""

from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

SESSION_COOKIE = "jobstream_session"
# Who signed in, for the pages' header only: it grants nothing.
SIGNED_IN_AS_COOKIE = "jobstream_signed_in_as"
PAGE_HEADER = "x-jobstream-page"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Session:
    credential: str
    signed_in_as: str


def session_of(headers: Headers) -> Session | None:
    """The browser session a request carries, if any."""
    cookies = SimpleCookie()
    try:
        cookies.load(headers.get("cookie", ""))
    except CookieError:
        return None
    credential = cookies.get(SESSION_COOKIE)
    if credential is None or not credential.value:
        return None
    who = cookies.get(SIGNED_IN_AS_COOKIE)
    return Session(credential.value, who.value if who is not None else "")


def stands_in(scope: Scope, headers: Headers) -> bool:
    """Whether a session cookie may stand in for this request's missing credential."""
    if "authorization" in headers:
        return False
    return scope["method"] in SAFE_METHODS or PAGE_HEADER in headers


class SessionCookies:
    """ASGI middleware giving a signed-in browser's requests their bearer credential."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            session = session_of(headers)
            if session is not None and stands_in(scope, headers):
                # In place: the request metrics outside read the route routing stores here.
                bearer = f"Bearer {session.credential}".encode("latin-1")
                scope["headers"] = [*scope["headers"], (b"authorization", bearer)]
        await self.app(scope, receive, send)
