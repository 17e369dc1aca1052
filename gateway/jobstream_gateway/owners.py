"""A caller's own jobs' events: replayed from where the view's index says they are, then
followed live, where who owns each new event's job is looked up and remembered.

A replay thus reads only the caller's events, however many other callers' the stream holds;
only what the view has not folded yet (its lag) and what comes live is filtered here.
"""

import asyncio
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass

from jobstream_contracts.events import Event, JobDefinition, JobSubmitted
from jobstream_infra.journal import Recorded
from jobstream_infra.subject_patterns import matches_any
from jobstream_projector import view

from .context import Context
from .errors import VIEW_FAILURES

# Jobs whose owner a stream remembers; older ones are asked again when they show up.
REMEMBERED = 10_000


class Owners:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.known: OrderedDict[str, str | None] = OrderedDict()

    async def owner(self, event: Event) -> str | None:
        if isinstance(event, JobSubmitted | JobDefinition):
            owner = event.owner
        elif event.job_id in self.known:
            self.known.move_to_end(event.job_id)
            return self.known[event.job_id]
        else:  # submitted before the stream's start: the view (or the stream) knows
            state = await self.ctx.job(event.job_id)
            owner = state.owner if state is not None else None
        self.known[event.job_id] = owner
        if len(self.known) > REMEMBERED:
            self.known.popitem(last=False)
        return owner

    def owned_by(self, principal_id: str) -> Callable[[Event], Awaitable[bool]]:
        async def shown(event: Event) -> bool:
            return await self.owner(event) == principal_id

        return shown


# Events a replay asks the stream for at once.
REPLAY_PAGE = 100


@dataclass
class OwnedReplay:
    """The events of ``owner``'s jobs matching ``filters``, read by their sequences."""

    ctx: Context
    owner: str
    filters: list[str]
    # Where the replay ended: every event of the caller's up to here was given.
    reached: int = 0

    async def pages(self, after: int) -> AsyncGenerator[list[Recorded], None]:
        """Pages of the events after sequence ``after``, up to the view's checkpoint."""
        cursor = self.reached = after
        while True:
            try:
                sequences, checkpoint = await asyncio.to_thread(
                    view.owned_sequences, self.ctx.engine, self.owner, cursor, REPLAY_PAGE
                )
            except VIEW_FAILURES:
                return  # the view is out of reach: the live part reads from here instead
            if not sequences:
                self.reached = max(cursor, checkpoint)
                return
            records = await self.ctx.journal.at(sequences)
            yield [r for r in records if matches_any(self.filters, r.event.subject)]
            cursor = self.reached = sequences[-1]
