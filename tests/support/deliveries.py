"""A work queue's delivery that records how it was answered: the second implementation of
jobstream_infra.delivery.Delivery, for components run in-process on the in-memory journal."""


class RecordedDelivery:
    """Answers in order (ack, nak with its delay, term); heartbeats counted apart."""

    def __init__(self, subject: str, data: bytes, sequence: int, attempt: int = 1) -> None:
        self.subject = subject
        self.data = data
        self.sequence = sequence
        self.attempt = attempt
        self.answers: list[tuple[str, float | None]] = []
        self.heartbeats = 0

    async def ack(self) -> None:
        self.answers.append(("ack", None))

    async def nak(self, delay: float | None = None) -> None:
        self.answers.append(("nak", delay))

    async def in_progress(self) -> None:
        self.heartbeats += 1

    async def term(self) -> None:
        self.answers.append(("term", None))
