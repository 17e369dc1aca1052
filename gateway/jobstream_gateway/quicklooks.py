"""Quick-looks: the PNG of a dataset's newest stored period, as its data job stored it.

The data job renders the picture when it commits (jobstream_datasets.quicklook) into the
object store ``subjects.QUICKLOOK_BUCKET``; the gateway only hands the bytes on, so it reads
no dataset and needs neither xarray nor Icechunk. ``/quicklook`` describes the picture (which
period, when) for pages and clients; ``/quicklook.png`` is the picture.
"""

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from nats.js.api import ObjectInfo
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from jobstream_contracts.ogc import ExceptionType

from .context import UNREACHABLE, Context, base_url, context, unavailable
from .errors import OGCError

router = APIRouter(tags=["Datasets"])


def _none_yet(dataset_id: str) -> OGCError:
    return OGCError(
        404,
        ExceptionType.NO_SUCH_DATASET,
        f"no quick-look of dataset {dataset_id!r} yet: a data job stores one when it commits",
        "No quick-look yet",
    )


async def _store(ctx: Context, dataset_id: str) -> ObjectStore:
    if ctx.quicklooks is None:  # this gateway has no object store to look in
        raise _none_yet(dataset_id)
    try:
        return await ctx.quicklooks.store()
    except NotFoundError:  # no data job has committed anything yet
        raise _none_yet(dataset_id) from None
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc


async def _info(store: ObjectStore, dataset_id: str) -> ObjectInfo:
    try:
        return await store.get_info(dataset_id)
    except NotFoundError:  # ObjectNotFoundError is one
        raise _none_yet(dataset_id) from None
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc


@router.get("/datasets/{dataset_id}/quicklook", include_in_schema=False)
async def describe_quicklook(
    dataset_id: str, request: Request, ctx: Context = Depends(context)
) -> dict[str, Any]:
    info = await _info(await _store(ctx, dataset_id), dataset_id)
    href = f"{base_url(request)}/datasets/{dataset_id}/quicklook.png"
    return {
        "dataset_id": dataset_id,
        # The period the picture shows: the newest stored when its job committed.
        "period": info.description,
        "bytes": info.size,
        "links": [{"href": href, "rel": "preview", "type": "image/png"}],
    }


@router.get("/datasets/{dataset_id}/quicklook.png", include_in_schema=False)
async def quicklook_png(dataset_id: str, ctx: Context = Depends(context)) -> Response:
    store = await _store(ctx, dataset_id)
    try:
        found = await store.get(dataset_id)
    except NotFoundError:  # ObjectNotFoundError is one
        raise _none_yet(dataset_id) from None
    except UNREACHABLE as exc:
        raise unavailable(exc) from exc
    # A new commit replaces the picture: a browser asks again rather than keep an old one.
    return Response(
        found.data or b"", media_type="image/png", headers={"Cache-Control": "no-cache"}
    )
