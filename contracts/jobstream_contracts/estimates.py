"""What a run would take, as a process works it out before it runs (its estimate).

The members the data processes give are named here; a process may add its own (extra
members). ``GET /processes/{id}/estimate`` answers an :class:`EstimateAnswer`; a job keeps the
estimate it recorded when it started (``StatusInfo.estimate``). Unknown figures are null, and
figures that do not apply are absent (see ``given``).
"""

from typing import Any

from pydantic import ConfigDict, Field

from .given import AsGiven


class Estimate(AsGiven):
    model_config = ConfigDict(frozen=True, extra="allow")

    # The plan (limits.py of the data processes): arithmetic, no request to the source.
    dataset_id: str | None = None
    first: str | None = Field(default=None, description="First period planned")
    last: str | None = Field(default=None, description="Last period planned, inclusive")
    periods: int | None = Field(default=None, description="Periods planned")
    bbox: list[float] | None = Field(default=None, description="[west, south, east, north]")
    cells_per_period: int | None = None
    planned_bytes: int | None = Field(default=None, description="Of float32, over the plan")
    end_clipped_from: str | None = Field(
        default=None, description="The end asked for, past the newest available period"
    )
    limits: dict[str, Any] | None = Field(default=None, description="The limits exceeded")
    # The work: what is stored, what the source says it will send, how long it took before.
    stored: int | None = Field(default=None, description="Periods planned already stored")
    to_fetch: int | None = None
    bytes: int | None = Field(default=None, description="To download; null: unknown")
    bytes_basis: str | None = None
    duration_seconds: float | None = Field(default=None, description="null: unknown")
    throughput_periods_per_second: float | None = None
    duration_basis: str | None = None
    # Why a job's estimate has no figures (an estimate never stops the job).
    error: str | None = None


class EstimateAnswer(Estimate):
    """The answer of ``GET /processes/{id}/estimate``: the figures, with what was asked."""

    processID: str
    inputs: dict[str, Any] = Field(default_factory=dict)
