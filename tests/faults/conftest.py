"""Fault scenarios: real component processes, real signals, end state read from the stream."""

from collections import Counter

from jobstream_contracts.events import Event


def final_events(events: list[Event]) -> Counter:
    """How many final events (succeeded/failed/dismissed) each job has in the stream."""
    return Counter(e.job_id for e in events if e.token in ("succeeded", "failed"))
