"""What a rerun of a job (``POST /jobs/{id}/rerun``) repeats, worked out from the job's events.

Pure, like the folds. A rerun runs the same process version on the same inputs and reads each
dataset the original read at the snapshot the original read: those snapshots are the sources
the original's commits name (``DatasetCommitted.source``). Only the record decides them; no
caller names a snapshot.

A job whose result cannot be reproduced from its record is refused, saying why: one that did
not succeed (it has no result to reproduce), one whose process version was never recorded,
one that fetched a dataset from outside (an ingest's provider keeps no past jobstream could
read again), and one that read a dataset at two snapshots (a retried attempt after the source
moved on: no single rerun reads both).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from .events import DatasetCommitted, Event, JobSubmitted
from .fold import fold
from .ogc import StatusCode


class NotReproducible(ValueError):
    """Why a job cannot be rerun as it ran (the gateway answers 409)."""


@dataclass(frozen=True)
class RerunPlan:
    """What a rerun of ``original`` repeats: its process at ``version``, its inputs, and the
    snapshot of each dataset it read (dataset id -> snapshot id)."""

    original: JobSubmitted
    version: str
    pinned_snapshots: dict[str, str]


def rerun_plan(events: Iterable[Event]) -> RerunPlan:
    """The rerun of the job whose events (in stream order) are ``events``; NotReproducible,
    saying why, when its record cannot reproduce it."""
    events = list(events)
    submitted = next((e for e in events if isinstance(e, JobSubmitted)), None)
    if submitted is None:  # created (Part 4) and never started
        raise NotReproducible(
            f"job {events[0].job_id} was created and never started: only a successful job "
            "has a result to reproduce"
        )
    state = fold(events)
    assert state is not None  # a history with a submission folds to a job
    if state.status != StatusCode.SUCCESSFUL:
        raise NotReproducible(
            f"job {submitted.job_id} is {state.status.value}: only a successful job has a "
            "result to reproduce"
        )
    commits = [e for e in events if isinstance(e, DatasetCommitted)]
    version = submitted.process_version or next((c.process_version for c in commits), None)
    if version is None:
        raise NotReproducible(
            f"job {submitted.job_id} recorded no version of process {submitted.process_id} "
            "(it ran before versions were kept): no rerun could show it ran the same one"
        )
    return RerunPlan(submitted, version, _snapshots_read(submitted.job_id, commits))


def _snapshots_read(job_id: str, commits: list[DatasetCommitted]) -> dict[str, str]:
    """The snapshot of each dataset the commits say the job read."""
    pinned: dict[str, str] = {}
    for commit in commits:
        if commit.source is None:
            raise NotReproducible(
                f"job {job_id} fetched dataset {commit.dataset_id} from outside; jobstream "
                "keeps no past of a provider's data to fetch again: run a new ingest instead"
            )
        read = pinned.setdefault(commit.source.dataset_id, commit.source.snapshot_id)
        if read != commit.source.snapshot_id:
            raise NotReproducible(
                f"job {job_id} read dataset {commit.source.dataset_id} at two snapshots "
                f"({read} and {commit.source.snapshot_id}, a retry after it moved on): "
                "no single rerun reads both"
            )
    return pinned
