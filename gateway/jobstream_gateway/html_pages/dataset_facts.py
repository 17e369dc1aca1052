"""What a dataset page says of the data, from the record's JSON: what is measured, where and
when, on which grid, and the Python lines that open it.

The grid is the template's: its extent's bbox in cells of its resolution, counted as the
data processes lay cells out (a grid anchored at 0, jobstream_datasets.grid.cell_centres).
An ingest given a smaller bbox stores fewer cells; the page says "template".
"""

import json
import math
from typing import Any


def _number(value: float) -> str:
    return f"{value:g}"


def _cells(low: float, high: float, resolution: float) -> int:
    return math.ceil(high / resolution) - math.floor(low / resolution)


def grid_text(extent: dict[str, Any]) -> str:
    """ "24 × 32 cells (y × x) of 0.25", or "" when the template gives no resolution."""
    bbox, resolution = extent.get("bbox"), extent.get("resolution")
    if not bbox or not resolution:
        return ""
    west, south, east, north = bbox
    rows, columns = _cells(south, north, resolution), _cells(west, east, resolution)
    return f"{rows} × {columns} cells (y × x) of {_number(resolution)}"


def bbox_text(extent: dict[str, Any]) -> str:
    bbox = extent.get("bbox")
    if not bbox:
        return ""
    west, south, east, north = (_number(value) for value in bbox)
    return f"west {west}, south {south}, east {east}, north {north}"


def published_text(extent: dict[str, Any]) -> str:
    start, end = extent.get("start"), extent.get("end")
    if not start:
        return ""
    return f"{start} to {end}" if end else f"from {start}, still published"


def facts(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(term, text) of what the record tells of the data, those it tells."""
    template = doc.get("template") or {}
    extent = template.get("extent") or {}
    variable, units = template.get("variable"), template.get("units")
    stored = doc.get("stored") or {}
    found = [
        ("Variable", f"{variable}, in {units}" if variable and units else variable or ""),
        ("Periods", template.get("period_type") or ""),
        ("Time range stored", f"{stored['first']} to {stored['last']}" if stored else ""),
        ("Source publishes", published_text(extent)),
        ("Bounding box", bbox_text(extent)),
        ("Grid (template)", grid_text(extent)),
    ]
    return [(term, text) for term, text in found if text]


def python_lines(doc: dict[str, Any]) -> str:
    """The Python that opens the dataset, as it is now and at the snapshot shown."""
    dataset_id = json.dumps(doc["id"])
    variable = (doc.get("template") or {}).get("variable")
    snapshot = (doc.get("stored") or {}).get("snapshot_id")
    lines = [
        "from jobstream_datasets import open_dataset",
        "",
        "# Where the service runs: its settings come from JOBSTREAM_DATA_DIR and",
        "# JOBSTREAM_DATASETS_ROOT, as the service's own do.",
        f"ds = open_dataset({dataset_id})",
    ]
    if variable:
        lines.append(f"field = ds[{json.dumps(variable)}]  # lazy: read on use")
    if snapshot:
        at = f"ds = open_dataset({dataset_id}, snapshot_id={json.dumps(snapshot)})"
        lines += ["", "# Or this very version, whatever is committed later:", at]
    return "\n".join(lines)
