"""Writing events to the stream and reading one job's history back."""

from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import BadRequestError, NotFoundError

from jobstream_contracts.events import Event, JobDismissed, decode_event
from jobstream_contracts.subjects import STREAM, event_subject, job_filter

# JetStream's answer when an expected-last-sequence condition does not hold.
_WRONG_LAST_SEQUENCE = 10071


class HistoryChanged(Exception):
    """The job's history grew since the caller last read it; nothing was written."""


async def publish_event(
    js: JetStreamContext, event: Event, timeout: float = 5.0, expect_last: int | None = None
) -> PubAck:
    """Append an event; with ``expect_last``, only if the job's newest event has that sequence.

    The condition makes writes that must happen at most once (a job's final event, the
    submission of an idempotent request) safe against racing writers: JetStream checks it
    atomically against every subject of the job. The event id doubles as the message id, so a
    publish retried within the duplicate window is stored once.
    """
    headers = {"Nats-Msg-Id": str(event.event_id)}
    if expect_last is not None:
        headers["Nats-Expected-Last-Subject-Sequence"] = str(expect_last)
        headers["Nats-Expected-Last-Subject-Sequence-Subject"] = job_filter(event.job_id)
    try:
        return await js.publish(
            event.subject, event.encode(), timeout=timeout, stream=STREAM, headers=headers
        )
    except BadRequestError as exc:
        if exc.err_code == _WRONG_LAST_SEQUENCE:
            raise HistoryChanged(event.job_id) from exc
        raise


async def read_job_history(
    js: JetStreamContext, job_id: str, after: int = 0
) -> list[tuple[int, Event]]:
    """``(sequence, event)`` of one job's events above ``after``, in stream order."""
    history: list[tuple[int, Event]] = []
    seq = after + 1
    subject = job_filter(job_id)
    while True:
        try:
            msg = await js.get_msg(STREAM, seq=seq, subject=subject, next=True, direct=True)
        except NotFoundError:
            return history
        assert msg.seq is not None  # a stored message always has its sequence
        history.append((msg.seq, decode_event(msg.data or b"")))
        seq = msg.seq + 1


async def read_job_events(js: JetStreamContext, job_id: str, after: int = 0) -> list[Event]:
    return [event for _, event in await read_job_history(js, job_id, after)]


async def is_dismissed(js: JetStreamContext, process_id: str, job_id: str) -> bool:
    """Whether the stream holds a dismissal of the job (one direct get, no history read)."""
    subject = event_subject(process_id, job_id, JobDismissed.token)
    try:
        await js.get_last_msg(STREAM, subject, direct=True)
    except NotFoundError:
        return False
    return True
