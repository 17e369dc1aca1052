"""One delivery of a work queue's message (a submission to an executor, an event to the
notifier): what was delivered, and the four answers a work queue takes. ``MessageDelivery`` is
JetStream's; tests give a recording one, so an executor's attempt or the notifier's handling
runs in-process against the in-memory journal (tests/executor, tests/notifier).
"""

from typing import Protocol

from nats.aio.msg import Msg

from .records import delivery_count, stream_sequence


class Delivery(Protocol):
    subject: str
    data: bytes
    # How many times the message has been delivered, this delivery included (from 1).
    attempt: int
    # The message's sequence in the journal.
    sequence: int

    async def ack(self) -> None:
        """Done with: never delivered again."""
        ...

    async def nak(self, delay: float | None = None) -> None:
        """Deliver it again, after ``delay`` seconds."""
        ...

    async def in_progress(self) -> None:
        """Still being worked on: do not deliver it elsewhere yet."""
        ...

    async def term(self) -> None:
        """Never deliver it again, though it was not carried out."""
        ...


class MessageDelivery:
    """A JetStream consumer's message."""

    def __init__(self, msg: Msg) -> None:
        self.msg = msg
        self.subject = msg.subject
        self.data = msg.data
        self.attempt = delivery_count(msg)
        self.sequence = stream_sequence(msg)

    async def ack(self) -> None:
        await self.msg.ack()

    async def nak(self, delay: float | None = None) -> None:
        await self.msg.nak(delay=delay)

    async def in_progress(self) -> None:
        await self.msg.in_progress()

    async def term(self) -> None:
        await self.msg.term()
