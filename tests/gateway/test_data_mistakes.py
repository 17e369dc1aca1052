"""User mistakes in data jobs are 400s naming the input, and no job is recorded: the gateway's
check before an execute, answered by the data processes' own estimates over NATS, on a real
Icechunk store in tmp_path."""

from collections.abc import AsyncIterator
from functools import partial

import pytest

from jobstream_datasets.limits import Limits
from jobstream_datasets.processes import Datasets, ingest
from jobstream_datasets.templates import load_templates
from jobstream_executor.announce import serve_estimates
from jobstream_executor.loading import load_processes
from jobstream_executor.testing import JobEnvironment
from jobstream_gateway.nats_parts import Executors
from jobstream_infra.settings import ExecutorSettings

from ..support.inprocess import Gateway, serving, view_engine
from ..support.ogc_schemas import assert_valid
from ..support.stack import TEST_PROCESSES
from .ogc import exception_of, submissions

DATA_PROCESSES = [*TEST_PROCESSES, "jobstream_datasets.processes"]
DATASET = "synthetic-daily"
# Inside the template's extent [4, 57, 12, 63], at its resolution of 0.25.
STORED_BBOX = [4.0, 57.0, 8.0, 60.0]
TWO_DAYS = {"dataset_id": DATASET, "start": "2020-01-01", "end": "2020-01-02"}


@pytest.fixture
async def data_gateway(settings, journal, nats_connection, tmp_path) -> AsyncIterator[Gateway]:
    """A gateway serving the data processes, whose estimates an executor's code answers."""
    executor_settings = ExecutorSettings(data_dir=tmp_path)
    await serve_estimates(nats_connection, load_processes(DATA_PROCESSES, executor_settings))
    engine = view_engine(tmp_path)
    executors = Executors(nats_connection)
    async with serving(
        settings, journal, engine, modules=DATA_PROCESSES, executors=executors
    ) as gateway:
        yield gateway


def store_two_days(tmp_path) -> None:
    """What an ingest of two days over STORED_BBOX leaves in the executor's store."""
    root = ExecutorSettings(data_dir=tmp_path).datasets_location
    datasets = Datasets(load_templates(), root, Limits(1000, 10**6, 10**9), 5.0)
    JobEnvironment().run(partial(ingest, datasets), **TWO_DAYS, bbox=STORED_BBOX)


async def refused(gateway: Gateway, process: str, inputs: dict) -> str:
    """The detail of an execute refused with 400, once sure no job was recorded."""
    answer = await gateway.http.post(
        f"/processes/{process}/execution",
        json={"inputs": inputs},
        headers={"Prefer": "respond-async"},
    )
    body = exception_of(answer, 400)
    assert body["type"] == "https://jobstream.dev/errors/invalid-input"
    assert submissions(await gateway.events()) == 0
    return body["detail"]


async def test_a_resample_to_a_frequency_not_coarser_is_400_saying_what_is(data_gateway):
    detail = await refused(
        data_gateway, "resample", {"source_dataset_id": DATASET, "frequency": "D", "method": "mean"}
    )
    assert detail.startswith("frequency: D gives daily periods, not coarser than the daily")
    assert detail.endswith("choose a coarser one: W-MON (weekly), MS (monthly), YS (yearly)")


@pytest.mark.parametrize("plan_only", [True, False])
async def test_a_sync_of_a_dataset_never_ingested_is_400_saying_to_ingest(data_gateway, plan_only):
    detail = await refused(data_gateway, "sync", {"dataset_id": DATASET, "plan_only": plan_only})
    assert detail == f"dataset_id: nothing stored for {DATASET} yet; run ingest first"


async def test_a_resample_of_a_source_never_ingested_is_400(data_gateway):
    inputs = {"source_dataset_id": DATASET, "frequency": "MS", "method": "mean"}
    detail = await refused(data_gateway, "resample", inputs)
    assert detail.startswith(f"source_dataset_id: nothing stored for {DATASET} yet")


async def test_an_ingest_over_another_grid_than_the_stored_one_is_400_naming_it(
    data_gateway, tmp_path
):
    store_two_days(tmp_path)
    whole_extent = [4.0, 57.0, 12.0, 63.0]
    detail = await refused(data_gateway, "ingest", {**TWO_DAYS, "bbox": whole_extent})
    assert detail.startswith(f"bbox: {whole_extent} lays another grid than the one {DATASET}")
    assert f"whose bbox is {STORED_BBOX}" in detail
    # The stored bbox, or none, goes on: the same check lets the right request through.
    for inputs in ({**TWO_DAYS, "bbox": STORED_BBOX}, TWO_DAYS):
        await data_gateway.submit("ingest", inputs)
    await data_gateway.submit("sync", {"dataset_id": DATASET, "plan_only": True})
    assert submissions(await data_gateway.events()) == 3


async def test_a_date_in_another_form_is_told_the_form_in_words(data_gateway):
    detail = await refused(data_gateway, "ingest", {**TWO_DAYS, "start": "2020/01/01"})
    assert detail == (
        "inputs.start: expected a date as YYYY-MM-DD, or its year or month (YYYY, YYYY-MM), "
        "or a date and hour as YYYY-MM-DDThh, e.g. 2020-01-31; got '2020/01/01'"
    )
    # The words live in the input's schema, which stays a valid OGC process description.
    for process in ("ingest", "sync", "resample"):
        assert_valid((await data_gateway.http.get(f"/processes/{process}")).json(), "process")
