"""Job events as CloudEvents 1.0 (JSON format): what the history endpoint, the event streams and
the export hand to people and services that do not speak NATS.

An event's own JSON is the CloudEvent's ``data``, so ``event_of`` gets back exactly the event
the stream holds and the contracts' fold reads an export as it reads the stream.
"""

import json
from datetime import datetime
from typing import Any

from .events import Event, decode_event

SPEC_VERSION = "1.0"
TYPE_PREFIX = "dev.jobstream."
MEDIA_TYPE = "application/cloudevents+json"


def cloud_type(event_type: str) -> str:
    """The CloudEvents ``type`` of an event type: reverse-DNS prefixed, as the spec asks."""
    return f"{TYPE_PREFIX}{event_type}"


def to_cloudevent(event: Event, sequence: int, recorded: datetime | None = None) -> dict[str, Any]:
    """``sequence`` (the stream sequence) and ``recorded`` (when the stream stored it) are
    extension attributes: the first orders and resumes, the second answers "as of when"."""
    data = event.model_dump(mode="json")
    cloudevent: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": str(event.event_id),
        "source": f"/processes/{event.process_id}",
        "type": cloud_type(data["type"]),
        "subject": event.job_id,
        "time": data["time"],
        "datacontenttype": "application/json",
        "data": data,
        "sequence": sequence,
    }
    if recorded is not None:
        cloudevent["recorded"] = recorded.isoformat()
    return cloudevent


def event_of(cloudevent: dict[str, Any]) -> tuple[int, Event]:
    """The stream sequence and the event a CloudEvent of ours carries."""
    return int(cloudevent["sequence"]), decode_event(json.dumps(cloudevent["data"]).encode())
