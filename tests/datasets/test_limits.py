"""Limits on planned work: counted not listed, refused before anything is published, checked
again by the job, and estimates that stop when their budget runs out or their caller leaves."""

import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx
import pytest

from jobstream_contracts.process import PermanentError, TooMuchWork
from jobstream_datasets.grid import cell_centres
from jobstream_datasets.limits import Limits, cells_in, plan_ingest, planned_range
from jobstream_datasets.periods import PeriodType, period_id
from jobstream_datasets.processes import Datasets, ingest
from jobstream_datasets.store import DatasetStore, location_of
from jobstream_datasets.templates import DatasetTemplate, load_templates
from jobstream_executor.testing import JobEnvironment
from jobstream_infra.embedded import EmbeddedNats, free_port
from jobstream_infra.settings import PlanLimitSettings

from ..support.datasets import DATA_PROCESSES
from ..support.stack import Stack, wait_serving
from ..support.waiting import eventually

ERA5_QUERY = {"dataset_id": "era5-land-t2m-hourly", "start": "1950-01-01", "end": "9999-12-31"}
# The stack's limits: small, so that small synthetic datasets can pass them.
MAX_PERIODS = 100
ESTIMATE_BUDGET = 1.5

TEMPLATE = """
id: {id}
name: {id}
variable: t2m
period_type: daily
extent: {{bbox: [4.0, 57.0, 6.0, 58.0], start: "2020-01-01", resolution: 0.5{end}}}
source:
  plugin: {plugin}
  params: {{resolution: 0.5, seed: 7, calls: "{calls}"}}
sync: {{lag: 1D}}
"""


def template(dataset_id: str, **fields) -> DatasetTemplate:
    return DatasetTemplate.model_validate(
        {
            "id": dataset_id,
            "name": dataset_id,
            "variable": "t2m",
            "period_type": "daily",
            "extent": {"bbox": [4.0, 57.0, 6.0, 58.0], "start": "2020-01-01", "resolution": 0.5},
            "source": {"plugin": "synthetic", "params": {"resolution": 0.5}},
            **fields,
        }
    )


# -- plans, without a stack -------------------------------------------------------------------


def test_the_era5_request_of_the_issue_is_counted_not_listed_and_over_the_default_limit():
    era5 = load_templates()["era5-land-t2m-hourly"]
    started = time.perf_counter()
    with pytest.raises(TooMuchWork) as refused:
        plan_ingest(era5, "1950-01-01", "9999-12-31").check(Limits.of(PlanLimitSettings()))
    assert time.perf_counter() - started < 0.1
    figures = refused.value.estimate
    assert (figures["first"], figures["end_clipped_from"]) == ("1950-01-01T00", "9999-12-31")
    assert figures["periods"] > 670_000 and figures["limits"]["periods"] == 100_000
    assert str(refused.value).startswith("start, end: 1950-01-01T00 .. ")
    assert "JOBSTREAM_MAX_PLANNED_PERIODS" in str(refused.value)


def test_an_end_past_the_newest_available_period_is_clipped_to_it():
    # Lag 1D: 2024-03-08 ended a day before 2024-03-10T00, the last midnight before now.
    synthetic = load_templates()["synthetic-daily"]
    now = datetime(2024, 3, 10, 12, tzinfo=UTC)
    first, last, clipped = planned_range(synthetic, "2024-03-01", "2099-01-01", now)
    assert period_id(first, PeriodType.daily) == "2024-03-01"
    assert (period_id(last, PeriodType.daily), clipped) == ("2024-03-08", "2099-01-01")
    with pytest.raises(PermanentError, match="start 2024-04-01 is after the newest available"):
        planned_range(synthetic, "2024-04-01", "2099-01-01", now)


@pytest.mark.parametrize(
    "bbox,complaint",
    [
        ((3.0, 57.0, 6.0, 58.0), "reaches outside the extent of dataset small"),
        ((4.0, 57.0, 6.0, 70.0), "reaches outside the extent of dataset small"),
        ((6.0, 57.0, 4.0, 58.0), "west < east"),
    ],
)
def test_a_bbox_outside_the_extent_is_refused(bbox, complaint):
    with pytest.raises(PermanentError, match=complaint) as refused:
        plan_ingest(template("small"), "2020-01-01", "2020-01-02", bbox)
    assert str(refused.value).startswith("bbox: ")


