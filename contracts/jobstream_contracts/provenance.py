"""Provenance as W3C PROV-JSON, folded from events: what a job did, what a dataset came from.

Pure, like the other folds: the gateway reads the events, these functions shape them.

Decisions:

- PROV-JSON (https://www.w3.org/submissions/prov-json/), not PROV-O in JSON-LD. PROV-JSON is
  the PROV data model written down as it is: one object per kind of record (``activity``,
  ``entity``, ``agent``, ``used``, ...), each keyed by its identifier, so a reader finds the
  generation of a snapshot with plain JSON tools, and PROV libraries (Python's ``prov``)
  read it and convert it to PROV-N, PROV-XML or PROV-O. JSON-LD carries the same statements
  as an RDF graph whose shape depends on the context and framing: useful to merge graphs,
  awkward to read, and it needs a JSON-LD processor to read reliably.
- A job is an ``activity`` (``job:<id>``), started at its first attempt's start, ended at its
  final event.
- A process at a version is an ``entity`` of type ``prov:Plan``: the recipe the activity
  followed. PROV gives plans that role (the ``prov:plan`` of an association); the process is
  not an agent, it bears no responsibility, and one version is one unchanging recipe.
- Agents are who or what bears responsibility for the job: the owner who submitted it (a
  ``prov:Person``: a principal, never a credential), the schedule that fired it, the job that
  submitted it, and each executor that ran an attempt (``prov:SoftwareAgent``). Each is
  associated with the job under the plan. A schedule's firing and a causing job also
  ``wasStartedBy`` it: the firing as the trigger (an entity, at the firing's instant), the
  causing job as the starter (so that job is both agent and activity, as PROV allows).
- Each snapshot a job committed is an entity ``wasGeneratedBy`` it; for a derived dataset
  the source snapshot it read is ``used`` by the job, and the snapshot ``wasDerivedFrom`` it.
- A rerun (``POST /jobs/{id}/rerun``) ``wasInformedBy`` the job it reproduces (named again
  as ``jobstream:rerunOf``), and ``used`` each snapshot it was pinned to read, whether or not
  it got as far as committing anything.
- Names of jobstream's own attributes are under the ``jobstream`` prefix.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .events import (
    DatasetCommitted,
    Event,
    JobDismissed,
    JobFailed,
    JobStarted,
    JobSubmitted,
    JobSucceeded,
)

NAMESPACE = "urn:jobstream:"
_ENDINGS = (JobSucceeded, JobFailed, JobDismissed)
_STATUS = {JobSucceeded: "successful", JobFailed: "failed", JobDismissed: "dismissed"}

Document = dict[str, Any]


def _prefixes(base: str) -> dict[str, str]:
    """Identifiers that are URLs of this service where it serves the thing named."""
    return {
        "jobstream": NAMESPACE,
        "job": f"{base}/jobs/",
        "process": f"{base}/processes/",
        "dataset": f"{base}/datasets/",
        "schedule": f"{base}/schedules/",
        "principal": f"{NAMESPACE}principal:",
        "executor": f"{NAMESPACE}executor:",
    }


def _time(instant: datetime) -> str:
    return instant.isoformat()


def _qname(value: str) -> dict[str, str]:
    """A typed value: PROV-JSON writes a qualified name as ``{"$": ..., "type": ...}``."""
    return {"$": value, "type": "prov:QUALIFIED_NAME"}


def job_id_of(job_id: str) -> str:
    return f"job:{job_id}"


def plan_id(process_id: str, version: str | None) -> str:
    return f"process:{process_id}/versions/{version or 'unknown'}"


def snapshot_id_of(dataset_id: str, snapshot_id: str) -> str:
    return f"dataset:{dataset_id}/snapshots/{snapshot_id}"


def _timeless(relation: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in relation.items() if k != "prov:time"}


class _Builder:
    """A PROV-JSON document being written: records by kind, relations numbered blank ids."""

    def __init__(self, base: str) -> None:
        self.document: Document = {"prefix": _prefixes(base)}
        self._relations = 0

    def add(self, kind: str, identifier: str, **attributes: Any) -> None:
        """Declares ``identifier`` of ``kind``; a second declaration adds to the first."""
        records = self.document.setdefault(kind, {})
        present = attributes | records.get(identifier, {})
        records[identifier] = {k: v for k, v in present.items() if v is not None}

    def relate(self, kind: str, **members: Any) -> None:
        """A relation (``used``, ``wasGeneratedBy``, ...); the same one twice is kept once,
        at its first time (a commit recorded again by a retried attempt is one generation)."""
        relation = {f"prov:{k}": v for k, v in members.items() if v is not None}
        records = self.document.setdefault(kind, {})
        if any(_timeless(relation) == _timeless(known) for known in records.values()):
            return
        self._relations += 1
        records[f"_:{kind}{self._relations}"] = relation

    def plan(self, process_id: str, version: str | None) -> str:
        identifier = plan_id(process_id, version)
        self.add(
            "entity",
            identifier,
            **{
                "prov:type": _qname("prov:Plan"),
                "prov:label": f"{process_id} {version or '(version not recorded)'}",
                "jobstream:process": process_id,
                "jobstream:version": version,
            },
        )
        return identifier

    def job(self, job_id: str, process_id: str, **attributes: Any) -> str:
        identifier = job_id_of(job_id)
        self.add(
            "activity",
            identifier,
            **{"prov:type": _qname("jobstream:Job"), "jobstream:process": process_id},
            **attributes,
        )
        return identifier

    def snapshot(self, dataset_id: str, snapshot_id: str, **attributes: Any) -> str:
        identifier = snapshot_id_of(dataset_id, snapshot_id)
        self.add(
            "entity",
            identifier,
            **{
                "prov:type": _qname("jobstream:DatasetSnapshot"),
                "prov:label": f"{dataset_id} at snapshot {snapshot_id}",
                "jobstream:dataset": dataset_id,
                "jobstream:snapshot": snapshot_id,
            },
            **attributes,
        )
        return identifier

    def commit(self, event: DatasetCommitted) -> None:
        """A commit: its snapshot generated by its job, derived from the source it read."""
        activity = job_id_of(event.job_id)
        generated = self.snapshot(
            event.dataset_id,
            event.snapshot_id,
            **{
                "jobstream:first": event.first,
                "jobstream:last": event.last,
                "jobstream:periods": event.count,
                "jobstream:processVersion": event.process_version,
                # Where it is not the dataset itself: a rerun's branch.
                "jobstream:branch": None if event.updates_dataset else event.branch,
            },
        )
        self.relate("wasGeneratedBy", entity=generated, activity=activity, time=_time(event.time))
        if event.source is None:
            return
        used = self.snapshot(event.source.dataset_id, event.source.snapshot_id)
        self.relate("used", activity=activity, entity=used)
        self.relate("wasDerivedFrom", generatedEntity=generated, usedEntity=used, activity=activity)


def job_provenance(events: Iterable[Event], base: str) -> Document:
    """The PROV-JSON document of the job whose events (in stream order) are ``events``;
    identifiers under ``base``, the service's URL."""
    events = list(events)
    submitted = next(e for e in events if isinstance(e, JobSubmitted))
    commits = [e for e in events if isinstance(e, DatasetCommitted)]
    starts = [e for e in events if isinstance(e, JobStarted)]
    ending = next((e for e in events if isinstance(e, _ENDINGS)), None)
    # The version the job was submitted for; a job from before versions were kept says it
    # in its commits only.
    version = submitted.process_version or next((c.process_version for c in commits), None)
    prov = _Builder(base)
    plan = prov.plan(submitted.process_id, version)
    job = prov.job(
        submitted.job_id,
        submitted.process_id,
        **{
            "prov:startTime": _time(starts[0].time) if starts else None,
            "prov:endTime": _time(ending.time) if ending else None,
            "jobstream:submitted": _time(submitted.time),
            "jobstream:status": _STATUS[type(ending)] if ending else None,
            "jobstream:processVersion": version,
        },
    )
    _rerun(prov, submitted, job)
    for agent in _causes(prov, submitted, job):
        prov.relate("wasAssociatedWith", activity=job, agent=agent, plan=plan)
    for start in starts:
        executor = f"executor:{start.executor}"
        prov.add("agent", executor, **{"prov:type": _qname("prov:SoftwareAgent")})
        prov.relate("wasAssociatedWith", activity=job, agent=executor, plan=plan)
    for commit in commits:
        prov.commit(commit)
    return prov.document


