"""Reads that cost the gateway a bounded amount whatever one caller asks: the job list without
inputs or results, and the caps on event streams and long-polls per caller."""

import asyncio
import json
import tracemalloc
import urllib.request
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack

from sqlalchemy import event

from jobstream_contracts.events import JobStarted, JobSubmitted
from jobstream_gateway.slots import Slots
from jobstream_infra.embedded import EmbeddedNats
from jobstream_projector.view import apply_batch

from ..support.inprocess import Gateway, keyed_identity, open_stream, serving, view_engine
from ..support.waiting import eventually_async
from .test_access import ERRORS, ROLES, as_, exception_of, submit

INPUT_BYTES = 500_000
JOBS = 1000


def _submissions(count: int) -> list[JobSubmitted]:
    blob = "x" * INPUT_BYTES  # one string, so the test itself holds 500 kB, not 500 MB
    return [
        JobSubmitted(job_id=str(uuid.uuid4()), process_id="echo", inputs={"message": blob})
        for n in range(count)
    ]


def _store(gateway: Gateway, submissions: list[JobSubmitted]) -> None:
    checkpoint = 0
    for start in range(0, len(submissions), 100):
        pairs = [(start + n + 1, s) for n, s in enumerate(submissions[start : start + 100])]
        checkpoint = apply_batch(gateway.engine, pairs, checkpoint)


async def test_the_job_list_never_loads_inputs_or_results(gateway):
    await asyncio.to_thread(_store, gateway, _submissions(JOBS))
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    event.listen(gateway.engine, "before_cursor_execute", seen)
    tracemalloc.start()
    try:
        listed = await gateway.http.get("/jobs", params={"limit": JOBS})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        event.remove(gateway.engine, "before_cursor_execute", seen)
    assert listed.status_code == 200
    assert len(listed.json()["jobs"]) == JOBS
    (query,) = [s for s in statements if "FROM jobs" in s]
    assert "inputs" not in query and "results" not in query and "outputs" not in query
    # 1,000 rows of 500 kB inputs are 500 MB; the list of their status documents, about 2 MB.
    assert peak < 50_000_000, f"listing took {peak / 1e6:.0f} MB"


async def test_a_jobs_results_are_still_read_from_its_full_row(gateway):
    job_id = await gateway.submit("echo", {"message": "kept"})
    await gateway.run(job_id, {"echo": "kept"})
    await gateway.project()
    listed = (await gateway.http.get("/jobs")).json()["jobs"]
    assert [job["jobID"] for job in listed] == [job_id]
    results = await gateway.http.get(f"/jobs/{job_id}/results")
    assert results.status_code == 200 and results.text == "kept"  # one output, raw: its value


async def test_a_callers_streams_past_its_cap_are_429_while_another_caller_opens_one(
    settings, journal, tmp_path
):
    identity, keys = keyed_identity(ROLES)
    with_keys = settings.model_copy(update={"auth": "apikey"})
    cap = with_keys.max_event_streams_per_caller
    async with serving(with_keys, journal, view_engine(tmp_path), identity) as gateway:
        async with AsyncExitStack() as held:
            answers = []
            for _ in range(300):
                stream = await held.enter_async_context(
                    open_stream(gateway.app, "/events", as_(keys, "alice"))
                )
                answers.append((await stream.started(), stream))
            assert [status for status, _ in answers].count(200) == cap
            assert [status for status, _ in answers].count(429) == 300 - cap
            refused = json.loads(answers[-1][1].text)
            assert refused["type"] == f"{ERRORS}/too-many-requests"
            async with open_stream(gateway.app, "/events", as_(keys, "bob")) as theirs:
                assert await theirs.started() == 200
        # Every stream closed gave its slots back.
        assert gateway.ctx.held.streams.open == 0 and not gateway.ctx.held.streams.by_caller


async def test_a_refused_stream_answers_an_ogc_exception_with_retry_after(
    settings, journal, tmp_path
):
    identity, keys = keyed_identity(ROLES)
    capped = settings.model_copy(update={"auth": "apikey", "max_event_streams_per_caller": 1})
    async with serving(capped, journal, view_engine(tmp_path), identity) as gateway:
        async with open_stream(gateway.app, "/events", as_(keys, "alice")) as one:
            assert await one.started() == 200
            refused = await gateway.http.get(
                "/events", headers={"Accept": "text/event-stream", **as_(keys, "alice")}
            )
            body = exception_of(refused, 429, "too-many-requests")
            assert "alice" in body["detail"] and "PER_CALLER" in body["detail"]
            assert int(refused.headers["Retry-After"]) > 0


