"""Messages between jobstream's services that are not job events: estimates and announcements.

Each is a model encoded and decoded here, so the writer and the reader cannot drift apart.
Events live in ``events``; process descriptions, which executors announce as they are, are the
OGC model ``ogc.ProcessDescription``.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .subjects import PROCESS_ID_PATTERN


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    def encode(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def decode(cls, data: bytes):
        return cls.model_validate_json(data)


class EstimateRequest(Message):
    """Gateway to executor (request-reply on ``subjects.estimate_subject``): validated inputs."""

    inputs: dict[str, Any] = Field(default_factory=dict)
    # Only the plan's size against the limits (periods, cells, bytes), by arithmetic, with no
    # request to the source: what the gateway asks before it publishes a job.
    size_only: bool = False
    # Seconds the asker waits: the estimate stops when they run out.
    budget_seconds: float | None = Field(default=None, gt=0)
    # Names the request in ``subjects.estimate_cancel_subject``, where the asker publishes
    # when it stops waiting (its HTTP client went away).
    request_id: str | None = Field(default=None, pattern=PROCESS_ID_PATTERN)
    # A rerun's: dataset id -> the snapshot the job will read it at (JobSubmitted's).
    pinned_snapshots: dict[str, str] = Field(default_factory=dict)


# invalid-input: the inputs cannot be run (400); too-large: the planned work is over a limit
# (413, the reply's estimate says by how much); timed-out: the budget ran out (503); failed:
# the estimate broke (502); gone: a pinned snapshot is no longer stored (409).
EstimateErrorKind = Literal["invalid-input", "too-large", "timed-out", "failed", "gone"]


class EstimateError(Message):
    kind: EstimateErrorKind
    detail: str


class EstimateReply(Message):
    """Executor to gateway: the figures of a run, or why there are none (or both, for a run
    over a limit)."""

    estimate: dict[str, Any] | None = None
    error: EstimateError | None = None


class DatasetAnnouncement(Message):
    """A dataset template as executors announce it in ``subjects.DATASET_REGISTRY_BUCKET``.

    The fields the gateway reads are typed; the rest of the template (extent, source, sync
    rule…) travels as extra members and is shown as it is.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    id: str
    name: str
    description: str = ""
    sync_kind: Literal["source", "derived"] = "source"
    source_dataset: str | None = None
