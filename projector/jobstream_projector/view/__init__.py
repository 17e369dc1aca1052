"""The SQL view of the job stream: its tables, row mapping, queries and writes.

The projector writes it (``apply_batch``); the gateway reads it; nothing else of the
projector is needed to do either. Disposable: dropping it and replaying the stream gives
the same view.
"""

from .engine import create_tables, create_view, create_view_engine, drop_view
from .reads import (
    CallerUsage,
    JobQuery,
    KeyCounts,
    QueueCounts,
    caller_usage,
    count_held,
    count_parked,
    get_job,
    held_jobs,
    jobs_ahead,
    key_counts,
    list_jobs,
    owned_sequences,
    queue_counts,
    read_checkpoint,
    stored_datasets,
)
from .rows import row_to_dataset, row_to_state, storable_text
from .tables import VIEW_VERSION, Checkpoint, DatasetRow, HeldEvent, JobRow, ParkedEvent, ViewMeta
from .writes import (
    CheckpointMoved,
    Decode,
    Fenced,
    apply_batch,
    held_event,
    parked_event,
    release_held,
)

__all__ = [
    "VIEW_VERSION",
    "Checkpoint",
    "CallerUsage",
    "CheckpointMoved",
    "DatasetRow",
    "Decode",
    "Fenced",
    "HeldEvent",
    "JobQuery",
    "JobRow",
    "ParkedEvent",
    "KeyCounts",
    "QueueCounts",
    "ViewMeta",
    "apply_batch",
    "caller_usage",
    "count_held",
    "count_parked",
    "create_tables",
    "create_view",
    "create_view_engine",
    "drop_view",
    "get_job",
    "held_event",
    "held_jobs",
    "list_jobs",
    "owned_sequences",
    "parked_event",
    "jobs_ahead",
    "key_counts",
    "queue_counts",
    "read_checkpoint",
    "release_held",
    "row_to_dataset",
    "row_to_state",
    "storable_text",
    "stored_datasets",
]
