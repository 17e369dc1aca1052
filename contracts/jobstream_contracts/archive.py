"""The archive of finished jobs' events: what its manifests say, and which jobs are due.

An archive file holds whole jobs: every message stored on a job's subjects up to the
sequence its manifest names, as CloudEvents JSON lines (the export's format), each job's in
stream order, one gzip member per job (decompressed whole, the file is one stream of lines).
Its manifest, written only once the file has been read back and checked, is the archive's
commit point: a file without one is not part of the archive.

Which jobs are due is decided here, without I/O, from each job's span in the stream: a job is
due when it has ended and its newest event of any kind (a late callback's record too) is older
than the retention, unless one of its commits is a dataset's newest: the events that say what
a dataset holds now stay in the stream while they are current.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .events import TERMINAL_TOKENS

ARCHIVE_FORMAT = "jobstream.archive/1"
EVENTS_SUFFIX = ".jsonl.gz"
MANIFEST_SUFFIX = ".manifest.json"
# Written beside a manifest once every job it lists is out of the stream.
TRIMMED_SUFFIX = ".trimmed"


class ArchivedJob(BaseModel):
    """One job in an archive file: how many of its messages it holds, the newest one's
    sequence (the trim removes the job's messages up to it, and nothing stored later), and
    where in the file its gzip member lies, with that member's checksum: a reader of one job
    reads its bytes alone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    events: int
    last_sequence: int
    offset: int
    length: int
    sha256: str


class ArchiveManifest(BaseModel):
    """What an archive file holds, and the checksum it must still have."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["jobstream.archive/1"] = ARCHIVE_FORMAT
    file: str
    sha256: str
    bytes: int
    events: int
    first_sequence: int
    last_sequence: int
    first_recorded: datetime
    last_recorded: datetime
    written: datetime
    jobs: dict[str, ArchivedJob]

    @property
    def manifest_name(self) -> str:
        return manifest_name(self.file)

    def covers(self, sequence: int) -> bool:
        return self.first_sequence <= sequence <= self.last_sequence


def archive_file_name(first: datetime, last: datetime, sha256: str) -> str:
    """Named by the time range its events were stored in, then its checksum: files sort by
    time, and two runs over the same jobs write the same name."""
    return f"events-{_compact(first)}-{_compact(last)}-{sha256[:12]}{EVENTS_SUFFIX}"


def manifest_name(file: str) -> str:
    return file.removesuffix(EVENTS_SUFFIX) + MANIFEST_SUFFIX


def trimmed_name(file: str) -> str:
    return file.removesuffix(EVENTS_SUFFIX) + TRIMMED_SUFFIX


def _compact(instant: datetime) -> str:
    return instant.strftime("%Y%m%dT%H%M%SZ")


@dataclass
class JobSpan:
    """What the archiver needs to know of one job in the stream."""

    first_sequence: int = 0
    last_sequence: int = 0
    last_recorded: datetime | None = None
    ended: bool = False


@dataclass
class StreamSurvey:
    """A pass over the stream, folded: every job's span, and each dataset's newest commit."""

    jobs: dict[str, JobSpan] = field(default_factory=dict)
    # dataset id -> the job whose commit is its newest
    current_commits: dict[str, str] = field(default_factory=dict)

    def add(
        self, sequence: int, recorded: datetime, job_id: str, token: str, dataset_id: str | None
    ) -> None:
        span = self.jobs.setdefault(job_id, JobSpan(first_sequence=sequence))
        span.last_sequence, span.last_recorded = sequence, recorded
        span.ended = span.ended or token in TERMINAL_TOKENS
        if dataset_id is not None:
            self.current_commits[dataset_id] = job_id

    def due(self, cutoff: datetime, archived: Iterable[str] = ()) -> list[str]:
        """The jobs to archive, oldest first: ended, quiet since before ``cutoff``, holding no
        dataset's newest commit, and in no archive file yet."""
        keep = set(self.current_commits.values()) | set(archived)
        quiet = [
            (span.last_sequence, job_id)
            for job_id, span in self.jobs.items()
            if span.ended and span.last_recorded is not None and span.last_recorded < cutoff
        ]
        return [job_id for _, job_id in sorted(quiet) if job_id not in keep]

    def range_of(self, job_ids: Iterable[str]) -> tuple[int, int]:
        """The first and last sequence of the stream's messages of these jobs."""
        spans = [self.jobs[job_id] for job_id in job_ids]
        return min(s.first_sequence for s in spans), max(s.last_sequence for s in spans)


def chunks(job_ids: list[str], size: int) -> list[list[str]]:
    return [job_ids[i : i + size] for i in range(0, len(job_ids), size)]


def jobs_of(manifests: Iterable[ArchiveManifest]) -> Mapping[str, ArchiveManifest]:
    """Each archived job's manifest (the newest, should a job be in two)."""
    return {job_id: m for m in sorted(manifests, key=_written) for job_id in m.jobs}


def _written(manifest: ArchiveManifest) -> datetime:
    return manifest.written
