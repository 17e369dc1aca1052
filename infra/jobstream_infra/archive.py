"""Archive files on a folder or object storage (fsspec): writing, checking, and reading back.

The layout is flat: ``events-<first>-<last>-<sha>.jsonl.gz`` beside its
``….manifest.json`` (contracts/archive.py) and, once its jobs are out of the stream,
``….trimmed``. fsspec's calls block, so the async readers call this module on a thread.
"""

import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from datetime import UTC, datetime

import fsspec
from fsspec import AbstractFileSystem

from jobstream_contracts.archive import (
    MANIFEST_SUFFIX,
    ArchivedJob,
    ArchiveManifest,
    archive_file_name,
    jobs_of,
    manifest_name,
    trimmed_name,
)
from jobstream_contracts.redaction import strip_url_secrets
from jobstream_contracts.subjects import parse_subject

from .records import Recorded, Stored, readable

# A manifest being written, under a name no reader lists.
PARTIAL_SUFFIX = ".partial"
# Parsed archive files kept in memory by a reader: a job's history is one file's lines.
CACHED_FILES = 4


class ArchiveCorrupt(Exception):
    """An archive file that does not hold what its manifest says."""


class ArchiveUnreachable(Exception):
    """The archive's storage did not answer (or the file is gone): its URL, without secrets,
    and what the storage said."""

    def __init__(self, url: str, cause: OSError) -> None:
        super().__init__(f"the archive at {strip_url_secrets(url)} did not answer: {cause!r}")
        self.url = strip_url_secrets(url)


class Archive:
    """The archive at ``url``: a local folder or any fsspec URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.fs: AbstractFileSystem
        self.fs, self.root = fsspec.core.url_to_fs(url)
        self._files: OrderedDict[str, dict[str, list[Stored]]] = OrderedDict()
        self._lock = threading.Lock()

    def _path(self, name: str) -> str:
        return f"{self.root.rstrip('/')}/{name}"

    def write(self, messages: list[Stored]) -> ArchiveManifest:
        """Write ``messages`` (whole jobs, in stream order) as one file, read it back, check it,
        and only then write its manifest. ArchiveCorrupt if the read-back differs."""
        data, jobs = _members(messages)
        sha = hashlib.sha256(data).hexdigest()
        manifest = _manifest_of(messages, sha, len(data), jobs)
        self.fs.makedirs(self.root, exist_ok=True)
        self.fs.pipe_file(self._path(manifest.file), data)
        self.verify(manifest)
        self._put_whole(manifest.manifest_name, manifest.model_dump_json().encode())
        return manifest

    def _put_whole(self, name: str, data: bytes) -> None:
        """Write ``name`` so that no reader ever sees part of it: a local write is not atomic
        (a kill between opening and writing leaves an empty manifest every later run and
        read would stop at), a rename is; on object stores a put already is."""
        partial = self._path(name + PARTIAL_SUFFIX)
        self.fs.pipe_file(partial, data)
        self.fs.mv(partial, self._path(name))

    def verify(self, manifest: ArchiveManifest) -> list[Stored]:
        """The file's messages, once its bytes have the manifest's checksum and it holds each
        job's events as the manifest counts them."""
        data = self._bytes(manifest.file)
        if hashlib.sha256(data).hexdigest() != manifest.sha256:
            raise ArchiveCorrupt(f"{manifest.file}: its checksum is not the manifest's")
        messages = _parse(data)
        counts: dict[str, int] = {}
        for message in messages:
            job_id = parse_subject(message.subject)[1]
            counts[job_id] = counts.get(job_id, 0) + 1
        if counts != {job_id: job.events for job_id, job in manifest.jobs.items()}:
            raise ArchiveCorrupt(f"{manifest.file}: its jobs' events are not the manifest's")
        return messages

    def manifests(self) -> list[ArchiveManifest]:
        return [self.read_manifest(name) for name in self.names(MANIFEST_SUFFIX)]

    def read_manifest(self, name: str) -> ArchiveManifest:
        return ArchiveManifest.model_validate_json(self._bytes(name))

    def _bytes(self, name: str) -> bytes:
        data = self.fs.cat_file(self._path(name))
        return data.encode() if isinstance(data, str) else data

    def names(self, suffix: str) -> list[str]:
        if not self.fs.exists(self.root):
            return []
        paths = self.fs.glob(self._path(f"*{suffix}"))
        return sorted(str(path).rsplit("/", 1)[-1] for path in paths)

    def is_trimmed(self, manifest: ArchiveManifest) -> bool:
        return self.fs.exists(self._path(trimmed_name(manifest.file)))

    def mark_trimmed(self, manifest: ArchiveManifest) -> None:
        stamp = datetime.now(UTC).isoformat().encode()
        self.fs.pipe_file(self._path(trimmed_name(manifest.file)), stamp)

    def remove_unlisted(self) -> list[str]:
        """Remove event files no manifest lists and unfinished manifests: what a writer that
        died before its manifest left. Only the archiver calls this. Two runs at once (which
        `up` and the CronJob's `concurrencyPolicy: Forbid` avoid) lose nothing either: a file
        removed under a writer fails its read-back, and no manifest, and no trim, follows."""
        listed = set(self.names(MANIFEST_SUFFIX))
        orphans = [n for n in self.names(".jsonl.gz") if manifest_name(n) not in listed]
        orphans += self.names(PARTIAL_SUFFIX)
        for name in orphans:
            self.fs.rm_file(self._path(name))
        return orphans

    def messages(self, manifest: ArchiveManifest) -> dict[str, list[Stored]]:
        """The file's messages by job, from a small cache of recently read files."""
        with self._lock:
            if manifest.file in self._files:
                self._files.move_to_end(manifest.file)
                return self._files[manifest.file]
        by_job: dict[str, list[Stored]] = {}
        for message in self.verify(manifest):
            by_job.setdefault(parse_subject(message.subject)[1], []).append(message)
        with self._lock:
            self._files[manifest.file] = by_job
            while len(self._files) > CACHED_FILES:
                self._files.popitem(last=False)
        return by_job

    def job_messages(self, manifest: ArchiveManifest, job_id: str) -> list[Stored]:
        """One job's messages, read from its own byte range: a job's history costs its own
        bytes, however large the file. ArchiveCorrupt if they are not what was written."""
        job = manifest.jobs[job_id]
        end = job.offset + job.length
        data = self.fs.cat_file(self._path(manifest.file), start=job.offset, end=end)
        data = data.encode() if isinstance(data, str) else data
        if hashlib.sha256(data).hexdigest() != job.sha256:
            raise ArchiveCorrupt(f"{manifest.file}: job {job_id}'s bytes are not the manifest's")
        return _parse(data)