@pytest.mark.parametrize(
    "bbox,resolution",
    [
        ((4.0, 57.0, 6.0, 58.0), 0.5),
        ((-180.0, -60.0, 180.0, 60.0), 0.05),
        ((4.1, 57.3, 12, 63), 0.1),
    ],
)
def test_a_bbox_is_counted_in_the_cells_a_grid_anchored_at_zero_lays_over_it(bbox, resolution):
    west, south, east, north = bbox
    laid = len(cell_centres(west, east, resolution)) * len(cell_centres(south, north, resolution))
    assert cells_in(bbox, resolution) == laid


def test_cells_and_bytes_over_their_limits_are_refused_naming_the_inputs():
    chirps = load_templates()["chirps3-daily"]
    whole_extent = plan_ingest(chirps, "2020-01-01", "2020-01-31")
    with pytest.raises(TooMuchWork, match=r"^bbox: \[-180.0, -60.0, 180.0, 60.0\] is 17,2"):
        whole_extent.check(Limits(periods=100, cells=1_000_000, bytes=2**40))
    with pytest.raises(TooMuchWork, match=r"^start, end, bbox: 31 periods of 17,2.* bytes"):
        whole_extent.check(Limits(periods=100, cells=10**8, bytes=10**9))
    assert whole_extent.check(Limits(periods=100, cells=10**8, bytes=10**10)).periods == 31


def test_a_job_over_a_limit_fails_permanently_before_writing(tmp_path):
    small = template("small")
    datasets = Datasets({"small": small}, str(tmp_path), Limits(10, 100, 10**6), 1.0)
    job = JobEnvironment()
    with pytest.raises(TooMuchWork, match="2020-01-01 .. 2020-01-11 is 11 daily periods"):
        job.run(partial(ingest, datasets), dataset_id="small", start="2020-01-01", end="2020-01-11")
    assert not DatasetStore(small, location_of(str(tmp_path), "small")).exists()
    assert job.records == [] and job.holds == []


# -- through the gateway and an executor ------------------------------------------------------


@pytest.fixture(scope="module")
def calls(tmp_path_factory) -> Path:
    """Where the slow source logs its size requests, one line each."""
    return tmp_path_factory.mktemp("calls") / "sizes.log"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, calls):
    plugins = tmp_path_factory.mktemp("plugins")
    (plugins / "datasets").mkdir()
    for dataset_id, plugin, end in [
        ("open", "synthetic", ""),
        ("ended", "synthetic", ', end: "2020-02-29"'),
        ("slow", "tests.datasets.slow_sizes:SlowSizes", ""),
    ]:
        text = TEMPLATE.format(id=dataset_id, plugin=plugin, end=end, calls=calls)
        (plugins / "datasets" / f"{dataset_id}.yaml").write_text(text)
    workdir = tmp_path_factory.mktemp("limits")
    with EmbeddedNats(workdir / "nats") as server:
        running = Stack(
            workdir,
            server.url,
            credentials=server.credentials,
            process_modules=DATA_PROCESSES,
            plugins_dir=plugins,
            max_planned_periods=MAX_PERIODS,
            estimate_budget=ESTIMATE_BUDGET,
            progress_interval=0.1,
        ).start(wait=False)
        running.wait_ready(("ingest", "sync"))
        yield running
        running.close()


def test_the_era5_estimate_of_the_issue_answers_413_in_under_a_second(stack):
    started = time.perf_counter()
    response = stack.http.get("/processes/ingest/estimate", params=ERA5_QUERY)
    elapsed = time.perf_counter() - started
    assert response.status_code == 413, response.text
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    body = response.json()
    assert body["type"] == "https://jobstream.dev/errors/invalid-input"
    assert body["detail"].startswith("start, end: 1950-01-01T00 .. ")
    assert body["estimate"]["periods"] > 670_000
    assert body["estimate"]["limits"]["periods"] == MAX_PERIODS


def refused(stack, process: str, inputs: dict, status: int) -> dict:
    """The body of an execute refused with ``status``, once sure that nothing was published."""
    before = len(stack.events())
    response = stack.http.post(f"/processes/{process}/execution", json={"inputs": inputs})
    assert response.status_code == status, response.text
    assert len(stack.events()) == before
    return response.json()


