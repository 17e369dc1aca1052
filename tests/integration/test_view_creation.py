"""Components that start together create the view together: none of them may fail for it.

The gateway and the projector both create the view's missing tables at start (`jobstream up`
starts them at once). Plain `create_all` checks, then creates, so the slower of two racing
processes hit "table jobs already exists" and the gateway exited.
"""

import multiprocessing
import multiprocessing.synchronize

from sqlalchemy import inspect, text

from jobstream_projector.view import create_view, create_view_engine

RACERS = 3
ROUNDS = 5


def _create(url: str, migrate: bool, start: multiprocessing.synchronize.Barrier, errors) -> None:
    engine = create_view_engine(url)
    start.wait()
    try:
        create_view(engine, migrate=migrate)
    except Exception as exc:  # noqa: BLE001 - reported to the test
        errors.put(repr(exc))


def _race(url: str) -> list[str]:
    context = multiprocessing.get_context("fork")
    start, errors = context.Barrier(RACERS), context.Queue()
    racers = [
        context.Process(target=_create, args=(url, index == 0, start, errors))
        for index in range(RACERS)
    ]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
        assert racer.exitcode == 0
    return [errors.get() for _ in range(errors.qsize())]


def test_processes_creating_one_sqlite_view_at_once_all_succeed(tmp_path):
    for round_ in range(ROUNDS):
        url = f"sqlite:///{tmp_path}/view-{round_}.sqlite"
        assert _race(url) == []
        assert {"jobs", "projector_checkpoint"} <= set(
            inspect(create_view_engine(url)).get_table_names()
        )


def test_processes_creating_one_postgres_view_at_once_all_succeed(postgres_url):
    engine = create_view_engine(postgres_url)
    for _ in range(ROUNDS):
        with engine.begin() as connection:
            for table in inspect(connection).get_table_names():
                connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        assert _race(postgres_url) == []
    assert "jobs" in inspect(engine).get_table_names()
