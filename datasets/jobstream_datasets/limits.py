"""Limits on the work one request plans: periods, cells and bytes, counted, never listed.

Decisions:
- A plan is arithmetic on the template (its period rule, extent and resolution): it lists no
  period and asks no source, so checking a request for 70 million periods costs what one for
  three does. An executor checks before a job runs; the gateway asks for the same check (a
  size-only estimate) before it publishes a job, and answers 413 with the plan's figures.
- ``end`` past the newest available period is clipped to it, as sync always did ("up to
  9999" means "up to what exists"), and the plan says so in ``end_clipped_from``. A start
  before the dataset's first period or after the newest available one is refused.
- A bbox must lie inside the template's extent; it is refused otherwise, not clipped: the
  first ingest's bbox fixes the dataset's grid for good, so it must be what was asked for.
- A period's cells are the bbox's cells at ``extent.resolution`` on a grid anchored at 0
  (as ``grid.cell_centres`` lays them); a template without a resolution is limited by its
  extent and its periods only. Bytes are periods x cells x 4, the float32 values written,
  uncompressed, over the whole range: which periods are stored is known only to the store.
- A sync's plan starts after the last stored period, which only the store knows, so the
  size check before a sync reads it (Icechunk takes seconds to import: an executor imports
  it on a thread as it starts). With nothing stored there is no plan; reading never creates
  a repository.
"""

import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from jobstream_contracts.process import PermanentError, TooMuchWork
from jobstream_infra.settings import PlanLimitSettings

from .periods import (
    PeriodError,
    before,
    earlier,
    period_id,
    period_of,
    periods_between,
    shifted,
    timestamp_of,
)
from .templates import Bbox, DatasetTemplate

if TYPE_CHECKING:  # the store needs Icechunk, seconds to import: a sync plan gets one
    from .store import DatasetStore

BYTES_PER_VALUE = 4


@dataclass(frozen=True)
class Limits:
    periods: int
    cells: int
    bytes: int

    @classmethod
    def of(cls, settings: PlanLimitSettings) -> "Limits":
        return cls(
            settings.max_planned_periods, settings.max_planned_cells, settings.max_planned_bytes
        )


def newest_available(template: DatasetTemplate, now: datetime | None = None) -> pd.Period:
    """The newest period the source has published: periods appear `lag` after they end."""
    instant = timestamp_of(now or datetime.now(UTC))
    if instant.tzinfo is not None:
        instant = instant.tz_convert("UTC").tz_localize(None)
    # The period containing `now - lag` has not ended `lag` ago: the one before it has.
    newest = shifted((instant - template.sync.lag_delta).to_period(template.period_type.freq), -1)
    if template.extent.end is not None:
        newest = earlier(newest, period_of(template.extent.end, template.period_type))
    return newest


def cells_in(bbox: Bbox, resolution: float | None) -> int | None:
    """Cells of ``resolution`` that a grid anchored at 0 needs to cover ``bbox``."""
    if resolution is None:
        return None
    west, south, east, north = bbox

    def along(start: float, stop: float) -> int:
        return int(math.ceil(stop / resolution) - math.floor(start / resolution))

    return along(west, east) * along(south, north)


def checked_bbox(template: DatasetTemplate, bbox: Bbox | None) -> Bbox:
    """The bbox to fetch: the template's extent when absent; refused unless inside it."""
    if bbox is None:
        return template.extent.bbox
    west, south, east, north = bbox
    if not (west < east and south < north):
        raise PermanentError(
            f"bbox: {list(bbox)} is not [west, south, east, north] with west < east and "
            "south < north"
        )
    extent = template.extent.bbox
    if west < extent[0] or south < extent[1] or east > extent[2] or north > extent[3]:
        raise PermanentError(
            f"bbox: {list(bbox)} reaches outside the extent of dataset {template.id}, "
            f"{list(extent)}"
        )
    return bbox


