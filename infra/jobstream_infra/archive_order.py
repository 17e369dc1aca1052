"""The archive's messages in stream order, to merge with what the stream still holds: what a
rebuild, a projector behind an archived region and the export read.

Files' sequence ranges overlap (a file holds whole jobs, interleaved in the stream with jobs
archived later or never), so each file is read only once the reader's position reaches its
first sequence, and its messages wait in a heap until their turn: a reader holds the files
around its position, not the whole archive. The calls list or read files and block: async
readers make them on a thread.
"""

import heapq
from collections.abc import Iterable
from datetime import datetime
from itertools import count
from typing import Protocol, TypeVar

from jobstream_contracts.archive import MANIFEST_SUFFIX, ArchiveManifest

from .archive import Archive
from .records import Stored


class Placed(Protocol):
    @property
    def sequence(self) -> int: ...


M = TypeVar("M", bound=Placed)


def in_sequence(archived: Iterable[M], live: Iterable[M], after: int = 0) -> list[M]:
    """Both above ``after``, in sequence order, each sequence once: the live copy of a
    message that is in both (archived, not yet trimmed)."""
    by_sequence = {m.sequence: m for m in archived if m.sequence > after}
    by_sequence.update((m.sequence, m) for m in live if m.sequence > after)
    return [by_sequence[sequence] for sequence in sorted(by_sequence)]


class ArchivedInOrder:
    """The messages of ``archive`` (of one job, with ``job_id``) above a sequence, taken in
    sequence order."""

    def __init__(self, archive: Archive, job_id: str | None = None) -> None:
        self.archive = archive
        self.job_id = job_id
        self.after = 0
        self._known: set[str] = set()
        # Files listed but not read yet, by first sequence.
        self._unread: list[ArchiveManifest] = []
        # (sequence, tie-breaker, message) of the files read, not taken yet.
        self._waiting: list[tuple[int, int, Stored]] = []
        self._ties = count()

    def load(self, after: int) -> None:
        """Look for files written since the last look, keeping those that hold messages above
        ``after``; from now on, nothing at or below ``after`` is taken."""
        self.after = max(self.after, after)
        names = self.archive.names(MANIFEST_SUFFIX)
        fresh = [self.archive.read_manifest(n) for n in names if n not in self._known]
        self._known.update(names)
        self._unread += [m for m in fresh if self._last_of(m) > self.after]
        self._unread.sort(key=lambda m: m.first_sequence)

    def _last_of(self, manifest: ArchiveManifest) -> int:
        if self.job_id is None:
            return manifest.last_sequence
        job = manifest.jobs.get(self.job_id)
        return 0 if job is None else job.last_sequence

    def reaches(self, sequence: int) -> bool:
        """Whether a message below ``sequence`` may be waiting (no I/O): false, at no cost,
        for a reader past every archived message."""
        unread = bool(self._unread) and self._unread[0].first_sequence < sequence
        return unread or (bool(self._waiting) and self._waiting[0][0] < sequence)

    def below(self, sequence: int) -> list[Stored]:
        """The messages not taken yet below ``sequence``, in order; reads the files they
        may be in."""
        while self._unread and self._unread[0].first_sequence < sequence:
            self._read(self._unread.pop(0))
        taken: list[Stored] = []
        while self._waiting and self._waiting[0][0] < sequence:
            message = heapq.heappop(self._waiting)[2]
            if message.sequence > self.after:
                taken.append(message)
        return taken

    def _read(self, manifest: ArchiveManifest) -> None:
        by_job = self.archive.messages(manifest)
        jobs = by_job.values() if self.job_id is None else [by_job.get(self.job_id, [])]
        for messages in jobs:
            for message in messages:
                if message.sequence > self.after:
                    entry = (message.sequence, next(self._ties), message)
                    heapq.heappush(self._waiting, entry)


def first_archived_after(archive: Archive, instant: datetime) -> int | None:
    """The sequence of the first archived message stored after ``instant`` (None: there is
    none). Sequences and stored times grow together, so only the file that straddles the
    instant needs reading."""
    later = [m for m in archive.manifests() if m.last_recorded > instant]
    firsts = [m.first_sequence for m in later if m.first_recorded > instant]
    for manifest in later:
        if manifest.first_recorded <= instant:
            messages = (s for job in archive.messages(manifest).values() for s in job)
            firsts.append(min(s.sequence for s in messages if s.time > instant))
    return min(firsts, default=None)