def test_an_ingest_over_a_limit_is_refused_and_nothing_is_published(stack):
    inputs = {"dataset_id": "open", "start": "2020-01-01", "end": "2024-12-31"}
    body = refused(stack, "ingest", inputs, 413)
    assert body["estimate"]["periods"] == 1827
    assert "at most 100 a request" in body["detail"]


def test_a_bbox_outside_the_extent_is_refused_before_any_job_exists(stack):
    inputs = {"dataset_id": "open", "start": "2020-01-01", "end": "2020-01-02"}
    body = refused(stack, "ingest", {**inputs, "bbox": [0.0, 50.0, 6.0, 58.0]}, 400)
    assert body["detail"].startswith("bbox: [0.0, 50.0, 6.0, 58.0] reaches outside")
    estimate = stack.http.get("/processes/ingest/estimate", params={**inputs, "bbox": "0,50,6,58"})
    assert estimate.status_code == 400 and "reaches outside" in estimate.json()["detail"]


def test_an_ingest_up_to_9999_stops_at_the_newest_available_period(stack):
    inputs = {"dataset_id": "ended", "start": "2020-02-20", "end": "9999-12-31"}
    estimate = stack.http.get("/processes/ingest/estimate", params=inputs).json()
    assert (estimate["last"], estimate["end_clipped_from"]) == ("2020-02-29", "9999-12-31")
    status = stack.wait_job(stack.submit("ingest", inputs), timeout=60)
    assert status["status"] == "successful", status
    result = stack.http.get(f"/jobs/{status['jobID']}/results").json()
    assert (result["periods"]["requested"], result["periods"]["last"]) == (10, "2020-02-29")


def test_a_sync_over_a_limit_is_refused_and_nothing_is_published(stack):
    stored = stack.submit(
        "ingest", {"dataset_id": "open", "start": "2020-01-01", "end": "2020-01-02"}
    )
    assert stack.wait_job(stored, timeout=60)["status"] == "successful"
    # From 2020-01-03 to yesterday: years of days.
    assert refused(stack, "sync", {"dataset_id": "open"}, 413)["estimate"]["first"] == "2020-01-03"
    # A plan does no work: no limit applies to it.
    planned = stack.submit("sync", {"dataset_id": "open", "plan_only": True})
    assert stack.wait_job(planned, timeout=30)["status"] == "successful"


def size_requests(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def assert_size_requests_stop(calls: Path, within: float) -> int:
    """The number of size requests once no new one starts ``within`` seconds."""
    time.sleep(within)
    settled = size_requests(calls)
    time.sleep(1.5)
    assert size_requests(calls) == settled, "size requests went on"
    return settled


def warm(stack) -> None:
    """Wait until an estimate is answered within the budget: the executor's first one waits
    for seconds of imports (xarray, Icechunk), which would spend the budget on them."""
    query = {"dataset_id": "open", "start": "2020-01-01", "end": "2020-01-02"}
    eventually(
        lambda: stack.http.get("/processes/ingest/estimate", params=query).status_code == 200,
        60,
        "an estimate answered within the budget",
    )


def test_an_estimate_stops_when_its_budget_runs_out(stack, calls):
    warm(stack)
    # 24 sampled sizes of 0.5 s, two at a time: 6 s of work for a 1.5 s budget.
    query = {"dataset_id": "slow", "start": "2020-01-01", "end": "2020-04-01"}
    before = size_requests(calls)
    started = time.perf_counter()
    response = stack.http.get("/processes/ingest/estimate", params=query)
    elapsed = time.perf_counter() - started
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] and "budget of 1.5 s" in response.json()["detail"]
    assert ESTIMATE_BUDGET <= elapsed < ESTIMATE_BUDGET + 1.5, f"{elapsed:.2f} s"
    assert 0 < assert_size_requests_stop(calls, within=0.6) - before < 12


def test_an_estimate_stops_when_its_caller_goes_away(stack, calls):
    # A gateway that would wait 60 s; the client gives up after 1 s.
    port = free_port()
    stack.start_component("gateway", estimate_budget=60, port=port)
    patient = f"http://127.0.0.1:{port}"
    wait_serving(f"{patient}/processes/ingest")
    warm(stack)
    query = {"dataset_id": "slow", "start": "2020-01-01", "end": "2020-04-01"}
    before = size_requests(calls)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{patient}/processes/ingest/estimate", params=query, timeout=1.0)
    assert 0 < assert_size_requests_stop(calls, within=1.0) - before < 12
    assert "estimate stopped: the asker went away" in stack.log("executor")
