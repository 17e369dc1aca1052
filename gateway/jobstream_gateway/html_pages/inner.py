"""Asking the application itself for a resource's JSON, as the client that asked would."""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Scope


@dataclass(frozen=True)
class Answer:
    status: int
    document: Any
    headers: dict[str, str]
    # The route that answered: request metrics label the page by it.
    route: object = None


# What the inner request never carries. The browser's validators are those of whatever it
# cached at the page's URL, often the JSON its script fetched there: forwarded, they would
# have the page answered "304 Not Modified" for a page the browser does not hold.
_NOT_FORWARDED = frozenset(
    {
        b"accept",
        b"accept-encoding",
        b"if-none-match",
        b"if-modified-since",
        b"if-match",
        b"if-unmodified-since",
        b"if-range",
        b"prefer",
    }
)


def _json_scope(scope: Scope, path: str, query: str) -> Scope:
    """The same request (credentials, client, server) for ``path`` as JSON: a plain GET of
    the whole current document, whatever the browser held or asked to wait for."""
    headers = [(k, v) for k, v in scope["headers"] if k not in _NOT_FORWARDED]
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "f"]
    return {
        **scope,
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(kept).encode(),
        "headers": [*headers, (b"accept", b"application/json")],
    }


async def ask_json(app: ASGIApp, scope: Scope, path: str, query: str = "") -> Answer:
    started: dict[str, Any] = {}
    body = bytearray()

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    inner = _json_scope(scope, path, query)
    await app(inner, receive, send)
    headers = {k.decode().lower(): v.decode() for k, v in started.get("headers", [])}
    try:
        document = json.loads(body) if body else None
    except ValueError:
        document = body.decode(errors="replace")
    return Answer(started.get("status", 500), document, headers, inner.get("route"))
