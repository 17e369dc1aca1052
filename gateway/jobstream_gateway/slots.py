"""The cap on the event streams one gateway serves at once."""

from jobstream_contracts.ogc import ExceptionType

from .errors import OGCError


class StreamSlots:
    """Counts the open streams of one gateway against its cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0

    def take(self) -> None:
        if self.open >= self.limit:
            raise OGCError(
                503,
                ExceptionType.SERVICE_UNAVAILABLE,
                f"this gateway serves {self.limit} event streams at once; retry later",
                "Too many streams",
                headers={"Retry-After": "5"},
            )
        self.open += 1

    def give(self) -> None:
        self.open -= 1
