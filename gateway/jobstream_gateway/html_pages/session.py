"""Signed-in browsers: a session cookie standing in for the Authorization header.

Decisions:
- The cookie holds the credential the person signed in with (an API key or an access token),
  HttpOnly, SameSite=Lax, Secure on https. Every request is then checked exactly as an API
  call with that credential: a revoked key or an expired token ends the session at once, and
  no gateway keeps session state.
- The cookie stands in only where no Authorization header was sent: on GET and HEAD always,
  on changes only with the ``X-Jobstream-Page`` header the pages' script sends. A form or a
  script of another site cannot send that header without a CORS preflight this gateway never
  grants: cross-site request forgery fails whatever the browser does with SameSite. So the
  cookie is SameSite=Lax, not Strict: a link from a chat or a mail, or the identity
  provider's redirect back, opens the page signed in.
- An answer given with the cookie's credential is private: ``Cache-Control: private,
  no-store`` unless the route said otherwise, as shared caches treat Authorization.
"""

from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "jobstream_session"
# Who signed in, for the pages' header only: it grants nothing.
SIGNED_IN_AS_COOKIE = "jobstream_signed_in_as"
PAGE_HEADER = "x-jobstream-page"
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Session:
    credential: str
    signed_in_as: str


def session_of(headers: Headers) -> Session | None:
    """The browser session a request carries, if any."""
    raw = headers.get("cookie", "")
    # Parsed only when there is a session to find (CPython before 3.11.10 unquotes cookies
    # in quadratic time); leniently, as browsers do: another site's odd cookie hides nothing.
    if f"{SESSION_COOKIE}=" not in raw:
        return None
    cookies = cookie_parser(raw)
    credential = cookies.get(SESSION_COOKIE)
    if not credential:
        return None
    return Session(credential, cookies.get(SIGNED_IN_AS_COOKIE, ""))


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
                send = _private(send)
        await self.app(scope, receive, send)


def _private(send: Send) -> Send:
    async def send_private(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.setdefault("cache-control", "private, no-store")
        await send(message)

    return send_private
