"""Pages of the data processes and datasets: forms with Markdown descriptions, an offline
default, labelled choices and date pickers (the descriptions still valid OGC ones); dataset
pages with what the data is, where, on which grid, and how to open it."""

from collections.abc import AsyncIterator
from xml.etree.ElementTree import Element

import html5lib
import pytest

from jobstream_contracts.events import DatasetCommitted, SnapshotRef
from jobstream_gateway.catalog import ProcessCatalog
from jobstream_gateway.inputs import validate_inputs

from ..support.inprocess import Gateway, serving, view_engine
from ..support.ogc_schemas import assert_valid
from ..support.stack import TEST_PROCESSES

HTML = {"Accept": "text/html"}
DATA_PROCESSES = [*TEST_PROCESSES, "jobstream_datasets.processes"]


@pytest.fixture
async def data_gateway(settings, journal, tmp_path) -> AsyncIterator[Gateway]:
    """A gateway serving the data processes on the built-in dataset templates."""
    async with serving(settings, journal, view_engine(tmp_path), modules=DATA_PROCESSES) as gw:
        yield gw


async def main_of(gateway: Gateway, path: str) -> Element:
    page = await gateway.http.get(path, headers=HTML)
    assert page.status_code == 200
    document = html5lib.parse(page.text, namespaceHTMLElements=False)
    main = document.find(".//main")
    assert main is not None
    return main


async def form_of(gateway: Gateway, process_id: str) -> Element:
    return await main_of(gateway, f"/processes/{process_id}")


def text_of(main: Element, path: str) -> str:
    found = main.find(path)
    assert found is not None, f"nothing at {path}"
    return "".join(found.itertext())


def field(main: Element, name: str) -> Element:
    found = main.find(f".//*[@name='{name}']")
    assert found is not None, f"no field {name}"
    return found


@pytest.mark.parametrize("process_id", ["ingest", "sync", "resample"])
async def test_the_data_process_descriptions_validate(data_gateway, process_id):
    body = (await data_gateway.http.get(f"/processes/{process_id}")).json()
    assert_valid(body, "process")


async def test_descriptions_are_rendered_markdown_with_no_backticks(data_gateway):
    main = await form_of(data_gateway, "ingest")
    text = "".join(main.itertext())
    codes = ["".join(code.itertext()) for code in main.iter("code")]
    assert "start" in codes and "end" in codes and "synthetic-daily" in codes
    assert "`" not in text


async def test_the_ingest_form_defaults_to_a_dataset_that_needs_no_network(data_gateway):
    main = await form_of(data_gateway, "ingest")
    chosen = [o for o in field(main, "dataset_id").iter("option") if "selected" in o.attrib]
    assert [o.get("value") for o in chosen] == ["synthetic-daily"]
    # OGC clients read the same default from the description.
    ingest = (await data_gateway.http.get("/processes/ingest")).json()
    assert ingest["inputs"]["dataset_id"]["schema"]["default"] == "synthetic-daily"


async def test_choices_are_labelled_and_submit_their_code(data_gateway):
    main = await form_of(data_gateway, "resample")
    options = {o.get("value"): o.text for o in field(main, "frequency").iter("option")}
    assert options["MS"] == "monthly (MS)" and options["h"] == "hourly (h)"
    # It starts on a frequency coarser than every built-in source's: monthly means.
    for name, value in (("frequency", "MS"), ("method", "mean")):
        chosen = [
            o.get("value") for o in field(main, name).iter("option") if "selected" in o.attrib
        ]
        assert chosen == [value]
    datasets = {o.get("value"): o.text for o in field(main, "source_dataset_id").iter("option")}
    assert datasets["synthetic-daily"] == "Synthetic daily 2 m temperature (synthetic-daily)"


