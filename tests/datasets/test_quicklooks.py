"""Quick-looks: an ingest stores a PNG of the newest stored period as it commits, and the
gateway serves it; the picture itself: north up, missing values grey, framed by its
coordinates and a colour bar in its units."""

import io

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from jobstream_datasets.grid import GridSpec, cell_centres
from jobstream_datasets.legend import Layout, layout, scale_of, ticks
from jobstream_datasets.quicklook import (
    NO_VALUE,
    RAMP,
    SIDE,
    map_image,
    palette_indices,
    render,
    stretch,
    thinned,
)
from jobstream_datasets.viridis import VIRIDIS


@pytest.fixture
def stack(shared_data_stack):
    """The package's data stack (conftest.py): each test stores a dataset of its own."""
    return shared_data_stack


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()  # a damaged PNG (a bad CRC, a short IDAT) raises here
    return image


def _pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGBA"))


def grid_of(rows: int, columns: int, north_first: bool = True) -> GridSpec:
    """A 0.25 degree grid over 57..63 N, 4..12 E (the synthetic dataset's), cut to size."""
    y, x = cell_centres(57, 63, 0.25)[:rows], cell_centres(4, 12, 0.25)[:columns]
    return GridSpec(y=y[::-1] if north_first else y, x=x)


def picture(values: np.ndarray, grid: GridSpec, units: str = "K") -> tuple[np.ndarray, Layout]:
    """The framed quick-look's pixels and where its map and bar are."""
    image = _image(render(values, grid, units))
    rows, columns = values.shape
    factor = scale_of(columns, rows)
    places = layout((columns * factor, rows * factor))
    assert image.size == places.size and image.mode == "P"  # one byte a pixel
    return _pixels(image), places


