"""Reading a dataset the service has written, from Python."""

import xarray as xr

from jobstream_infra.settings import DatasetSettings

from .locations import repository_exists, storage_for
from .store import BRANCH, location_of


class NothingStored(FileNotFoundError):
    """No repository of the dataset where the settings say datasets are stored."""


def open_dataset(
    dataset_id: str, settings: DatasetSettings | None = None, snapshot_id: str | None = None
) -> xr.Dataset:
    """The dataset as xarray (lazy), at its newest commit or at ``snapshot_id``.

    Settings come from the environment (``JOBSTREAM_DATA_DIR``, ``JOBSTREAM_DATASETS_ROOT``)
    like the service's own, so run it where the service runs; NothingStored, naming where
    it looked and the setting that chose it, when no repository of the dataset is there.
    """
    import icechunk

    settings = settings or DatasetSettings()
    location = location_of(settings.datasets_location, dataset_id)
    if not repository_exists(location):
        raise NothingStored(nothing_stored_at(dataset_id, location, settings))
    repo = icechunk.Repository.open(storage_for(location))
    session = (
        repo.readonly_session(snapshot_id=snapshot_id)
        if snapshot_id
        else repo.readonly_session(branch=BRANCH)
    )
    return _without_coordinate_fill(xr.open_zarr(session.store, consolidated=False))


def _without_coordinate_fill(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with its coordinates written without a _FillValue: ``to_netcdf`` gives every
    float variable a NaN one unless told not to, and CF forbids it on a coordinate variable."""
    for name in ds.indexes:
        ds[name].encoding["_FillValue"] = None
    return ds


def nothing_stored_at(dataset_id: str, location: str, settings: DatasetSettings) -> str:
    """Why nothing was found: where it looked, and the setting that says where to look."""
    if settings.datasets_root:
        chosen = f"JOBSTREAM_DATASETS_ROOT is {settings.datasets_root}"
    else:
        chosen = (
            f"JOBSTREAM_DATASETS_ROOT is unset, so it is <JOBSTREAM_DATA_DIR>/datasets, and "
            f"JOBSTREAM_DATA_DIR is {settings.data_dir}"
        )
        if not settings.data_dir.is_absolute():
            chosen += " (relative to the folder this runs in)"
    return (
        f"nothing stored for {dataset_id} at {location} ({chosen}): run this where the "
        "service runs, or set JOBSTREAM_DATASETS_ROOT (or JOBSTREAM_DATA_DIR) as the "
        "service has it; an ingest of the dataset creates it"
    )
