"""Fairness between callers: a caller's asynchronous jobs of a process that find
``FAIR_BACKLOG`` of their own already waiting go one lane lower (normal to low), behind the
jobs of callers who have none waiting. One caller's backlog then holds another's job up by
the jobs running and the few the first caller had in its lane, not by its length.

Counted per caller and process from the view, read at most once a ``REFRESH`` per caller,
plus this gateway's own submissions since: a burst of submissions is counted as it comes,
and a submission costs no view read of its own.
"""

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Engine

from jobstream_contracts.ogc import Priority
from jobstream_projector import view

log = structlog.get_logger(__name__)

REFRESH = 1.0
MAX_CALLERS = 10_000
_BELOW = {Priority.HIGH: Priority.NORMAL, Priority.NORMAL: Priority.LOW, Priority.LOW: Priority.LOW}


@dataclass
class _Backlog:
    """One caller's waiting jobs per process: as the view had them at ``read``, and since."""

    read: float
    waiting: Counter[str]
    since: Counter[str] = field(default_factory=Counter)


class Backlogs:
    def __init__(self, engine: Engine, fair_backlog: int) -> None:
        self.engine = engine
        self.fair_backlog = fair_backlog
        self._callers: dict[str, _Backlog] = {}

    async def lane(self, owner: str, process_id: str, priority: Priority) -> Priority:
        """The lane of a caller's next asynchronous job that asked for ``priority``."""
        if self.fair_backlog == 0 or priority is Priority.LOW:
            return priority
        backlog = await self._backlog(owner)
        if backlog is None:
            return priority
        waiting = backlog.waiting[process_id] + backlog.since[process_id]
        backlog.since[process_id] += 1
        return _BELOW[priority] if waiting >= self.fair_backlog else priority

    async def _backlog(self, owner: str) -> _Backlog | None:
        known = self._callers.get(owner)
        now = time.monotonic()
        if known is not None and now - known.read < REFRESH:
            return known
        try:
            counts = await asyncio.to_thread(view.queue_counts, self.engine, owner)
        except Exception as exc:  # noqa: BLE001 - no view: no demotion, the job is not refused
            log.warning("caller's backlog unknown; not demoting", error=repr(exc))
            return None
        if len(self._callers) > MAX_CALLERS:  # forget callers not seen for a while
            self._callers = {o: b for o, b in self._callers.items() if now - b.read < 60}
        waiting = Counter({count.process_id: count.waiting for count in counts})
        self._callers[owner] = known = _Backlog(now, waiting)
        return known
