"""`jobstream archive`: finished jobs' events to the archive, then out of the stream.

One run, in an order that a kill at any point cannot break:
1. event files that no manifest lists (a run killed before its manifest) are removed;
2. jobs of manifests not yet marked trimmed (a run killed after its manifest) are trimmed;
3. the stream is surveyed (contracts/archive.py says which jobs are due);
4. for each batch of due jobs: their messages are read, written as one file, read back and
   checked, the manifest written, then each job's messages purged up to the last archived
   one, and the file marked trimmed.

A job is in the stream, or in a listed file, or both for a moment; never in neither. Readers
take the union (journal_with_archive.py), so they see each event once throughout.

The purge names the job's subjects and the sequence after its newest archived message: an
event stored on the job after it was read (a late callback's record) stays in the stream.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import structlog
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from jobstream_contracts.archive import ArchiveManifest, StreamSurvey, chunks, jobs_of
from jobstream_contracts.events import DatasetCommitted, EventDecodeError, decode_event
from jobstream_contracts.subjects import STREAM, job_filter, parse_subject

from .archive import Archive
from .connection import close_nats, connect_nats
from .reader import read_stored
from .records import Stored
from .settings import ArchiverSettings

log = structlog.get_logger(__name__)

# The user that runs the archiver (nats_users.py): the only one that may purge.
COMPONENT = "archive"
# Purge requests in flight at once, so their round trips overlap. The server's work bounds
# it: 3,000 jobs' purges took 4.8 s one at a time, 4.1 s sixteen at a time (a subject
# filter with wildcards is matched against the stream's subjects for each).
PURGES_AT_ONCE = 16


class TrimFailed(Exception):
    """The server did not purge a job's archived messages."""


@dataclass(frozen=True)
class ArchiveReport:
    """What one run did."""

    files: int = 0
    jobs: int = 0
    events: int = 0
    trimmed: int = 0
    bytes: int = 0
    # Why nothing was trimmed, when the stream refuses it.
    refused_trim: str | None = None

    def summary(self) -> str:
        text = (
            f"archived {self.jobs} jobs ({self.events} events, {self.bytes} bytes) in "
            f"{self.files} files; trimmed {self.trimmed} events from the stream"
        )
        return f"{text}; {self.refused_trim}" if self.refused_trim else text


async def archive_once(settings: ArchiverSettings, now: datetime | None = None) -> ArchiveReport:
    """One run of the archiver over the configured stream and archive."""
    if settings.archive_retention is None:
        raise ValueError("JOBSTREAM_ARCHIVE_RETENTION is unset: nothing is due")
    nc = await connect_nats(settings, COMPONENT, wait=settings.nats_command_wait)
    try:
        archiver = Archiver(nc, Archive(settings.archive_location), settings.archive_batch)
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=settings.archive_retention)
        return await archiver.run(cutoff)
    finally:
        await close_nats(nc, COMPONENT)


class Archiver:
    def __init__(self, nc: NATS, archive: Archive, batch: int) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.archive = archive
        self.batch = batch

    async def run(self, cutoff: datetime) -> ArchiveReport:
        removed = await asyncio.to_thread(self.archive.remove_unlisted)
        if removed:
            log.warning("removed archive files no manifest lists", files=removed)
        refused = await self._trim_refused()
        manifests = await asyncio.to_thread(self.archive.manifests)
        report = ArchiveReport(refused_trim=refused)
        if refused is None:
            report = await self._finish_trims(manifests, report)
        survey = await self._survey()
        for job_ids in chunks(survey.due(cutoff, jobs_of(manifests)), self.batch):
            messages = await self._collect(set(job_ids), *survey.range_of(job_ids))
            report = await self._archive(messages, report)
        log.info("archive run", summary=report.summary())
        return report

    async def _trim_refused(self) -> str | None:
        config = (await self.js.stream_info(STREAM)).config
        if not config.deny_purge:
            return None
        return (
            f"the stream {STREAM} was created by a release before trimming and refuses "
            "purges for good: its jobs are archived, not trimmed"
        )

    async def _finish_trims(
        self, manifests: list[ArchiveManifest], report: ArchiveReport
    ) -> ArchiveReport:
        for manifest in manifests:
            if not await asyncio.to_thread(self.archive.is_trimmed, manifest):
                log.info("trimming the jobs of an earlier run", file=manifest.file)
                report = replace(report, trimmed=report.trimmed + await self._trim(manifest))
        return report

    async def _survey(self) -> StreamSurvey:
        survey = StreamSurvey()
        end = (await self.js.stream_info(STREAM)).state.last_seq
        async for message in self._read(1, end):
            _add(survey, message)
        return survey

    async def _collect(self, job_ids: set[str], first: int, last: int) -> list[Stored]:
        """The messages of these jobs, stored from ``first`` to ``last``: one pass over that
        stretch of the stream, not a get per message."""
        return [m async for m in self._read(first, last) if _job_of(m) in job_ids]

    async def _read(self, first: int, last: int) -> AsyncIterator[Stored]:
        """The stream's messages from sequence ``first`` to ``last``, as stored."""
        if last < first:
            return
        async with aclosing(read_stored(self.js, after=first - 1, batch=1000)) as batches:
            async for batch in batches:
                for message in batch:
                    if message.sequence <= last:
                        yield message
                if not batch or batch[-1].sequence >= last:
                    return

    async def _archive(self, messages: list[Stored], report: ArchiveReport) -> ArchiveReport:
        manifest = await asyncio.to_thread(self.archive.write, messages)
        log.info("archived", file=manifest.file, jobs=len(manifest.jobs), events=manifest.events)
        trimmed = 0 if report.refused_trim else await self._trim(manifest)
        return replace(
            report,
            files=report.files + 1,
            jobs=report.jobs + len(manifest.jobs),
            events=report.events + manifest.events,
            bytes=report.bytes + manifest.bytes,
            trimmed=report.trimmed + trimmed,
        )

    async def _trim(self, manifest: ArchiveManifest) -> int:
        """Purge each job's archived messages; mark the file trimmed. Returns how many
        messages the server removed."""
        room = asyncio.Semaphore(PURGES_AT_ONCE)

        async def purge(job_id: str, before: int) -> int:
            async with room:
                return await self._purge(job_filter(job_id), before)

        jobs = manifest.jobs.items()
        purged = await asyncio.gather(*(purge(j, job.last_sequence + 1) for j, job in jobs))
        await asyncio.to_thread(self.archive.mark_trimmed, manifest)
        return sum(purged)

    async def _purge(self, subject: str, before: int) -> int:
        # The API's own answer: nats-py's purge_stream drops the count purged.
        request = json.dumps({"filter": subject, "seq": before}).encode()
        reply = await self.nc.request(f"$JS.API.STREAM.PURGE.{STREAM}", request, timeout=5.0)
        answer = json.loads(reply.data)
        if not answer.get("success"):
            raise TrimFailed(f"{subject}: {answer.get('error')}")
        return int(answer.get("purged", 0))


def _job_of(message: Stored) -> str | None:
    try:
        return parse_subject(message.subject)[1]
    except ValueError:
        return None


def _add(survey: StreamSurvey, message: Stored) -> None:
    try:
        _, job_id, token = parse_subject(message.subject)
    except ValueError:
        return
    dataset_id = None
    if token == DatasetCommitted.token:
        try:
            event = decode_event(message.data, message.subject)
        except EventDecodeError:
            event = None
        if isinstance(event, DatasetCommitted):
            dataset_id = event.dataset_id
    survey.add(message.sequence, message.time, job_id, token, dataset_id)
