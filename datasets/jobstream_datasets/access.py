"""Reading a dataset the service has written, from Python."""

import xarray as xr

from jobstream_infra.settings import DatasetSettings

from .locations import storage_for
from .store import BRANCH, location_of


def open_dataset(
    dataset_id: str, settings: DatasetSettings | None = None, snapshot_id: str | None = None
) -> xr.Dataset:
    """The dataset as xarray (lazy), at its newest commit or at ``snapshot_id``.

    Settings come from the environment (``JOBSTREAM_DATA_DIR``, ``JOBSTREAM_DATASETS_ROOT``)
    like the service's own, so run it where the service runs.
    """
    import icechunk

    settings = settings or DatasetSettings()
    repo = icechunk.Repository.open(
        storage_for(location_of(settings.datasets_location, dataset_id))
    )
    session = (
        repo.readonly_session(snapshot_id=snapshot_id)
        if snapshot_id
        else repo.readonly_session(branch=BRANCH)
    )
    return xr.open_zarr(session.store, consolidated=False)
