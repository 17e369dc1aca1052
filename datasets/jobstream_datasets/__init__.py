"""jobstream's data processes: ingest, sync and resample climate datasets into Icechunk."""


def open_dataset(*args, **kwargs):
    """The dataset as xarray; see :func:`jobstream_datasets.access.open_dataset`."""
    # Imported on use: xarray takes seconds to import, and executors load this package.
    from .access import open_dataset as open_

    return open_(*args, **kwargs)


__all__ = ["open_dataset"]
