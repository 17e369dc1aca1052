"""Rows of the view as the folds' states, and states as the values of rows."""

import dataclasses
from datetime import UTC, datetime
from typing import Any

from jobstream_contracts.dataset_fold import DatasetState
from jobstream_contracts.events import SnapshotRef
from jobstream_contracts.fold import JobState
from jobstream_contracts.ogc import AttemptError, StatusCode

JOB_FIELDS = tuple(f.name for f in dataclasses.fields(JobState))
# What a job list shows (its status documents): never the inputs, outputs, results or error,
# which may be megabytes a row and are read one job at a time.
LISTED_FIELDS = tuple(
    name for name in JOB_FIELDS if name not in ("inputs", "outputs", "results", "error")
)
DATASET_FIELDS = tuple(f.name for f in dataclasses.fields(DatasetState))
_DATETIME_FIELDS = ("created", "updated", "started", "finished")


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _fields_of(row: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The named fields of an ORM row or of a Core row."""
    mapping = getattr(row, "_mapping", None)
    if mapping is not None:
        return {name: mapping[name] for name in names}
    return {name: getattr(row, name) for name in names}


def row_to_state(row: Any, names: tuple[str, ...] = JOB_FIELDS) -> JobState:
    """The job of a row holding ``names``; the fields it lacks keep their defaults."""
    values = _fields_of(row, names)
    for name in _DATETIME_FIELDS:
        values[name] = _utc(values[name])
    values["status"] = StatusCode(values["status"])
    values["errors"] = [AttemptError.model_validate(entry) for entry in values["errors"]]
    return JobState(**values)


def row_to_dataset(row: Any) -> DatasetState:
    values = _fields_of(row, DATASET_FIELDS)
    values["updated"] = _utc(values["updated"])
    values["coverage"] = [tuple(run) for run in values["coverage"]]
    source = values["source"]
    values["source"] = None if source is None else SnapshotRef.model_validate(source)
    return DatasetState(**values)


def storable_text(text: str) -> str:
    """PostgreSQL text cannot hold NUL characters; SQLite can. Keep both views equal."""
    return text.replace("\x00", "\ufffd")


def state_values(state: JobState) -> dict[str, Any]:
    values = {name: getattr(state, name) for name in JOB_FIELDS}
    values["status"] = state.status.value
    values["message"] = None if state.message is None else storable_text(state.message)
    values["errors"] = [entry.model_dump() for entry in state.errors]
    values["keyed"] = bool(state.keys)
    return values


def dataset_values(state: DatasetState) -> dict[str, Any]:
    values = {name: getattr(state, name) for name in DATASET_FIELDS}
    values["source"] = None if state.source is None else state.source.model_dump()
    return values
