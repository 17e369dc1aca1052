"""An event as the stream stored it, and reading a consumer message's place in the stream:
what the journal, its readers and the deliveries share."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from nats.aio.msg import Msg

from jobstream_contracts.cloudevents import (
    UNREADABLE_TYPE,
    subject_of,
    to_cloudevent,
    unreadable_cloudevent,
)
from jobstream_contracts.events import Event, EventDecodeError, EventOffSubject, decode_event

from .metrics import EVENTS_OFF_SUBJECT

log = structlog.get_logger()

UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Recorded:
    """An event as the stream holds it: its sequence and when the stream stored it."""

    sequence: int
    time: datetime
    event: Event


@dataclass(frozen=True)
class CaughtUp:
    """A job's readable events above a sequence, and how far the read went: the sequence of the
    newest message stored on the job's subjects, readable or not (what a conditional append
    must name: a skipped forgery is still the job's newest message to JetStream)."""

    records: list[Recorded]
    through: int


def stream_sequence(msg: Msg) -> int:
    """A consumer's message's stream sequence, read from its reply subject.

    What ``msg.metadata.sequence.stream`` answers, at a fifth of the cost: nats-py's metadata
    parses every field (timestamp, counts, names) into objects, for each of the millions of
    events a rebuild folds. Anything but the two known layouts goes to nats-py.
    """
    found = _ack_token(msg, 1)
    return msg.metadata.sequence.stream if found is None else found


def stored_time(msg: Msg) -> datetime:
    """When the stream stored a consumer's message, to the microsecond below: as a direct get
    reads it. nats-py's ``metadata.timestamp`` goes through a float and rounds, a microsecond
    off at times, so an event read by a consumer and by the journal (or from the archive,
    which the journal's reads wrote) would differ."""
    found = _ack_token(msg, 3)
    if found is None:
        return msg.metadata.timestamp
    return UNIX_EPOCH + timedelta(microseconds=found // 1000)


def delivery_count(msg: Msg) -> int:
    """How many times a consumer's message has been delivered, this time included: what
    ``msg.metadata.num_delivered`` answers, read as ``stream_sequence`` reads its sequence."""
    found = _ack_token(msg, 0)
    return msg.metadata.num_delivered if found is None else found


def _ack_token(msg: Msg, offset: int) -> int | None:
    """The number ``offset`` places after the delivery count in the reply subject; None for a
    layout other than the two known ones."""
    tokens = (msg.reply or "").split(".")
    if tokens[:2] != ["$JS", "ACK"]:
        return None
    # $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
    if len(tokens) == 9:
        return int(tokens[4 + offset])
    # $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<stream seq>.…
    if len(tokens) >= 11:
        return int(tokens[6 + offset])
    return None


def recorded(sequence: int, time: datetime, subject: str, data: bytes) -> Recorded | None:
    """The record of a stored message; None for an event that disagrees with its subject,
    which every reader skips and counts. EventDecodeError for one that cannot be read."""
    try:
        return Recorded(sequence, time, decode_event(data, subject))
    except EventOffSubject as exc:
        EVENTS_OFF_SUBJECT.inc()
        log.warning(
            "skipped an event that disagrees with its subject", seq=sequence, error=str(exc)
        )
        return None


@dataclass(frozen=True)
class Stored:
    """A message as the stream holds it, not yet read as an event."""

    sequence: int
    time: datetime
    subject: str
    data: bytes

    @classmethod
    def of(cls, msg: Msg) -> "Stored":
        return cls(stream_sequence(msg), stored_time(msg), msg.subject, msg.data)

    def recorded(self) -> Recorded | None:
        """Its record; None or EventDecodeError as ``recorded`` answers."""
        return recorded(self.sequence, self.time, self.subject, self.data)

    def cloudevent(self) -> dict[str, Any]:
        """As a CloudEvent: the event's, or for a message that is not an event this code can
        read, one that records its subject, bytes and why (``unreadable_cloudevent``)."""
        try:
            event = decode_event(self.data, self.subject)
        except EventDecodeError as exc:
            return unreadable_cloudevent(
                self.sequence, self.time, self.subject, self.data, str(exc)
            )
        return to_cloudevent(event, self.sequence, self.time)

    @classmethod
    def of_cloudevent(cls, cloudevent: dict[str, Any]) -> "Stored":
        """The message a CloudEvent written by ``cloudevent`` stood for: its place, its
        subject and (as the same event, or the same bytes for an unreadable one) its data."""
        sequence = int(cloudevent["sequence"])
        stored = datetime.fromisoformat(cloudevent["recorded"])
        data = cloudevent["data"]
        if cloudevent["type"] == UNREADABLE_TYPE:
            return cls(sequence, stored, data["subject"], data["data"].encode())
        return cls(sequence, stored, subject_of(cloudevent), json.dumps(data).encode())


def readable(messages: Iterable[Stored]) -> list[Recorded]:
    """The records of the events among ``messages`` this code can read; readers skip the
    others (the projector parks them, the archive keeps them as the stream did)."""
    records = []
    for message in messages:
        try:
            record = message.recorded()
        except EventDecodeError:
            continue
        if record is not None:
            records.append(record)
    return records
