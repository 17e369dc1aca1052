"""Datasets: the templates executors announce, joined with what the view says is stored.

Not part of OGC API - Processes; the records a data platform keeps beside its jobs, built from
the same stream. A derived dataset is stale when its source has been committed since it was
computed, or when the process that computes it has a new version.
"""

import asyncio

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine

from jobstream_contracts.dataset_fold import DatasetState
from jobstream_contracts.dataset_records import (
    DatasetList,
    DatasetRecord,
    Derivation,
    ProcessVersion,
    StoredData,
)
from jobstream_contracts.fold import JobState
from jobstream_contracts.messages import DatasetAnnouncement
from jobstream_contracts.ogc import ExceptionType, Link
from jobstream_projector import view

from .choices import title_of
from .context import Context, base_url, context
from .errors import OGCError

router = APIRouter(tags=["Datasets"])
JSON = "application/json"


def _staleness(
    template: DatasetAnnouncement,
    state: DatasetState | None,
    stored: dict[str, DatasetState],
    ctx: Context,
) -> list[str]:
    if template.sync_kind != "derived" or state is None or template.source_dataset is None:
        return []
    reasons = []
    source = stored.get(template.source_dataset)
    computed_from = state.source.snapshot_id if state.source else None
    if source is not None and source.snapshot_id != computed_from:
        reasons.append(
            f"source {source.dataset_id} is at snapshot {source.snapshot_id}; this "
            f"dataset was computed from {computed_from}"
        )
    process = ctx.catalog.get(state.process_id)
    if process is not None and process.version != state.process_version:
        reasons.append(
            f"process {state.process_id} is at version {process.version}; this "
            f"dataset was computed by {state.process_version}"
        )
    return reasons


def _derived_title(state: DatasetState, writer: JobState | None, ctx: Context) -> str:
    """An ad hoc derived dataset's title from what made it: "synthetic-daily, monthly mean"
    (the frequency titled as its process's description titles it)."""
    source = state.source.dataset_id if state.source else None
    inputs = writer.inputs if writer is not None else {}
    frequency, method = inputs.get("frequency"), inputs.get("method")
    if source is None or frequency is None or method is None:
        return f"{source}, derived" if source else state.dataset_id
    process = ctx.catalog.get(state.process_id)
    described = process.inputs.get("frequency") if process is not None else None
    label = title_of(described.schema_, frequency) if described is not None else frequency
    return f"{source}, {label} {method}"


def _template_of(
    state: DatasetState,
    declared: dict[str, DatasetAnnouncement],
    writer: JobState | None,
    ctx: Context,
) -> DatasetAnnouncement:
    """What a dataset no template declares (an ad hoc resample) shows in place of one: its
    title from the job that wrote it, its variable, units and area from its source's."""
    source_id = state.source.dataset_id if state.source else None
    source = declared.get(source_id) if source_id else None
    inherited = (source.model_extra or {}) if source is not None else {}
    area = {k: v for k, v in (inherited.get("extent") or {}).items() if k != "start"}
    return DatasetAnnouncement.model_validate(
        {
            "id": state.dataset_id,
            "name": _derived_title(state, writer, ctx),
            "sync_kind": "derived" if source_id else "source",
            "source_dataset": source_id,
            **{k: inherited[k] for k in ("variable", "units") if k in inherited},
            **({"extent": area} if area else {}),
        }
    )


def _writers(engine: Engine, states: list[DatasetState]) -> dict[str, JobState]:
    """The last job that wrote each of ``states``, by job id, those the view holds."""
    found = {state.last_job: view.get_job(engine, state.last_job)[0] for state in states}
    return {job_id: job for job_id, job in found.items() if job is not None}


async def _templates(
    ctx: Context, stored: dict[str, DatasetState]
) -> dict[str, DatasetAnnouncement]:
    declared = {t.id: t for t in ctx.datasets.sorted()}
    ad_hoc = [state for i, state in stored.items() if i not in declared]
    writers = await asyncio.to_thread(_writers, ctx.engine, ad_hoc)
    return {
        **{s.dataset_id: _template_of(s, declared, writers.get(s.last_job), ctx) for s in ad_hoc},
        **declared,
    }


def _stored(state: DatasetState) -> StoredData:
    return StoredData(
        first=state.first,
        last=state.last,
        periods=state.stored,
        coverage=state.coverage,
        store=state.store,
        snapshot_id=state.snapshot_id,
        updated=state.updated,
        process=ProcessVersion(id=state.process_id, version=state.process_version),
        last_job=state.last_job,
    )


def _derivation(
    template: DatasetAnnouncement,
    state: DatasetState | None,
    stored: dict[str, DatasetState],
    ctx: Context,
) -> Derivation:
    reasons = _staleness(template, state, stored, ctx)
    return Derivation(
        source_dataset=template.source_dataset,
        source_snapshot_id=state.source.snapshot_id if state and state.source else None,
        stale=bool(reasons) if state is not None else None,
        stale_because=reasons,
    )


def _job_links(state: DatasetState | None, url: str) -> list[Link]:
    """The jobs that wrote the dataset, newest first."""
    jobs = reversed(state.jobs) if state is not None else []
    return [
        Link(href=f"{url}/jobs/{job}", rel="related", type=JSON, title="a job that wrote it")
        for job in jobs
    ]


def _record(
    template: DatasetAnnouncement,
    state: DatasetState | None,
    stored: dict[str, DatasetState],
    ctx: Context,
    url: str,
) -> DatasetRecord:
    derived = template.sync_kind == "derived"
    return DatasetRecord(
        id=template.id,
        title=template.name,
        description=template.description,
        kind=template.sync_kind,
        template=template.model_dump(mode="json", exclude_none=True),
        stored=None if state is None else _stored(state),
        links=[
            Link(href=f"{url}/datasets/{template.id}", rel="self", type=JSON),
            *_job_links(state, url),
        ],
        **({"derived": _derivation(template, state, stored, ctx)} if derived else {}),
    )


# Links' absent members are left out; the records keep their nulls (given.AsGiven).
@router.get("/datasets", response_model=DatasetList, response_model_exclude_none=True)
async def list_datasets(request: Request, ctx: Context = Depends(context)) -> DatasetList:
    stored = await asyncio.to_thread(view.stored_datasets, ctx.engine)
    url = base_url(request)
    templates = await _templates(ctx, stored)
    records = [_record(templates[i], stored.get(i), stored, ctx, url) for i in sorted(templates)]
    return DatasetList(
        # The list stays short: the full history is one link away.
        datasets=[record.model_copy(update={"links": record.links[:1]}) for record in records],
        links=[Link(href=f"{url}/datasets", rel="self", type=JSON)],
    )


@router.get(
    "/datasets/{dataset_id}", response_model=DatasetRecord, response_model_exclude_none=True
)
async def describe_dataset(
    dataset_id: str, request: Request, ctx: Context = Depends(context)
) -> DatasetRecord:
    stored = await asyncio.to_thread(view.stored_datasets, ctx.engine)
    template = (await _templates(ctx, stored)).get(dataset_id)
    if template is None:
        raise OGCError(
            404,
            ExceptionType.NO_SUCH_DATASET,
            f"no dataset {dataset_id!r}; GET /datasets lists them",
            "No such dataset",
        )
    return _record(template, stored.get(dataset_id), stored, ctx, base_url(request))