def _parse(data: bytes) -> list[Stored]:
    text = gzip.decompress(data).decode()
    return [Stored.of_cloudevent(json.loads(line)) for line in text.splitlines() if line]


def _members(messages: list[Stored]) -> tuple[bytes, dict[str, ArchivedJob]]:
    """The file's bytes, one gzip member per job (``zcat`` reads them as one stream of
    lines), jobs in the order they began; and where each job's member lies."""
    by_job: dict[str, list[Stored]] = {}
    for message in messages:
        by_job.setdefault(parse_subject(message.subject)[1], []).append(message)
    parts: list[bytes] = []
    jobs: dict[str, ArchivedJob] = {}
    offset = 0
    for job_id, own in by_job.items():
        lines = "".join(json.dumps(m.cloudevent(), separators=(",", ":")) + "\n" for m in own)
        # mtime=0: the same jobs give the same bytes, so a run redone after a crash writes
        # the same file, not a second one.
        member = gzip.compress(lines.encode(), mtime=0)
        jobs[job_id] = ArchivedJob(
            events=len(own),
            last_sequence=own[-1].sequence,
            offset=offset,
            length=len(member),
            sha256=hashlib.sha256(member).hexdigest(),
        )
        parts.append(member)
        offset += len(member)
    return b"".join(parts), jobs


def _manifest_of(
    messages: list[Stored], sha: str, size: int, jobs: dict[str, ArchivedJob]
) -> ArchiveManifest:
    first, last = messages[0], messages[-1]
    return ArchiveManifest(
        file=archive_file_name(first.time, last.time, sha),
        sha256=sha,
        bytes=size,
        events=len(messages),
        first_sequence=first.sequence,
        last_sequence=last.sequence,
        first_recorded=first.time,
        last_recorded=last.time,
        written=datetime.now(UTC),
        jobs=jobs,
    )


class ArchiveIndex:
    """Which archive file holds each archived job, as a reader sees the archive: what the
    manifests listed so far say (``load_new`` lists it again; journal_with_archive.py says
    when)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self._by_job: dict[str, ArchiveManifest] = {}
        self._known: set[str] = set()

    def holding(self, job_id: str) -> ArchiveManifest | None:
        """The file holding the job, as last loaded (no I/O)."""
        return self._by_job.get(job_id)

    def load_new(self) -> None:
        """List the archive and load the manifests written since the last listing."""
        names = self.archive.names(MANIFEST_SUFFIX)
        fresh = [self.archive.read_manifest(n) for n in names if n not in self._known]
        self._known.update(names)
        self._by_job.update(jobs_of(fresh))

    @property
    def manifests(self) -> list[ArchiveManifest]:
        by_file = {m.file: m for m in self._by_job.values()}
        return sorted(by_file.values(), key=lambda m: m.first_sequence)

    def records(self, job_id: str) -> list[Recorded]:
        """The job's archived events (none when the archive does not hold it)."""
        manifest = self._by_job.get(job_id)
        if manifest is None:
            return []
        return readable(self.archive.job_messages(manifest, job_id))
