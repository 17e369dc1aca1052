"""Each job's state as the notifier last folded it, so a callback reads only the events since
the one before: a job with N callbacks costs N short reads, not N reads of its whole history.

A callback's document is the job as of its event, never later (a job dismissed after its
success must not withdraw the results its success callback carries): what was read past the
event waits, unfolded, for the next callback. The notifier handles several events at once,
one job's too: an entry is replaced, never changed, and only by one folded further. A job is
forgotten at its final event; the others, least recently used first past ``size`` jobs.
"""

from collections import OrderedDict
from dataclasses import dataclass

from jobstream_contracts.fold import JobState, apply
from jobstream_infra.journal import Journal, Recorded


@dataclass(frozen=True)
class Folded:
    state: JobState | None
    # The sequence of the last event folded into ``state`` (0: none).
    through: int
    # Events read past ``through``, in stream order, not folded yet.
    ahead: tuple[Recorded, ...] = ()

    @property
    def read_through(self) -> int:
        return self.ahead[-1].sequence if self.ahead else self.through


NOTHING_READ = Folded(None, 0)


class FoldedJobs:
    def __init__(self, journal: Journal, size: int) -> None:
        self.journal = journal
        self.size = size
        self.jobs: OrderedDict[str, Folded] = OrderedDict()

    async def state_at(self, job_id: str, sequence: int) -> JobState | None:
        """The job folded through its event at ``sequence``."""
        known = self.jobs.get(job_id, NOTHING_READ)
        if known.through > sequence:  # a redelivery of an earlier event: fold it again
            known = NOTHING_READ
        if known.read_through < sequence:
            fresh = await self.journal.read(job_id, after=known.read_through)
            known = Folded(known.state, known.through, (*known.ahead, *fresh))
        folded = _fold_through(known, sequence)
        self._keep(job_id, folded)
        return folded.state

    def forget(self, job_id: str) -> None:
        self.jobs.pop(job_id, None)

    def _keep(self, job_id: str, folded: Folded) -> None:
        current = self.jobs.get(job_id)
        if current is not None and current.through > folded.through:
            return  # another callback of this job folded further meanwhile
        self.jobs[job_id] = folded
        self.jobs.move_to_end(job_id)
        while len(self.jobs) > self.size:
            self.jobs.popitem(last=False)


def _fold_through(known: Folded, sequence: int) -> Folded:
    due = [record for record in known.ahead if record.sequence <= sequence]
    state = known.state
    for record in due:
        state = apply(state, record.event)
    through = due[-1].sequence if due else known.through
    return Folded(state, through, known.ahead[len(due) :])
