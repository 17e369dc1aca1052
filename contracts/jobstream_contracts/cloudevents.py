"""Job events as CloudEvents 1.0 (JSON format): what the history endpoint, the event streams and
the export hand to people and services that do not speak NATS.

An event's own JSON is the CloudEvent's ``data``, so ``event_of`` gets back exactly the event
the stream holds and the contracts' fold reads an export as it reads the stream.
"""

import json
from datetime import datetime
from typing import Any

from .events import EVENT_TYPES, Event, decode_event
from .schedule_events import ScheduleEvent
from .subjects import event_subject

SPEC_VERSION = "1.0"
# The sequence extension's value is a String that orders lexicographically: a stream sequence
# (an unsigned 64-bit integer) zero-padded to the 20 digits of the largest.
SEQUENCE_DIGITS = 20
TYPE_PREFIX = "dev.jobstream."
MEDIA_TYPE = "application/cloudevents+json"


def cloud_type(event_type: str) -> str:
    """The CloudEvents ``type`` of an event type: reverse-DNS prefixed, as the spec asks."""
    return f"{TYPE_PREFIX}{event_type}"


def sequence_text(sequence: int) -> str:
    """The CloudEvents ``sequence`` of a stream sequence: ``"00000000000000000042"``."""
    return f"{sequence:0{SEQUENCE_DIGITS}d}"


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
        "sequence": sequence_text(sequence),
    }
    if recorded is not None:
        cloudevent["recorded"] = recorded.isoformat()
    return cloudevent


def schedule_cloudevent(event: ScheduleEvent, sequence: int) -> dict[str, Any]:
    """A schedule's event as a CloudEvent: its source the schedule, as a job's is its process."""
    data = event.model_dump(mode="json")
    return {
        "specversion": SPEC_VERSION,
        "id": str(event.event_id),
        "source": f"/schedules/{event.schedule_id}",
        "type": cloud_type(data["type"]),
        "subject": event.schedule_id,
        "time": data["time"],
        "datacontenttype": "application/json",
        "data": data,
        "sequence": sequence_text(sequence),
    }


# The type of an export's line for a stored message that is not an event jobstream can read.
UNREADABLE_TYPE = f"{TYPE_PREFIX}Unreadable"


def unreadable_cloudevent(
    sequence: int, recorded: datetime, subject: str, data: bytes, reason: str
) -> dict[str, Any]:
    """What an export skipping unreadable messages writes in their place, so that the gap is
    recorded: the message's subject, why it cannot be read, and its bytes as text. ``event_of``
    refuses it, as the stream's readers refuse the message."""
    return {
        "specversion": SPEC_VERSION,
        "id": f"unreadable-{sequence}",
        "source": "/stream",
        "type": UNREADABLE_TYPE,
        "time": recorded.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "subject": subject,
            "reason": reason,
            "data": data.decode("utf-8", errors="replace"),
        },
        "sequence": sequence_text(sequence),
        "recorded": recorded.isoformat(),
    }


def event_of(cloudevent: dict[str, Any]) -> tuple[int, Event]:
    """The stream sequence and the event a CloudEvent of ours carries; its data must agree with
    its envelope (source, subject and type), as a stored event with its subject. The sequence
    is read as text or, as exports before 2026-12-07 wrote it, as a number."""
    data = json.dumps(cloudevent["data"]).encode()
    return int(cloudevent["sequence"]), decode_event(data, subject_of(cloudevent))


def subject_of(cloudevent: dict[str, Any]) -> str:
    """The stream subject the envelope names: ``""`` (which no event agrees with) for an
    envelope that names none."""
    kind = EVENT_TYPES.get(str(cloudevent.get("type", "")).removeprefix(TYPE_PREFIX))
    process_id = str(cloudevent.get("source", "")).removeprefix("/processes/")
    if kind is None:
        return ""
    data = cloudevent.get("data")
    token = kind.token_in(data if isinstance(data, dict) else {})
    return event_subject(process_id, str(cloudevent.get("subject", "")), token)
