import os
import uuid

import pytest

from jobstream_infra.embedded import EmbeddedNats

from .support.stack import Stack

# Tests whose assertions depend on time: faults wait out AckWaits, leases and elections, and
# a few bound an answer in seconds (an estimate's 413 in under a second, a delivery cut off at
# its deadline, a revocation applied within seconds). On a loaded machine they would measure
# the load, so they run one at a time at normal priority beside the parallel pass, which
# yields to them (dev.py test). The bench smoke runs assert only that each report is whole,
# so they run in the parallel pass.
SERIAL = (
    "tests/faults/",
    "tests/integration/test_cluster.py",
    "tests/integration/test_access.py",
    "tests/datasets/test_limits.py",
    "tests/notifier/test_handle.py",
)
# Faults that wait out no AckWait, lease or election, and bound nothing in seconds: their
# assertions hold on a loaded machine, so they run in the parallel pass.
UNTIMED_FAULTS = (
    "tests/faults/test_archiver_kill.py",
    "tests/faults/test_idempotency.py",
    "tests/faults/test_poison_event.py",
    "tests/faults/test_store_full.py",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.nodeid.startswith(SERIAL) and not item.nodeid.startswith(UNTIMED_FAULTS):
            item.add_marker(pytest.mark.serial)


POSTGRES_ADMIN_URL = os.environ.get(
    "JOBSTREAM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def nats_server(tmp_path):
    with EmbeddedNats(tmp_path / "nats") as server:
        yield server


@pytest.fixture
def make_stack(tmp_path, nats_server):
    """Build stacks on this test's nats-server; they are stopped at the end of the test."""
    stacks = []

    def make(**settings) -> Stack:
        workdir = tmp_path / f"stack-{len(stacks)}"
        stack = Stack(workdir, nats_server.url, credentials=nats_server.credentials, **settings)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """One running stack shared by the API tests."""
    workdir = tmp_path_factory.mktemp("api")
    with EmbeddedNats(workdir / "nats") as server:
        running = Stack(
            workdir, server.url, credentials=server.credentials, progress_interval=0.1
        ).start()
        running.wait_ready(("echo", "count", "spin", "fail", "hold", "async-only"))
        yield running
        running.close()


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy
    import sqlalchemy.exc

    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"jobstream_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sqlalchemy.exc.OperationalError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc}")
    url = sqlalchemy.engine.make_url(POSTGRES_ADMIN_URL).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()