async def test_dates_are_date_inputs_and_still_take_every_period_form(data_gateway):
    main = await form_of(data_gateway, "ingest")
    assert field(main, "start").get("type") == "date"
    assert field(main, "end").get("type") == "date"
    catalog: ProcessCatalog = data_gateway.ctx.catalog
    ingest = catalog.get("ingest")
    assert ingest is not None
    for period in ("2020", "2020-01", "2020-01-31", "2020-01-31T06"):
        inputs = {"dataset_id": "synthetic-daily", "start": period, "end": period}
        assert validate_inputs(ingest, inputs)["start"] == period


async def test_a_choice_outside_the_enumeration_is_still_refused(data_gateway):
    answer = await data_gateway.http.post(
        "/processes/resample/execution",
        json={
            "inputs": {
                "source_dataset_id": "synthetic-daily",
                "frequency": "monthly",
                "method": "mean",
            }
        },
    )
    assert answer.status_code == 400
    assert "inputs.frequency" in answer.json()["detail"]


def committed(dataset_id: str, job_id: str, **more) -> DatasetCommitted:
    return DatasetCommitted(
        job_id=job_id,
        process_id="resample" if "source" in more else "ingest",
        dataset_id=dataset_id,
        store=f"memory://{dataset_id}",
        snapshot_id="snap-1",
        first="2020-01-01",
        last="2020-01-12",
        count=12,
        coverage=[("2020-01-01", "2020-01-12")],
        stored=12,
        process_version="1.0.0",
        **more,
    )


def facts_of(main: Element) -> dict[str, str]:
    facts = main.find(".//dl[@id='facts']")
    assert facts is not None
    terms = ["".join(dt.itertext()) for dt in facts.iter("dt")]
    return dict(zip(terms, ["".join(dd.itertext()) for dd in facts.iter("dd")], strict=True))


async def test_a_dataset_page_says_what_where_on_which_grid_and_how_to_open_it(data_gateway):
    await data_gateway.append(committed("synthetic-daily", "job-a"))
    await data_gateway.project()
    main = await main_of(data_gateway, "/datasets/synthetic-daily")
    facts = facts_of(main)
    assert facts["Variable"] == "t2m, in K"
    assert facts["Periods"] == "daily"
    assert facts["Time range stored"] == "2020-01-01 to 2020-01-12"
    assert facts["Source publishes"] == "from 2020-01-01, still published"
    assert facts["Bounding box"] == "west 4, south 57, east 12, north 63"
    assert facts["Grid (template)"] == "24 × 32 cells (y × x) of 0.25"
    code = text_of(main, ".//pre[@class='open-it']")
    assert "from jobstream_datasets import open_dataset" in code
    assert 'ds = open_dataset("synthetic-daily")' in code
    assert 'open_dataset("synthetic-daily", snapshot_id="snap-1")' in code
    # Run as written, the lines name only what they import.
    compile(code, "dataset page", "exec")


async def test_a_derived_datasets_title_says_what_made_it_not_its_id(data_gateway):
    inputs = {"source_dataset_id": "synthetic-daily", "frequency": "MS", "method": "mean"}
    job_id = await data_gateway.submit("resample", inputs)
    source = SnapshotRef(dataset_id="synthetic-daily", snapshot_id="snap-0")
    await data_gateway.append(committed("synthetic-daily-mean-MS", job_id, source=source))
    await data_gateway.project()
    record = (await data_gateway.http.get("/datasets/synthetic-daily-mean-MS")).json()
    assert record["title"] == "synthetic-daily, monthly mean"
    main = await main_of(data_gateway, "/datasets/synthetic-daily-mean-MS")
    assert "synthetic-daily, monthly mean" in text_of(main, "h1")
    # Its variable and area are its source's.
    assert facts_of(main)["Variable"] == "t2m, in K"
    assert facts_of(main)["Bounding box"] == "west 4, south 57, east 12, north 63"
    listed = (await data_gateway.http.get("/datasets")).json()["datasets"]
    titles = {record["id"]: record["title"] for record in listed}
    assert titles["synthetic-daily-mean-MS"] == "synthetic-daily, monthly mean"
