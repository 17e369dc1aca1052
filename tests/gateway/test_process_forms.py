"""The data processes' forms: Markdown descriptions, an offline default, labelled choices,
date pickers; and their descriptions, still valid OGC process descriptions."""

from collections.abc import AsyncIterator
from xml.etree.ElementTree import Element

import html5lib
import pytest

from jobstream_gateway.inputs import validate_inputs
from jobstream_gateway.catalog import ProcessCatalog

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


async def form_of(gateway: Gateway, process_id: str) -> Element:
    page = await gateway.http.get(f"/processes/{process_id}", headers=HTML)
    assert page.status_code == 200
    document = html5lib.parse(page.text, namespaceHTMLElements=False)
    main = document.find(".//main")
    assert main is not None
    return main


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
        json={"inputs": {"source_dataset_id": "synthetic-daily", "frequency": "monthly",
                         "method": "mean"}},
    )
    assert answer.status_code == 400
    assert "inputs.frequency" in answer.json()["detail"]
