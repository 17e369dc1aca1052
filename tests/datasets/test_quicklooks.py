"""Quick-looks: an ingest stores a PNG of the newest stored period as it commits, and the
gateway serves it; the picture itself: north up, missing values transparent, small."""

import io

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from jobstream_datasets.quicklook import SIDE, render
from jobstream_datasets.viridis import VIRIDIS

from ..support.datasets import data_stack


@pytest.fixture
def stack(make_stack):
    running = data_stack(make_stack, progress_interval=0.1).start(wait=False)
    running.wait_ready(("ingest", "sync"))
    return running


def _image(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()  # a damaged PNG (a bad CRC, a short IDAT) raises here
    return image


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(_image(png).convert("RGBA"))


def test_the_picture_is_north_up_small_and_transparent_where_values_are_missing():
    # y ascending (south first), as a dataset may store it: the warm south row goes down.
    field = np.array([[30.0, 30.0, np.nan], [0.0, 0.0, 0.0]])
    pixels = _pixels(render(field, north_first=False))
    assert pixels.shape == (2, 3, 4)
    assert pixels[0, 0].tolist() == [68, 1, 84, 255]  # the cold north row: the ramp's start
    assert pixels[1, 0].tolist() == [253, 231, 37, 255]  # the warm south row: its end
    assert pixels[1, 2, 3] == 0  # missing: transparent


def matplotlib_viridis() -> list[tuple[int, ...]]:
    # Integers index the colour map's table itself: its 256 entries, unblended.
    table = np.asarray(colormaps["viridis"](np.arange(256)))[:, :3]
    return [tuple(int(channel) for channel in row) for row in np.round(table * 255)]


def test_the_shipped_table_is_matplotlibs_viridis():
    assert [tuple(VIRIDIS[i : i + 3]) for i in range(0, 768, 3)] == matplotlib_viridis()


def test_a_gradient_walks_viridis_in_order_one_byte_a_pixel():
    row = np.linspace(0.0, 1.0, 201)[None, :]
    image = _image(render(row, north_first=True))
    assert image.mode == "P"
    table = matplotlib_viridis()
    positions = [table.index(tuple(rgba[:3])) for rgba in _pixels(render(row, True))[0]]
    assert positions == sorted(positions)
    assert (positions[0], positions[-1]) == (0, 255)
    # Stretched between the 2nd and 98th percentiles (0.02 and 0.98 here).
    stretched = np.clip((row[0] - 0.02) / 0.96, 0, 1) * 255
    assert np.abs(np.array(positions) - stretched).max() <= 1.5


def test_a_large_field_is_thinned_to_at_most_the_side_and_a_blank_one_is_transparent():
    assert max(_image(render(np.random.rand(1000, 600), True)).size) <= SIDE
    assert not _pixels(render(np.full((4, 4), np.nan), True))[..., 3].any()


def test_an_ingest_stores_the_quicklook_of_the_newest_period_and_the_gateway_serves_it(stack):
    none_yet = stack.http.get("/datasets/demo/quicklook")
    assert none_yet.status_code == 404 and none_yet.json()["title"] == "No quick-look yet"
    newest = stack.submit(
        "ingest", {"dataset_id": "demo", "start": "2020-01-06", "end": "2020-01-12"}
    )
    assert stack.wait_job(newest, timeout=60)["status"] == "successful"
    described = stack.http.get("/datasets/demo/quicklook").json()
    assert described["period"] == "2020-01-12"
    picture = stack.http.get("/datasets/demo/quicklook.png")
    assert picture.headers["content-type"] == "image/png"
    assert len(picture.content) == described["bytes"]
    assert _image(picture.content).size[0] > 0
    # Older periods committed later leave the picture of the newest as it is.
    older = stack.submit(
        "ingest", {"dataset_id": "demo", "start": "2020-01-01", "end": "2020-01-03"}
    )
    assert stack.wait_job(older, timeout=60)["status"] == "successful"
    assert stack.http.get("/datasets/demo/quicklook").json()["period"] == "2020-01-12"
    assert "permissions violation" not in stack.log("gateway") + stack.log("executor")


def test_a_resample_stores_the_quicklook_of_its_derived_dataset(stack):
    ingest = {"dataset_id": "demo", "start": "2020-01-06", "end": "2020-01-19"}
    assert stack.wait_job(stack.submit("ingest", ingest), timeout=60)["status"] == "successful"
    weekly = {"source_dataset_id": "demo", "frequency": "W-MON", "method": "max"}
    # The view, read below for the dataset's newest period, has the job's commits once it has
    # its outcome.
    assert stack.wait_view(stack.submit("resample", weekly), timeout=60)["status"] == "successful"
    described = stack.http.get("/datasets/demo-max-W-MON/quicklook").json()
    assert (
        described["period"] == stack.http.get("/datasets/demo-max-W-MON").json()["stored"]["last"]
    )
    assert stack.http.get("/datasets/demo-max-W-MON/quicklook.png").content.startswith(b"\x89PNG")
