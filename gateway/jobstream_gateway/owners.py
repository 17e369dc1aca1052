"""Who owns each job, for showing a caller only their own jobs' events in a live stream."""

from collections import OrderedDict
from collections.abc import Awaitable, Callable

from jobstream_contracts.events import Event, JobSubmitted

from .context import Context

# Jobs whose owner a stream remembers; older ones are asked again when they show up.
REMEMBERED = 10_000


class Owners:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.known: OrderedDict[str, str | None] = OrderedDict()

    async def owner(self, event: Event) -> str | None:
        if isinstance(event, JobSubmitted):
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
