"""How many runs overlapped at most: for concurrency limits read back from the events."""

from collections.abc import Iterable
from datetime import datetime


def most_at_once(spans: Iterable[tuple[datetime, datetime]]) -> int:
    """The most of ``spans`` (start, end) running at one moment; one ending as another starts
    does not overlap it."""
    edges = sorted(edge for start, end in spans for edge in ((start, 1), (end, -1)))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak
