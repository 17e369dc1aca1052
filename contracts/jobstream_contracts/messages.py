"""Messages between jobstream's services that are not job events: estimates and announcements.

Each is a model encoded and decoded here, so the writer and the reader cannot drift apart.
Events live in ``events``; process descriptions, which executors announce as they are, are the
OGC model ``ogc.ProcessDescription``.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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


class EstimateError(Message):
    # invalid-input: the inputs cannot be run (a 400); failed: the estimate broke (a 502).
    kind: Literal["invalid-input", "failed"]
    detail: str


class EstimateReply(Message):
    """Executor to gateway: the figures of a run, or why there are none."""

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
