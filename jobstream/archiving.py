"""`jobstream archive`: finished jobs' events to the archive, then out of the stream, once or
every ARCHIVE_INTERVAL seconds (`--every`, as `jobstream up` runs it) until SIGINT or SIGTERM.

Decisions:
- A run that fails is logged and the next one comes at its time: what a run does is safe to
  do again (jobstream_infra/archiver.py), and under `jobstream up` an archiver that exited
  would stop every component. Settings no retry can mend (no NATS configured, credentials
  refused) end it with one line.
- archive_once is imported where it is called: the command's parser is loaded by every
  `jobstream` command, and the archive's storage library (fsspec) costs start-up time.
"""

import asyncio
import contextlib

import structlog

from jobstream_infra.connection import NatsNotConfigured, NatsRefused
from jobstream_infra.settings import ArchiverSettings

log = structlog.get_logger("jobstream.archive")


async def archive_now(settings: ArchiverSettings) -> str:
    """One run; what it did, in one line."""
    from jobstream_infra.archiver import archive_once

    return (await archive_once(settings)).summary()


async def archive_every(settings: ArchiverSettings, stop: asyncio.Event) -> None:
    """A run every ARCHIVE_INTERVAL seconds, the first at once, until ``stop`` is set."""
    while not stop.is_set():
        await _run_logging_failure(settings)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.archive_interval)


async def _run_logging_failure(settings: ArchiverSettings) -> None:
    try:
        await archive_now(settings)  # the run logs its own summary
    except (NatsNotConfigured, NatsRefused):
        raise
    except Exception:
        log.exception("archive run failed; the next one comes at its time")
