"""Mistakes in a data job's inputs that the templates and the store reveal before a job exists.

Each decision takes what a template and a store said, never the store itself, and raises a
PermanentError whose detail starts with the input at fault: the size check the gateway asks
of an executor before an execute answers it as 400, and a job that runs anyway (one queued
while no executor ran) fails with the same words.

Decisions:
- A resample makes coarser periods of finer ones: a frequency not coarser than the source's
  periods is refused, listing the ones that are.
- A sync appends after the last stored period, and a resample reads the stored source: with
  nothing stored, neither has anything to start from (a plan-only sync included).
- The first ingest's bbox fixes a dataset's grid. A later bbox is refused when one of its
  edges lies a cell (the template's ``extent.resolution``) or more from the stored bbox's:
  on any source grid of that resolution the edge then passes a cell centre, so the cells
  differ. An edge nearer than a cell may lay the same cells or not, depending on where the
  source's cells fall; the job compares the grid its source gives, as asking the source is
  more than a check before an execute may take.
"""

from jobstream_contracts.process import PermanentError

from .periods import PeriodType
from .templates import Bbox, DatasetTemplate

# pandas offset aliases a resample may ask for, and the period type each gives (the process
# description lists the same aliases in processes.FREQUENCY_TITLES).
FREQUENCIES = {
    "h": PeriodType.hourly,
    "D": PeriodType.daily,
    "W-MON": PeriodType.weekly,
    "MS": PeriodType.monthly,
    "YS": PeriodType.yearly,
}
_ORDER = list(PeriodType)
# The share of a cell by which an edge may miss a whole cell's move and still make one: the
# noise of decimal degrees in binary floating point.
_FLOAT_NOISE = 1e-6
_EDGES = ("west", "south", "east", "north")


def resampled_period_type(frequency: str, source: DatasetTemplate) -> PeriodType:
    """The period type a resample of ``source`` to ``frequency`` gives; refused unless
    coarser than the source's."""
    kind = FREQUENCIES.get(frequency)
    if kind is None:
        raise PermanentError(f"frequency: {frequency!r} is not one of {', '.join(FREQUENCIES)}")
    finest = _ORDER.index(source.period_type)
    if _ORDER.index(kind) > finest:
        return kind
    coarser = [f"{alias} ({k})" for alias, k in FREQUENCIES.items() if _ORDER.index(k) > finest]
    choice = f"choose a coarser one: {', '.join(coarser)}" if coarser else "none is coarser"
    raise PermanentError(
        f"frequency: {frequency} gives {kind} periods, not coarser than the {source.period_type} "
        f"periods of {source.id}; {choice}"
    )


def nothing_stored(template: DatasetTemplate, input_name: str) -> PermanentError:
    """The refusal of work that starts from what ``template``'s dataset stores, while it
    stores nothing; ``input_name`` names it in the request."""
    how = "run ingest first" if template.sync_kind == "source" else "compute it first"
    return PermanentError(f"{input_name}: nothing stored for {template.id} yet; {how}")


def check_stored_bbox(template: DatasetTemplate, asked: Bbox, stored: Bbox | None) -> None:
    """Refuse an ingest's ``asked`` bbox that lays other cells than the ``stored`` bbox of
    the dataset's grid (None: nothing stored, or stored before bboxes were kept)."""
    cell = template.extent.resolution
    if stored is None or cell is None:
        return
    moved = [
        edge
        for edge, mine, theirs in zip(_EDGES, asked, stored, strict=True)
        if abs(mine - theirs) >= cell * (1 - _FLOAT_NOISE)
    ]
    if moved:
        raise PermanentError(
            f"bbox: {list(asked)} lays another grid than the one {template.id} is stored on, "
            f"whose bbox is {list(stored)} ({', '.join(moved)} a cell of {cell:g} or more "
            "away); ingest with that bbox or without one, or into a template of a new id"
        )
