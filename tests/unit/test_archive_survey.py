"""Which jobs the archiver takes: the pure survey of the stream (contracts/archive.py)."""

from datetime import UTC, datetime, timedelta

from jobstream_contracts.archive import (
    StreamSurvey,
    archive_file_name,
    chunks,
    manifest_name,
    trimmed_name,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)
CUTOFF = T0 + timedelta(hours=1)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _survey(*events: tuple[str, str, float] | tuple[str, str, float, str]) -> StreamSurvey:
    """(job, token, minutes after T0[, dataset committed]) in stream order."""
    survey = StreamSurvey()
    for sequence, (job_id, token, minutes, *dataset) in enumerate(events, start=1):
        survey.add(sequence, _at(minutes), job_id, token, dataset[0] if dataset else None)
    return survey


def test_an_ended_job_quiet_since_before_the_cutoff_is_due():
    survey = _survey(("a", "submitted", 0), ("a", "started", 1), ("a", "succeeded", 2))
    assert survey.due(CUTOFF) == ["a"]


def test_a_job_that_has_not_ended_is_never_due():
    survey = _survey(("a", "submitted", 0), ("a", "started", 1))
    assert survey.due(CUTOFF + timedelta(days=400)) == []


def test_a_job_whose_newest_event_is_recent_waits_whatever_ended_it():
    # A callback's record after the end keeps the job whole in the stream until it is quiet.
    survey = _survey(("a", "submitted", 0), ("a", "failed", 1), ("a", "callback-delivered", 61))
    assert survey.due(CUTOFF) == []
    assert survey.due(_at(62)) == ["a"]


def test_failed_and_dismissed_jobs_end_too():
    survey = _survey(("f", "submitted", 0), ("f", "failed", 1), ("d", "dismissed", 2))
    assert survey.due(CUTOFF) == ["f", "d"]


def test_the_job_holding_a_datasets_newest_commit_stays():
    survey = _survey(
        ("old", "committed", 0, "era5"),
        ("old", "succeeded", 1),
        ("new", "committed", 2, "era5"),
        ("new", "succeeded", 3),
        ("other", "committed", 4, "gpm"),
        ("other", "succeeded", 5),
    )
    assert survey.due(CUTOFF) == ["old"]


def test_archived_jobs_are_not_taken_twice_and_the_oldest_come_first():
    survey = _survey(("b", "submitted", 0), ("a", "submitted", 1), ("a", "succeeded", 2))
    survey.add(4, _at(3), "b", "succeeded", None)
    survey.add(5, _at(4), "c", "succeeded", None)
    assert survey.due(CUTOFF) == ["a", "b", "c"]
    assert survey.due(CUTOFF, archived=["b"]) == ["a", "c"]


def test_batches_hold_at_most_their_size():
    assert chunks(["a", "b", "c"], 2) == [["a", "b"], ["c"]]
    assert chunks([], 2) == []


def test_files_are_named_by_their_time_range_and_checksum():
    name = archive_file_name(_at(0), _at(90), "ab" * 32)
    assert name == "events-20261201T000000Z-20261201T013000Z-abababababab.jsonl.gz"
    assert (
        manifest_name(name) == "events-20261201T000000Z-20261201T013000Z-abababababab.manifest.json"
    )
    assert trimmed_name(name).endswith("-abababababab.trimmed")
