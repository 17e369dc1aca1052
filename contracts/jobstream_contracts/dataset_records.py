"""The answers of ``GET /datasets`` and ``GET /datasets/{id}``: a dataset's record.

A record joins a template (what executors announce) with what the view says is stored, and,
for a derived dataset, whether it is stale. Built by the gateway, read by the clients.
Members that do not apply are absent and unknown ones null, as before they were typed
(``given``).
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_serializer

from .given import AsGiven
from .ogc import Link


class ProcessVersion(AsGiven):
    id: str
    version: str


class StoredData(AsGiven):
    """What the dataset's repository holds, as of the newest commit a job recorded."""

    first: str | None = Field(description="First stored period; null when none is")
    last: str | None = Field(description="Last stored period; null when none is")
    periods: int = Field(description="Periods stored")
    coverage: list[tuple[str, str]] = Field(description="Runs of stored periods: [first, last]")
    store: str = Field(description="The Icechunk repository's location")
    snapshot_id: str
    updated: datetime
    process: ProcessVersion = Field(description="The process that wrote the newest commit")
    last_job: str

    @field_serializer("updated", when_used="json")
    def _isoformat(self, updated: datetime) -> str:
        # As the record always gave it (+00:00), not pydantic's Z.
        return updated.isoformat()


class Derivation(AsGiven):
    """Where a derived dataset comes from, and whether it is behind its source or process."""

    source_dataset: str | None
    source_snapshot_id: str | None = Field(description="The source snapshot it was computed from")
    stale: bool | None = Field(description="null while nothing is stored")
    stale_because: list[str]


class DatasetRecord(AsGiven):
    id: str
    title: str
    description: str
    kind: Literal["source", "derived"]
    template: dict[str, Any] = Field(description="The template as executors announce it")
    stored: StoredData | None = Field(description="null while nothing is stored")
    links: list[Link]
    derived: Derivation | None = Field(default=None, description="Derived datasets only")


class DatasetList(AsGiven):
    datasets: list[DatasetRecord]
    links: list[Link]
