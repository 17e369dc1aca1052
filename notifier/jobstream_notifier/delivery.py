"""One POST of a callback, with Standard Webhooks headers: webhook-id (the reported event's id,
so receivers drop repeats), webhook-timestamp, and webhook-signature when a secret is set."""

import json
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook


class DeliveryFailed(Exception):
    """The receiver refused, failed or did not answer."""


def webhook_headers(message_id: str, body: str, secret: str | None) -> dict[str, str]:
    now = datetime.now(UTC)
    headers = {"webhook-id": message_id, "webhook-timestamp": str(int(now.timestamp()))}
    if secret:
        headers["webhook-signature"] = Webhook(secret).sign(message_id, now, body)
    return headers


async def post(
    client: httpx.AsyncClient, uri: str, document: Any, message_id: str, secret: str | None
) -> int:
    """POST ``document`` as JSON; the status code when it is 2xx, else DeliveryFailed."""
    body = json.dumps(document, separators=(",", ":"))
    headers = {"Content-Type": "application/json", **webhook_headers(message_id, body, secret)}
    try:
        response = await client.post(uri, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from None
    if not response.is_success:
        raise DeliveryFailed(f"{response.status_code} {response.reason_phrase}")
    return response.status_code
