"""One POST of a callback, with Standard Webhooks headers: webhook-id (the reported event's id,
so receivers drop repeats), webhook-timestamp, and webhook-signature when a secret is set.

Decisions:

- The connection goes to the address the check passed (``CheckedCallback.address``), never to a
  second lookup of the name; the Host header and, for https, the TLS server name (SNI, and the
  certificate's check) stay the URI's host name.
- No connection is kept for another delivery: a pooled connection is keyed by address, so one
  made for one name would carry another name's request past its certificate check.
- Redirects are not followed: a 3xx is a refusal like any non-2xx.
- Only the answer's head is read (h11 caps it at 100 KiB); its body never is, so a huge or
  endless body costs nothing. The caller bounds the whole delivery with a deadline.
"""

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from jobstream_infra.callbacks import CheckedCallback


class DeliveryFailed(Exception):
    """The receiver refused, failed or did not answer."""


def callback_client() -> httpx.AsyncClient:
    """The notifier's HTTP client: no kept connections, no redirects, no proxy from the
    environment (it would connect on the notifier's behalf, to wherever the name leads)."""
    return httpx.AsyncClient(
        follow_redirects=False,
        limits=httpx.Limits(max_keepalive_connections=0),
        trust_env=False,
        timeout=None,  # the delivery's deadline bounds everything
    )


def webhook_headers(message_id: str, body: str, secret: str | None) -> dict[str, str]:
    now = datetime.now(UTC)
    headers = {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp()))}
    if secret:
        headers["webhook-signature"] = Webhook(secret).sign(message_id, now, body)
    return headers


async def post(
    client: httpx.AsyncClient,
    callback: CheckedCallback,
    document: Any,
    message_id: str,
    secret: str | None,
) -> int:
    """POST ``document`` as JSON; the status code when it is 2xx, else DeliveryFailed."""
    body = json.dumps(document, separators=(",", ":"))
    url = httpx.URL(callback.uri)
    headers = {
        "Content-Type": "application/json",
        "Host": url.netloc.decode("ascii"),
        **webhook_headers(message_id, body, secret),
    }
    tls = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
    try:
        async with client.stream(
            "POST",
            url.copy_with(host=str(callback.address)),
            content=body.encode(),
            headers=headers,
            extensions=tls,
            follow_redirects=False,
        ) as response:
            pass  # the head is all that counts; the body is never read
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
    if not response.is_success:
        raise DeliveryFailed(f"{response.status_code} {response.reason_phrase}")
    return response.status_code
