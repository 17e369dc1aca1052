"""Estimates: asked of an executor over NATS, or refused when none offers one."""

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from jobstream_contracts.process import TooMuchWork
from jobstream_executor.announce import serve_estimates
from jobstream_executor.builtin import ECHO
from jobstream_gateway.nats_parts import Executors

from ..support.inprocess import Gateway, serving, view_engine
from .ogc import exception_of


def seconds_to_echo(message: str, pause: float = 0.0) -> dict:
    return {"seconds": pause, "characters": len(message)}


@pytest.fixture
async def estimated(settings, journal, nats_connection, tmp_path) -> AsyncIterator[Gateway]:
    """A gateway whose echo has an executor answering estimates (the executor's own code)."""
    await serve_estimates(nats_connection, {"echo": replace(ECHO, estimate=seconds_to_echo)})
    executors = Executors(nats_connection)
    async with serving(settings, journal, view_engine(tmp_path), executors=executors) as gateway:
        yield gateway


async def test_an_estimate_is_the_executors_answer_to_the_query_inputs(estimated):
    answer = await estimated.http.get(
        "/processes/echo/estimate", params={"message": "hello", "pause": "2.5"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "processID": "echo",
        "inputs": {"message": "hello", "pause": 2.5},
        "seconds": 2.5,
        "characters": 5,
    }


@pytest.mark.parametrize(
    ("params", "name"),
    [({"message": "x", "pause": "soon"}, "pause"), ({"message": "x", "speed": "1"}, "speed")],
)
async def test_query_inputs_the_process_does_not_take_are_400(estimated, params, name):
    answer = await estimated.http.get("/processes/echo/estimate", params=params)
    assert name in exception_of(answer, 400)["detail"]


async def test_without_executors_a_process_offers_no_estimate(gateway):
    answer = await gateway.http.get("/processes/echo/estimate", params={"message": "x"})
    assert "offers no estimate" in exception_of(answer, 404)["detail"]
    unknown = await gateway.http.get("/processes/nope/estimate")
    assert unknown.status_code == 404


def too_much(message: str, size_only: bool = False) -> dict:
    raise TooMuchWork(f"{len(message)} characters is too many", {"characters": len(message)})


@pytest.mark.parametrize("offers", [True, False])
async def test_a_submission_is_checked_only_where_the_process_offers_an_estimate(
    settings, journal, nats_connection, tmp_path, offers
):
    """An executor refusing every plan: it is asked only when the process's announcement says
    it offers an estimate (no request at all for the others, such as every no-op job)."""
    await serve_estimates(nats_connection, {"echo": replace(ECHO, estimate=too_much)})
    executors = Executors(nats_connection)
    async with serving(settings, journal, view_engine(tmp_path), executors=executors) as gateway:
        catalog = gateway.ctx.catalog.entries
        catalog["echo"] = catalog["echo"].model_copy(update={"offersEstimate": offers})
        answer = await gateway.http.post(
            "/processes/echo/execution",
            json={"inputs": {"message": "hello"}},
            headers={"Prefer": "respond-async"},
        )
    if offers:
        assert exception_of(answer, 413)["estimate"] == {"characters": 5}
    else:
        assert answer.status_code == 201, answer.text