async def test_long_polls_and_sync_executions_are_capped_per_caller(settings, journal, tmp_path):
    identity, keys = keyed_identity(ROLES)
    capped = settings.model_copy(update={"auth": "apikey", "max_long_polls_per_caller": 2})
    async with serving(capped, journal, view_engine(tmp_path), identity) as gateway:
        alice, bob = as_(keys, "alice"), as_(keys, "bob")
        mine = (await submit(gateway, alice, "count", {"n": 3})).json()["jobID"]
        theirs = (await submit(gateway, bob, "count", {"n": 3})).json()["jobID"]

        async def poll(job_id: str, key: dict[str, str]):
            tag = (await gateway.http.get(f"/jobs/{job_id}", headers=key)).headers["ETag"]
            wait = {"If-None-Match": tag, "Prefer": "wait=20", **key}
            return await gateway.http.get(f"/jobs/{job_id}", headers=wait)

        held = [asyncio.create_task(poll(mine, alice)) for _ in range(2)]
        waits = gateway.ctx.held.waits
        await eventually_async(holding(waits, "key:alice", 2), what="alice's two long-polls")
        exception_of(await poll(mine, alice), 429, "too-many-requests")
        submitted = len(await gateway.events())
        sync = await gateway.http.post(
            "/processes/echo/execution", json={"inputs": {"message": "now"}}, headers=alice
        )
        exception_of(sync, 429, "too-many-requests")
        assert len(await gateway.events()) == submitted, "a refused sync execution was recorded"
        theirs_poll = asyncio.create_task(poll(theirs, bob))
        await eventually_async(holding(waits, "key:bob", 1), what="bob's long-poll")
        started = [
            JobStarted(job_id=job, process_id="count", attempt=1, executor="test")
            for job in (mine, theirs)
        ]
        await gateway.append(*started)
        answered = await asyncio.wait_for(asyncio.gather(*held, theirs_poll), 10)
        assert [response.status_code for response in answered] == [200, 200, 200]
        assert waits.open == 0 and not waits.by_caller


def holding(slots: Slots, caller: str, count: int) -> Callable[[], Awaitable[bool]]:
    async def look() -> bool:
        return slots.by_caller[caller] == count

    return look


def _bytes_sent(server: EmbeddedNats) -> int:
    """Everything the server has sent its clients so far."""
    with urllib.request.urlopen(f"{server.monitor_url}/varz") as answer:
        return json.load(answer)["out_bytes"]


async def test_a_callers_replay_reads_their_jobs_events_not_everyones(
    settings, jetstream_journal, shared_nats, tmp_path
):
    identity, keys = keyed_identity(ROLES)
    with_keys = settings.model_copy(update={"auth": "apikey"})
    async with serving(with_keys, jetstream_journal, view_engine(tmp_path), identity) as gateway:
        first = (await submit(gateway, as_(keys, "alice"), "echo", {"message": "1"})).json()
        # 2 MB of another caller's events between alice's two jobs.
        blob = "y" * 10_000
        await gateway.append(
            *(
                JobSubmitted(
                    job_id=str(uuid.uuid4()),
                    process_id="echo",
                    owner="key:bob",
                    inputs={"message": blob},
                )
                for _ in range(200)
            )
        )
        second = (await submit(gateway, as_(keys, "alice"), "echo", {"message": "2"})).json()
        await gateway.project()

        before = await asyncio.to_thread(_bytes_sent, shared_nats)
        path = f"/events?after={gateway.start}"
        async with open_stream(gateway.app, path, as_(keys, "alice")) as replay:
            await asyncio.wait_for(replay.first(2), 10)
            sent = await asyncio.to_thread(_bytes_sent, shared_nats) - before
            # Replayed up to the view's checkpoint, then followed live.
            third = (await submit(gateway, as_(keys, "alice"), "echo", {"message": "3"})).json()
            frames = await asyncio.wait_for(replay.first(3), 10)
    jobs = [first["jobID"], second["jobID"], third["jobID"]]
    assert [frame.data["subject"] for frame in frames] == jobs
    assert [int(frame.id or 0) for frame in frames] == sorted(int(f.id or 0) for f in frames)
    # Alice's two events, not bob's 200 (2 MB) between them.
    assert sent < 100_000, f"the replay read {sent:,} bytes"