def test_the_picture_is_north_up_and_grey_where_values_are_missing():
    # y ascending (south first), as a dataset may store it: the warm south row goes down.
    field = np.array([[30.0, 30.0, np.nan], [0.0, 0.0, 0.0]])
    pixels, places = picture(field, grid_of(2, 3, north_first=False))
    left, top, right, bottom = places.map_box
    cell = (right - left) // 3
    assert pixels[top + cell // 2, left + cell // 2].tolist() == [68, 1, 84, 255]  # north: cold
    assert pixels[bottom - cell // 2, left + cell // 2].tolist() == [253, 231, 37, 255]
    assert pixels[bottom - cell // 2, right - cell // 2, :3].tolist() == list(NO_VALUE)


def matplotlib_viridis() -> list[tuple[int, ...]]:
    # Integers index the colour map's table itself: its 256 entries, unblended.
    table = np.asarray(colormaps["viridis"](np.arange(256)))[:, :3]
    return [tuple(int(channel) for channel in row) for row in np.round(table * 255)]


def test_the_shipped_table_is_matplotlibs_viridis():
    assert [tuple(VIRIDIS[i : i + 3]) for i in range(0, 768, 3)] == matplotlib_viridis()


def test_a_gradient_walks_viridis_in_order_one_byte_a_pixel():
    row = np.linspace(0.0, 1.0, 201)[None, :]
    image = map_image(palette_indices(row, stretch(row)))
    assert image.mode == "P"
    table = matplotlib_viridis()
    positions = [table.index(tuple(rgba[:3])) for rgba in _pixels(image)[0]]
    assert positions == sorted(positions)
    assert (positions[0], positions[-1]) == (0, 255)
    # Stretched between the 2nd and 98th percentiles (0.02 and 0.98 here).
    stretched = np.clip((row[0] - 0.02) / 0.96, 0, 1) * 255
    assert np.abs(np.array(positions) - stretched).max() <= 1.5


def test_a_large_field_is_thinned_to_at_most_the_side_and_a_blank_one_is_grey():
    assert max(thinned(np.random.rand(1000, 600)).shape) <= SIDE
    blank, places = picture(np.full((4, 4), np.nan), grid_of(4, 4))
    left, top, right, bottom = places.map_box
    assert (blank[top:bottom, left:right, :3] == NO_VALUE).all()


def dark(pixels: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """How many pixels in ``box`` (left, top, right, bottom) are drawn dark: text."""
    left, top, right, bottom = box
    return int((pixels[top:bottom, left:right, :3].max(axis=2) < 128).sum())


def test_the_picture_has_a_colour_bar_in_its_units_and_its_coordinates():
    grid = grid_of(24, 32)
    field = 270.0 + np.linspace(0.0, 12.0, 24 * 32).reshape(24, 32)
    pixels, places = picture(field, grid)
    left, top, right, bottom = places.map_box
    width, height = places.size
    # Wider and taller than the map by the bar and the labels; the map itself enlarged.
    assert (right - left, bottom - top) == (256, 192)
    assert width >= (right - left) + 60 and height >= (bottom - top) + 30
    # The bar runs through the whole ramp, high at the top, on the map's height.
    bar_left, bar_top, bar_right, bar_bottom = places.bar_box
    column = pixels[bar_top:bar_bottom, (bar_left + bar_right) // 2, :3]
    ramp = [tuple(colour) for colour in RAMP]
    positions = [ramp.index(tuple(int(c) for c in colour)) for colour in column]
    assert positions == sorted(positions, reverse=True)
    assert (positions[0], positions[-1]) == (len(ramp) - 1, 0)
    # Labels: latitudes left of the map, longitudes below it, values right of the bar.
    assert dark(pixels, (0, top, left - 4, bottom)) > 40
    assert dark(pixels, (left, bottom + 4, right, height)) > 40
    assert dark(pixels, (bar_right + 4, bar_top, width, bar_bottom)) > 40
    # The units are drawn above the bar: other units, other pixels there, the same map.
    other, _ = picture(field, grid, units="mm/day")
    above = (bar_left, 0, width, bar_top - 1)
    assert dark(pixels, above) > 5 and dark(other, above) > dark(pixels, above)
    assert (pixels[top:bottom, left:right] == other[top:bottom, left:right]).all()


def test_ticks_fall_on_round_values_and_degrees_say_their_hemisphere():
    assert ticks(270.3, 281.7) == [272.5, 275.0, 277.5, 280.0]
    assert ticks(4.0, 12.0) == [4.0, 6.0, 8.0, 10.0, 12.0]
    assert ticks(-180.0, 180.0) == [-100.0, 0.0, 100.0]
    assert ticks(3.0, 3.0) == [3.0]


def test_an_ingest_stores_the_quicklook_of_the_newest_period_and_the_gateway_serves_it(stack):
    none_yet = stack.http.get("/datasets/quicklooked/quicklook")
    assert none_yet.status_code == 404 and none_yet.json()["title"] == "No quick-look yet"
    newest = stack.submit(
        "ingest", {"dataset_id": "quicklooked", "start": "2020-01-06", "end": "2020-01-12"}
    )
    assert stack.wait_job(newest, timeout=60)["status"] == "successful"
    described = stack.http.get("/datasets/quicklooked/quicklook").json()
    assert described["period"] == "2020-01-12"
    picture = stack.http.get("/datasets/quicklooked/quicklook.png")
    assert picture.headers["content-type"] == "image/png"
    assert len(picture.content) == described["bytes"]
    assert _image(picture.content).size[0] > 0
    # Older periods committed later leave the picture of the newest as it is.
    older = stack.submit(
        "ingest", {"dataset_id": "quicklooked", "start": "2020-01-01", "end": "2020-01-03"}
    )
    assert stack.wait_job(older, timeout=60)["status"] == "successful"
    assert stack.http.get("/datasets/quicklooked/quicklook").json()["period"] == "2020-01-12"
    assert "permissions violation" not in stack.log("gateway") + stack.log("executor")


def test_a_resample_stores_the_quicklook_of_its_derived_dataset(stack):
    ingest = {"dataset_id": "quicklooked-source", "start": "2020-01-06", "end": "2020-01-19"}
    assert stack.wait_job(stack.submit("ingest", ingest), timeout=60)["status"] == "successful"
    weekly = {"source_dataset_id": "quicklooked-source", "frequency": "W-MON", "method": "max"}
    # The view, read below for the dataset's newest period, has the job's commits once it has
    # its outcome.
    assert stack.wait_view(stack.submit("resample", weekly), timeout=60)["status"] == "successful"
    described = stack.http.get("/datasets/quicklooked-source-max-W-MON/quicklook").json()
    assert (
        described["period"]
        == stack.http.get("/datasets/quicklooked-source-max-W-MON").json()["stored"]["last"]
    )
    assert stack.http.get(
        "/datasets/quicklooked-source-max-W-MON/quicklook.png"
    ).content.startswith(b"\x89PNG")
