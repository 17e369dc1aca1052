"""Writing events to the stream and reading one job's history back."""

from nats.js import JetStreamContext
from nats.js.api import PubAck
from nats.js.errors import NotFoundError

from jobstream_contracts.events import Event, decode_event
from jobstream_contracts.subjects import STREAM, job_filter


async def publish_event(js: JetStreamContext, event: Event, timeout: float = 5.0) -> PubAck:
    # The event id doubles as the message id, so a publish retried within the duplicate
    # window is stored once.
    return await js.publish(
        event.subject,
        event.encode(),
        timeout=timeout,
        stream=STREAM,
        headers={"Nats-Msg-Id": str(event.event_id)},
    )


async def read_job_events(js: JetStreamContext, job_id: str, after: int = 0) -> list[Event]:
    """The events of one job with stream sequence above ``after``, in stream order."""
    events: list[Event] = []
    seq = after + 1
    subject = job_filter(job_id)
    while True:
        try:
            msg = await js.get_msg(STREAM, seq=seq, subject=subject, next=True, direct=True)
        except NotFoundError:
            return events
        events.append(decode_event(msg.data or b""))
        seq = msg.seq + 1
