"""Archive files on a real folder: written, read back, checked, listed and found by job."""

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from jobstream_contracts.events import JobStarted, JobSubmitted, JobSucceeded
from jobstream_infra.archive import Archive, ArchiveCorrupt, ArchiveIndex
from jobstream_infra.records import Stored

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _job(job_id: str, first: int) -> list[Stored]:
    events = [
        JobSubmitted(job_id=job_id, process_id="echo", inputs={"message": job_id}),
        JobStarted(job_id=job_id, process_id="echo", attempt=1, executor="e"),
        JobSucceeded(job_id=job_id, process_id="echo", attempt=1, results={"x": 1}),
    ]
    return [
        Stored(first + i, T0 + timedelta(seconds=first + i), e.subject, e.encode())
        for i, e in enumerate(events)
    ]


def _interleaved() -> list[Stored]:
    a, b = _job("a", 1), _job("b", 4)
    return sorted(a + b, key=lambda m: m.sequence)


def test_a_written_file_lists_its_jobs_and_gives_back_their_events(tmp_path):
    archive = Archive(str(tmp_path))
    messages = _interleaved()
    manifest = archive.write(messages)
    assert (manifest.events, manifest.first_sequence, manifest.last_sequence) == (6, 1, 6)
    assert {job: (j.events, j.last_sequence) for job, j in manifest.jobs.items()} == {
        "a": (3, 3),
        "b": (3, 6),
    }
    assert archive.manifests() == [manifest]
    index = ArchiveIndex(archive)
    index.refresh(now=0.0)
    assert [r.sequence for r in index.records("b")] == [4, 5, 6]
    originals = [
        m.recorded()
        for m in messages
        if m.subject.endswith((".a.submitted", ".a.started", ".a.succeeded"))
    ]
    assert index.records("a") == originals
    assert index.records("nobody") == []


def test_the_file_is_cloudevents_json_lines_an_auditor_can_read(tmp_path):
    archive = Archive(str(tmp_path))
    manifest = archive.write(_job("a", 1))
    lines = gzip.decompress((tmp_path / manifest.file).read_bytes()).decode().splitlines()
    first = json.loads(lines[0])
    assert (first["type"], first["subject"], first["sequence"]) == (
        "dev.jobstream.JobSubmitted",
        "a",
        "00000000000000000001",
    )
    assert first["recorded"] == T0.replace(second=1).isoformat()


def test_the_same_jobs_make_the_same_file(tmp_path):
    messages = _interleaved()
    one = Archive(str(tmp_path / "one")).write(messages)
    two = Archive(str(tmp_path / "two")).write(messages)
    assert (one.file, one.sha256) == (two.file, two.sha256)


def test_a_message_that_is_no_event_is_kept_byte_for_byte_and_skipped_by_readers(tmp_path):
    archive = Archive(str(tmp_path))
    forged = Stored(4, T0, "jobstream.jobs.echo.a.started", b'{"not": "an event"}')
    manifest = archive.write([*_job("a", 1), forged])
    by_job = archive.messages(manifest)
    assert by_job["a"][-1] == forged
    index = ArchiveIndex(archive)
    index.refresh(now=0.0)
    assert [r.sequence for r in index.records("a")] == [1, 2, 3]


def test_a_changed_byte_is_found(tmp_path):
    archive = Archive(str(tmp_path))
    manifest = archive.write(_job("a", 1))
    path = tmp_path / manifest.file
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveCorrupt, match="checksum"):
        archive.verify(manifest)


def test_a_file_without_its_manifest_is_removed_and_listed_ones_stay(tmp_path):
    archive = Archive(str(tmp_path))
    kept = archive.write(_job("a", 1))
    orphan = archive.write(_job("b", 4))
    (tmp_path / orphan.manifest_name).unlink()
    assert archive.remove_unlisted() == [orphan.file]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([kept.file, kept.manifest_name])


def test_trimmed_files_are_marked(tmp_path):
    archive = Archive(str(tmp_path))
    manifest = archive.write(_job("a", 1))
    assert not archive.is_trimmed(manifest)
    archive.mark_trimmed(manifest)
    assert archive.is_trimmed(manifest)


def test_the_index_lists_the_archive_at_most_once_each_interval(tmp_path):
    archive = Archive(str(tmp_path))
    index = ArchiveIndex(archive, refresh_every=1.0)
    index.refresh(now=10.0)  # an archive not yet written: nothing, and no error
    archive.write(_job("a", 1))
    index.refresh(now=10.5)
    assert index.holding("a") is None
    index.refresh(now=11.0)
    assert index.holding("a") is not None