def _rerun(prov: _Builder, submitted: JobSubmitted, job: str) -> None:
    """A rerun: the job it reproduces, and the snapshots it was pinned to read."""
    if submitted.rerun_of is None:
        return
    original = job_id_of(submitted.rerun_of)
    prov.add("activity", original, **{"prov:type": _qname("jobstream:Job")})
    prov.add("activity", job, **{"jobstream:rerunOf": _qname(original)})
    prov.relate("wasInformedBy", informed=job, informant=original)
    for dataset_id, snapshot_id in sorted(submitted.pinned_snapshots.items()):
        pinned = prov.snapshot(dataset_id, snapshot_id)
        prov.relate("used", activity=job, entity=pinned)


def _causes(prov: _Builder, submitted: JobSubmitted, job: str) -> list[str]:
    """The agents responsible for the job being run, declared; with its start where known."""
    agents = []
    if submitted.owner is not None:
        owner = f"principal:{submitted.owner}"
        prov.add("agent", owner, **{"prov:type": _qname("prov:Person")})
        agents.append(owner)
    if submitted.fired_by is not None:
        firing = submitted.fired_by
        schedule = f"schedule:{firing.schedule_id}"
        prov.add("agent", schedule, **{"prov:type": _qname("prov:SoftwareAgent")})
        trigger = f"{schedule}/firings/{_time(firing.instant)}"
        prov.add(
            "entity",
            trigger,
            **{"prov:type": _qname("jobstream:Firing"), "jobstream:cause": firing.cause},
        )
        prov.relate("wasStartedBy", activity=job, trigger=trigger, time=_time(firing.instant))
        agents.append(schedule)
    if submitted.caused_by is not None:
        cause = job_id_of(submitted.caused_by)
        prov.add("agent", cause, **{"prov:type": _qname("prov:SoftwareAgent")})
        prov.add("activity", cause, **{"prov:type": _qname("jobstream:Job")})
        prov.relate("wasStartedBy", activity=job, starter=cause, time=_time(submitted.time))
        agents.append(cause)
    return agents


def dataset_provenance(commits: Iterable[DatasetCommitted], base: str) -> Document:
    """The PROV-JSON document of the lineage ``commits`` describe: each snapshot generated by
    the job that committed it under its process version, derived from the source snapshot it
    read; give the commits of a derived dataset's sources too, and the chain is followed."""
    prov = _Builder(base)
    for commit in commits:
        plan = prov.plan(commit.process_id, commit.process_version)
        job = prov.job(commit.job_id, commit.process_id)
        prov.relate("wasAssociatedWith", activity=job, plan=plan)
        prov.commit(commit)
    return prov.document
