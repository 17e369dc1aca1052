"""Archive files on a real folder: written, read back, checked, listed and found by job."""

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from jobstream_contracts.events import JobStarted, JobSubmitted, JobSucceeded
from jobstream_infra.archive import Archive, ArchiveCorrupt, ArchiveIndex
from jobstream_infra.records import Stored

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _job(job_id: str, first: int, step: int = 1) -> list[Stored]:
    events = [
        JobSubmitted(job_id=job_id, process_id="echo", inputs={"message": job_id}),
        JobStarted(job_id=job_id, process_id="echo", attempt=1, executor="e"),
        JobSucceeded(job_id=job_id, process_id="echo", attempt=1, results={"x": 1}),
    ]
    sequences = [first + i * step for i in range(len(events))]
    return [
        Stored(n, T0 + timedelta(seconds=n), e.subject, e.encode())
        for n, e in zip(sequences, events, strict=True)
    ]


def _interleaved() -> list[Stored]:
    """a at sequences 1, 3, 5 and b at 2, 4, 6, as concurrent jobs are stored."""
    a, b = _job("a", 1, step=2), _job("b", 2, step=2)
    return sorted(a + b, key=lambda m: m.sequence)


def test_a_written_file_lists_its_jobs_and_gives_back_their_events(tmp_path):
    archive = Archive(str(tmp_path))
    messages = _interleaved()
    manifest = archive.write(messages)
    assert (manifest.events, manifest.first_sequence, manifest.last_sequence) == (6, 1, 6)
    assert {job: (j.events, j.last_sequence) for job, j in manifest.jobs.items()} == {
        "a": (3, 5),
        "b": (3, 6),
    }
    assert archive.manifests() == [manifest]
    index = ArchiveIndex(archive)
    index.load_new()
    assert [r.sequence for r in index.records("b")] == [2, 4, 6]
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
    index.load_new()
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


def test_the_index_finds_what_was_written_since_it_last_listed(tmp_path):
    archive = Archive(str(tmp_path))
    index = ArchiveIndex(archive)
    index.load_new()  # an archive not yet written: nothing, and no error
    archive.write(_job("a", 1))
    assert index.holding("a") is None
    index.load_new()
    assert index.holding("a") is not None


def test_one_jobs_history_is_read_from_its_own_bytes_and_checked(tmp_path):
    archive = Archive(str(tmp_path))
    manifest = archive.write(_interleaved())
    b = manifest.jobs["b"]
    path = tmp_path / manifest.file
    data = bytearray(path.read_bytes())
    data[b.offset + b.length // 2] ^= 0xFF  # b's bytes changed, a's untouched
    path.write_bytes(bytes(data))
    index = ArchiveIndex(archive)
    index.load_new()
    assert [r.sequence for r in index.records("a")] == [1, 3, 5]
    with pytest.raises(ArchiveCorrupt, match="job b"):
        index.records("b")
    with pytest.raises(ArchiveCorrupt, match="checksum"):
        archive.verify(manifest)


def test_the_whole_file_is_one_stream_of_lines_each_jobs_in_order(tmp_path):
    archive = Archive(str(tmp_path))
    manifest = archive.write(_interleaved())
    lines = gzip.decompress((tmp_path / manifest.file).read_bytes()).decode().splitlines()
    assert [(json.loads(line)["subject"], int(json.loads(line)["sequence"])) for line in lines] == [
        ("a", 1),
        ("a", 3),
        ("a", 5),
        ("b", 2),
        ("b", 4),
        ("b", 6),
    ]


def test_a_manifest_cut_off_by_a_kill_is_never_listed_and_is_cleared(tmp_path):
    archive = Archive(str(tmp_path))
    written = archive.write(_job("a", 1))
    # What a kill between opening and writing the manifest leaves: its partial file only.
    (tmp_path / written.manifest_name).rename(tmp_path / (written.manifest_name + ".partial"))
    (tmp_path / (written.manifest_name + ".partial")).write_bytes(b"")
    assert archive.manifests() == []
    assert sorted(archive.remove_unlisted()) == sorted(
        [written.file, written.manifest_name + ".partial"]
    )
    assert list(tmp_path.iterdir()) == []