@dataclass(frozen=True)
class Plan:
    """The size of one request's work: periods ``first`` to ``last`` over ``bbox``."""

    template: DatasetTemplate
    first: pd.Period
    last: pd.Period
    bbox: Bbox
    # The end asked for, when it was past the newest available period.
    end_clipped_from: str | None = None
    # The bbox the request named; None: a stored dataset goes on over its own (``bbox`` is
    # then the extent, the most it can be, which is what the limits count).
    bbox_asked: Bbox | None = None

    @property
    def first_id(self) -> str:
        return period_id(self.first, self.template.period_type)

    @property
    def last_id(self) -> str:
        return period_id(self.last, self.template.period_type)

    @property
    def periods(self) -> int:
        return max(0, periods_between(self.first, self.last) + 1)

    @property
    def cells(self) -> int | None:
        return cells_in(self.bbox, self.template.extent.resolution)

    @property
    def bytes(self) -> int | None:
        cells = self.cells
        return None if cells is None else self.periods * cells * BYTES_PER_VALUE

    def figures(self) -> dict[str, Any]:
        kind = self.template.period_type
        figures: dict[str, Any] = {
            "dataset_id": self.template.id,
            "first": period_id(self.first, kind),
            "last": period_id(self.last, kind),
            "periods": self.periods,
            "bbox": list(self.bbox),
            "cells_per_period": self.cells,
            "planned_bytes": self.bytes,
        }
        if self.end_clipped_from is not None:
            figures["end_clipped_from"] = self.end_clipped_from
        return figures

    def fits(self, limits: Limits) -> bool:
        return self._over(limits) is None

    def check(self, limits: Limits) -> "Plan":
        """This plan; TooMuchWork, naming the input at fault, if it is over a limit."""
        problem = self._over(limits)
        if problem is not None:
            raise TooMuchWork(problem, {**self.figures(), "limits": asdict(limits)})
        return self

    def _over(self, limits: Limits) -> str | None:
        kind = self.template.period_type.value
        span = f"{period_id(self.first, self.template.period_type)} .. "
        span += period_id(self.last, self.template.period_type)
        if self.periods > limits.periods:
            return (
                f"start, end: {span} is {self.periods:,} {kind} periods; at most "
                f"{limits.periods:,} a request (JOBSTREAM_MAX_PLANNED_PERIODS)"
            )
        cells, size = self.cells, self.bytes
        if cells is not None and cells > limits.cells:
            return (
                f"bbox: {list(self.bbox)} is {cells:,} cells a period; at most "
                f"{limits.cells:,} (JOBSTREAM_MAX_PLANNED_CELLS)"
            )
        if size is not None and size > limits.bytes:
            return (
                f"start, end, bbox: {self.periods:,} periods of {cells:,} cells are {size:,} "
                f"bytes of float32; at most {limits.bytes:,} (JOBSTREAM_MAX_PLANNED_BYTES)"
            )
        return None


def planned_range(
    template: DatasetTemplate, start: str, end: str, now: datetime | None = None
) -> tuple[pd.Period, pd.Period, str | None]:
    """First and last period of a request, and the end asked for if it was clipped."""
    kind = template.period_type
    try:
        first, last = period_of(start, kind), period_of(end, kind)
    except PeriodError as exc:
        raise PermanentError(str(exc)) from None
    if before(last, first):
        raise PermanentError(f"end {end} is before start {start}")
    if before(first, template.origin):
        raise PermanentError(
            f"start {start} is before the dataset's first period {period_id(template.origin, kind)}"
        )
    newest = newest_available(template, now)
    if before(newest, first):
        raise PermanentError(
            f"start {start} is after the newest available period {period_id(newest, kind)}"
        )
    if before(newest, last):
        return first, newest, end
    return first, last, None


def plan_ingest(template: DatasetTemplate, start: str, end: str, bbox: Bbox | None = None) -> Plan:
    """The plan of an ingest, its inputs checked against the template (PermanentError)."""
    first, last, clipped = planned_range(template, start, end)
    checked = checked_bbox(template, bbox)
    return Plan(template, first, last, checked, clipped, checked if bbox is not None else None)


def plan_sync(template: DatasetTemplate, store: "DatasetStore", end: str | None) -> Plan | None:
    """The plan of a sync: from the period after the last stored one to ``end`` or the newest
    available, whichever comes first; None while nothing is stored."""
    kind = template.period_type
    if not store.exists():
        return None
    stored = store.read()
    if stored.empty:
        return None
    newest = newest_available(template)
    try:
        target = earlier(newest, period_of(end, kind)) if end is not None else newest
    except PeriodError as exc:
        raise PermanentError(str(exc)) from None
    last_stored = store.origin + max(stored.committed)
    clipped = end if end is not None and before(newest, period_of(end, kind)) else None
    bbox = stored.bbox or template.extent.bbox
    return Plan(template, shifted(last_stored, 1), target, bbox, clipped)
