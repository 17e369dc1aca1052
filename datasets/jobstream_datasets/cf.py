"""The CF conventions' attributes of a store, so that an opened store writes to NetCDF as is.

Every attribute here is a string, a number or a list of numbers: what netCDF can hold (a
dict attribute makes ``to_netcdf`` refuse the whole dataset).
"""

import json
import warnings
from typing import Any

import pyproj
from pyproj.exceptions import CRSError

from .grid import GridSpec
from .templates import DatasetTemplate

CONVENTIONS = "CF-1.10"
# The scalar variable carrying the CRS, named as rioxarray and GDAL name it, so that they
# find it too; the root attribute ``crs`` keeps the CRS as the source gave it.
GRID_MAPPING = "spatial_ref"
# CF's names of the resample methods (cell_methods says minimum, not min).
CELL_METHODS = {"mean": "mean", "sum": "sum", "min": "minimum", "max": "maximum"}
# One period of each type in UDUNITS: what a sum over periods multiplies its units by.
PERIOD_UNITS = {"hourly": "h", "daily": "d", "weekly": "week", "monthly": "month", "yearly": "year"}


def definition_text(definition: dict[str, Any]) -> str:
    """The template's definition as the store keeps it: JSON, keys sorted."""
    return json.dumps(definition, sort_keys=True)


def stored_definition(value: Any) -> dict[str, Any] | None:
    """The definition a store keeps: JSON text, or a dict in stores written before it was
    text; None in stores written before definitions were kept."""
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else None


def root_attributes(template: DatasetTemplate) -> dict[str, str]:
    attributes = {"Conventions": CONVENTIONS, "title": template.name, "source": _source(template)}
    if template.description:
        attributes["summary"] = template.description.strip()
    return attributes


def _source(template: DatasetTemplate) -> str:
    if template.processing is not None:
        return f"jobstream {template.processing.process_id} of dataset {template.source_dataset}"
    plugin = template.source.plugin if template.source else "unknown"
    return f"jobstream ingest with the {plugin} source plugin"


def grid_mapping_attributes(crs: str) -> dict[str, Any]:
    """CF's grid mapping attributes of ``crs`` (grid_mapping_name, crs_wkt, the ellipsoid and
    the projection's parameters), with the WKT also as GDAL's ``spatial_ref``; a CRS pyproj
    cannot read is kept as the source gave it."""
    parsed = _crs(crs)
    if parsed is None:
        return {"spatial_ref": crs}
    attributes = {key: _netcdf_value(value) for key, value in parsed.to_cf().items()}
    attributes["spatial_ref"] = attributes["crs_wkt"]
    return attributes


def coordinate_attributes(crs: str) -> dict[str, dict[str, str]]:
    """The attributes of the Y and X coordinates, by axis: standard_name, long_name, units
    and axis; latitude/longitude in degrees for a geographic CRS, projection_y/x_coordinate
    in the projection's unit otherwise."""
    parsed = _crs(crs)
    if parsed is None:
        return {"Y": {"axis": "Y"}, "X": {"axis": "X"}}
    return {attributes["axis"]: attributes for attributes in parsed.cs_to_cf()}


# The time axis's bounds variable, named as xarray and the CF examples name it.
TIME_BOUNDS = "time_bnds"
TIME_ATTRIBUTES = {"standard_name": "time", "long_name": "time", "axis": "T"}


def variable_attributes(template: DatasetTemplate) -> dict[str, str]:
    attributes = {"long_name": template.name, "grid_mapping": GRID_MAPPING}
    if template.units:
        attributes["units"] = template.units
    method = _resample_method(template)
    if method is not None:
        attributes["cell_methods"] = f"time: {CELL_METHODS.get(method, method)}"
    return attributes


def resampled_units(source: DatasetTemplate, method: str) -> str:
    """The units of ``source`` resampled by ``method``. A mean, minimum or maximum keeps them;
    a sum of a rate or a state multiplies them by the source's period: a sum of daily mm/day
    is in mm, of hourly K in h K (degree hours). A source that is itself a sum over its
    periods (an amount) keeps its units. Ingested sources are taken as rates or states, the
    value at or averaged over each period, as every built-in template's variable is."""
    if method != "sum" or not source.units or _resample_method(source) == "sum":
        return source.units
    period = PERIOD_UNITS[source.period_type.value]
    try:
        registry = _unit_registry()
        return f"{registry.Unit(source.units) * registry.Unit(period):cf}"
    except (ValueError, AttributeError, TypeError):
        # Units the registry cannot read (pint's errors derive from these): still a product.
        return f"{source.units} {period}"


def _unit_registry():
    """cf_xarray's pint registry, which reads and writes UDUNITS strings ("kg m-2 s-1")."""
    with warnings.catch_warnings():
        # At import, pint says it set up no matplotlib support: nothing here plots units.
        warnings.simplefilter("ignore", UserWarning)
        from cf_xarray.units import units

    return units


def _resample_method(template: DatasetTemplate) -> str | None:
    if template.processing is None or template.processing.process_id != "resample":
        return None
    method = template.processing.params.get("method")
    return method if isinstance(method, str) else None


def _crs(crs: str) -> pyproj.CRS | None:
    """The CRS as pyproj reads it; None for one it cannot (the source's own text): the store
    is written all the same, its axes named, without CF's description of the CRS."""
    try:
        return pyproj.CRS.from_user_input(crs)
    except CRSError:
        return None


def _netcdf_value(value: Any) -> Any:
    # pyproj gives some parameters as tuples (two standard parallels): a list of numbers.
    return list(value) if isinstance(value, tuple) else value


def grid_attributes(grid: GridSpec) -> dict[str, dict[str, str]]:
    """The attributes of the grid's Y and X coordinate variables, by name."""
    by_axis = coordinate_attributes(grid.crs)
    return {grid.y_name: by_axis["Y"], grid.x_name: by_axis["X"]}
