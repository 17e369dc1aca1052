"""The caps on the requests one gateway holds open: event streams, and long-polls (a
``Prefer: wait`` status read or a synchronous execution).

Each kind has a cap per gateway (503 past it: the gateway is busy) and a cap per caller
(429 past it: that caller holds enough), so no caller can take every slot from the others.
The anonymous caller of an unauthenticated gateway is everyone at once: only the gateway's
cap bounds it, as the job cap does not apply to it either.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from jobstream_contracts.access import ANONYMOUS, Principal
from jobstream_contracts.ogc import ExceptionType
from jobstream_infra.settings import GatewaySettings

from .errors import OGCError


@dataclass
class Slots:
    """Counts one kind of held request against the gateway's cap and each caller's."""

    # What is held, in plural: "event streams", "long-polls".
    kind: str
    limit: int
    per_caller: int
    # The settings that set the caps, named in refusals.
    setting: str
    open: int = 0
    by_caller: Counter[str] = field(default_factory=Counter)

    def take(self, principal: Principal) -> None:
        counted = principal != ANONYMOUS
        if counted and self.by_caller[principal.id] >= self.per_caller:
            raise OGCError(
                429,
                ExceptionType.TOO_MANY_REQUESTS,
                f"{principal.id} holds {self.per_caller} {self.kind} open, as many as one "
                f"caller may ({self.setting}_PER_CALLER); close one, or retry later",
                "Too many open requests",
                headers={"Retry-After": "5"},
            )
        if self.open >= self.limit:
            raise OGCError(
                503,
                ExceptionType.SERVICE_UNAVAILABLE,
                f"this gateway serves {self.limit} {self.kind} at once ({self.setting}); "
                "retry later",
                "Too many open requests",
                headers={"Retry-After": "5"},
            )
        self.open += 1
        if counted:
            self.by_caller[principal.id] += 1

    def give(self, principal: Principal) -> None:
        self.open -= 1
        if principal != ANONYMOUS:
            self.by_caller[principal.id] -= 1
            if not self.by_caller[principal.id]:
                del self.by_caller[principal.id]  # a caller gone holds no memory

    @contextmanager
    def held(self, principal: Principal) -> Iterator[None]:
        """One slot for the ``with`` block, or 429/503 before it starts."""
        self.take(principal)
        try:
            yield
        finally:
            self.give(principal)


@dataclass(frozen=True)
class HeldRequests:
    """The gateway's slots for event streams and for long-polls, apart: a client refused a
    stream falls back to long-polls (the Python client does)."""

    streams: Slots
    waits: Slots

    @classmethod
    def of(cls, settings: GatewaySettings) -> "HeldRequests":
        return cls(
            Slots(
                "event streams",
                settings.max_event_streams,
                settings.max_event_streams_per_caller,
                "JOBSTREAM_MAX_EVENT_STREAMS",
            ),
            Slots(
                "long-polls",
                settings.max_long_polls,
                settings.max_long_polls_per_caller,
                "JOBSTREAM_MAX_LONG_POLLS",
            ),
        )
