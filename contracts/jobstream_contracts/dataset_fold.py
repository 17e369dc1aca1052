"""The dataset fold: what each dataset's repository holds, from the commits data jobs record.

Pure, like the job fold. A commit event carries the repository's whole coverage after it, so
the newest commit describes the dataset and an event applied twice changes nothing.
"""

from dataclasses import dataclass
from datetime import datetime

from .events import DatasetCommitted, SnapshotRef

# Producing jobs kept per dataset, newest last: enough to trace recent history; the stream
# keeps every commit for an audit.
JOBS_KEPT = 100


@dataclass(frozen=True, slots=True)
class DatasetState:
    dataset_id: str
    store: str
    snapshot_id: str
    updated: datetime
    coverage: list[tuple[str, str]]
    stored: int
    process_id: str
    process_version: str
    last_job: str
    jobs: list[str]
    # For a derived dataset: the source snapshot it was computed from.
    source: SnapshotRef | None = None

    @property
    def first(self) -> str | None:
        return self.coverage[0][0] if self.coverage else None

    @property
    def last(self) -> str | None:
        return self.coverage[-1][1] if self.coverage else None


def apply_commit(state: DatasetState | None, event: DatasetCommitted) -> DatasetState:
    jobs = [job for job in (state.jobs if state else []) if job != event.job_id]
    return DatasetState(
        dataset_id=event.dataset_id,
        store=event.store,
        snapshot_id=event.snapshot_id,
        updated=event.time,
        coverage=[(first, last) for first, last in event.coverage],
        stored=event.stored,
        process_id=event.process_id,
        process_version=event.process_version,
        last_job=event.job_id,
        jobs=[*jobs, event.job_id][-JOBS_KEPT:],
        source=event.source,
    )


def fold_commits(events, state: DatasetState | None = None) -> DatasetState | None:
    for event in events:
        if isinstance(event, DatasetCommitted) and event.updates_dataset:
            state = apply_commit(state, event)
    return state
