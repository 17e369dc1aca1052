"""Datasets: the templates executors announce, joined with what the view says is stored.

Not part of OGC API - Processes; the records a data platform keeps beside its jobs, built from
the same stream. A derived dataset is stale when its source has been committed since it was
computed, or when the process that computes it has a new version.
"""

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request

from jobstream_contracts.dataset_fold import DatasetState
from jobstream_contracts.messages import DatasetAnnouncement
from jobstream_contracts.ogc import ExceptionType
from jobstream_projector import view

from .context import Context, base_url, context
from .errors import OGCError

router = APIRouter(tags=["Datasets"])


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
    computed_from = (state.source or {}).get("snapshot_id")
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


def _template_of(state: DatasetState) -> DatasetAnnouncement:
    """What a dataset no template declares (an ad hoc resample) shows in place of one."""
    source = (state.source or {}).get("dataset_id")
    return DatasetAnnouncement(
        id=state.dataset_id,
        name=state.dataset_id,
        sync_kind="derived" if source else "source",
        source_dataset=source,
    )


def _templates(ctx: Context, stored: dict[str, DatasetState]) -> dict[str, DatasetAnnouncement]:
    templates = {t.id: t for t in ctx.datasets.sorted()}
    return {**{i: _template_of(s) for i, s in stored.items() if i not in templates}, **templates}


def _record(
    template: DatasetAnnouncement,
    state: DatasetState | None,
    stored: dict[str, DatasetState],
    ctx: Context,
    url: str,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": template.id,
        "title": template.name,
        "description": template.description,
        "kind": template.sync_kind,
        "template": template.model_dump(mode="json", exclude_none=True),
        "stored": None,
        "links": [
            {"href": f"{url}/datasets/{template.id}", "rel": "self", "type": "application/json"}
        ],
    }
    if state is not None:
        record["stored"] = {
            "first": state.first,
            "last": state.last,
            "periods": state.stored,
            "coverage": [list(run) for run in state.coverage],
            "store": state.store,
            "snapshot_id": state.snapshot_id,
            "updated": state.updated.isoformat(),
            "process": {"id": state.process_id, "version": state.process_version},
            "last_job": state.last_job,
        }
        record["links"] += [
            {
                "href": f"{url}/jobs/{job}",
                "rel": "related",
                "type": "application/json",
                "title": "a job that wrote it",
            }
            for job in reversed(state.jobs)
        ]
    if record["kind"] == "derived":
        reasons = _staleness(template, state, stored, ctx)
        record["derived"] = {
            "source_dataset": template.source_dataset,
            "source_snapshot_id": (state.source or {}).get("snapshot_id") if state else None,
            "stale": bool(reasons) if state is not None else None,
            "stale_because": reasons,
        }
    return record


@router.get("/datasets")
async def list_datasets(request: Request, ctx: Context = Depends(context)) -> dict:
    stored = await asyncio.to_thread(view.stored_datasets, ctx.engine)
    url = base_url(request)
    templates = _templates(ctx, stored)
    records = [_record(templates[i], stored.get(i), stored, ctx, url) for i in sorted(templates)]
    for record in records:  # the list stays short: the full history is one link away
        record["links"] = record["links"][:1]
    return {
        "datasets": records,
        "links": [{"href": f"{url}/datasets", "rel": "self", "type": "application/json"}],
    }


@router.get("/datasets/{dataset_id}")
async def describe_dataset(
    dataset_id: str, request: Request, ctx: Context = Depends(context)
) -> dict:
    stored = await asyncio.to_thread(view.stored_datasets, ctx.engine)
    template = _templates(ctx, stored).get(dataset_id)
    if template is None:
        raise OGCError(
            404,
            ExceptionType.NO_SUCH_DATASET,
            f"no dataset {dataset_id!r}; GET /datasets lists them",
            "No such dataset",
        )
    return _record(template, stored.get(dataset_id), stored, ctx, base_url(request))
