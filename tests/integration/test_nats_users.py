"""The embedded nats-server's users: anonymous connections are refused, each component may do
only what it needs, and the stream's history is beyond the reach of every one of them but the
archiver, which may purge it and do nothing else."""

import asyncio
import dataclasses
import json
import os
import stat
import subprocess
import time
from collections.abc import Awaitable, Callable

import nats
import nats.errors
import pytest
from nats.js import JetStreamContext
from nats.js.errors import APIError
from pydantic import SecretStr

from jobstream_contracts.events import (
    EVENT_TYPES,
    CallbackDelivered,
    ErrorInfo,
    JobFailed,
    JobSucceeded,
)
from jobstream_contracts.subjects import STREAM, event_subject, job_filter
from jobstream_infra.connection import NatsRefused, close_nats, connect_nats
from jobstream_infra.embedded import EmbeddedNats, server_binary
from jobstream_infra.nats_conf import external_server_block
from jobstream_infra.nats_users import USERS, inbox_prefix
from jobstream_infra.provisioning import (
    StreamNeedsAdmin,
    ensure_stream,
    provision,
    stream_config,
)
from jobstream_infra.settings import NatsSettings

from ..support.secured_nats import new_user_seed, public_key
from ..support.stack import Stack

COMPONENTS = ("gateway", "executor", "projector", "notifier")
Attempt = Callable[[JetStreamContext], Awaitable[object]]


@pytest.fixture(scope="module")
def finished_job(tmp_path_factory):
    """A server with a stack that ran one job to the end, the stack, and that job's id. The
    tests only try to destroy: what they share is unchanged unless one of them fails."""
    workdir = tmp_path_factory.mktemp("users")
    with EmbeddedNats(workdir / "nats") as server:
        stack = Stack(workdir, server.url, credentials=server.credentials).start()
        job_id = stack.submit("echo", {"message": "keep me"})
        stack.wait_job(job_id)
        yield server, stack, job_id
        stack.close()


async def _as_user(server: EmbeddedNats, user: str, attempts: list[Attempt]) -> list[str]:
    """Make the attempts as ``user``, all at once (an unanswered request gives up after a
    second: one second for them all); the errors the server reported. The user's stream info
    must be answered, or nothing is shown."""
    reported: list[str] = []

    async def on_error(exc: Exception) -> None:
        reported.append(str(exc).lower())

    async def make(attempt: Attempt, js: JetStreamContext) -> None:
        try:
            await attempt(js)
        except TimeoutError:
            pass  # refused: the server does not answer what it does not let through

    nc = await nats.connect(
        server.credentials.url_as(user),
        inbox_prefix=inbox_prefix(user),
        error_cb=on_error,
        allow_reconnect=False,
    )
    try:
        js = nc.jetstream(timeout=1)
        assert (await js.stream_info(STREAM)).state.messages > 0
        await asyncio.gather(*(make(attempt, js) for attempt in attempts))
    finally:
        await nc.close()
    return reported


def _denied(reported: list[str], subject: str) -> bool:
    """Whether the server reported refusing a publish to ``subject``."""
    refusal = f'permissions violation for publish to "{subject}"'.lower()
    return any(refusal in error for error in reported)


def _destroying() -> list[Attempt]:
    return [lambda js: js.purge_stream(STREAM), *_changing()]


def _changing() -> list[Attempt]:
    """What would remove events but a purge: the archiver's one right."""
    shrunk = dataclasses.replace(stream_config(), max_msgs=1)
    return [
        lambda js: js.delete_stream(STREAM),
        lambda js: js.delete_msg(STREAM, 1),
        lambda js: js.update_stream(shrunk),
    ]


def _publishing(subject: str) -> Attempt:
    return lambda js: js.publish(subject, b"{}", stream=STREAM)


def _refused(attempt: Attempt) -> Attempt:
    """The attempt, answered with a refusal by the stream itself."""

    async def expect_refusal(js: JetStreamContext) -> None:
        with pytest.raises(APIError):
            await attempt(js)

    return expect_refusal


def test_an_anonymous_connection_is_refused(nats_server):
    async def anonymous() -> None:
        await nats.connect(nats_server.address, allow_reconnect=False, connect_timeout=2)

    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        asyncio.run(anonymous())


def test_a_refused_password_ends_a_components_start_at_once(nats_server):
    settings = NatsSettings(
        nats_url=nats_server.address, nats_user="gateway", nats_password=SecretStr("no")
    )
    began = time.monotonic()
    with pytest.raises(NatsRefused, match="'gateway'"):
        asyncio.run(connect_nats(settings, "gateway"))
    assert time.monotonic() - began < 5  # not retried until connect_nats's wait runs out


@pytest.mark.parametrize("user", COMPONENTS)
def test_a_components_user_cannot_purge_delete_or_shrink_the_stream(finished_job, user):
    nats_server, stack, _ = finished_job
    before = stack.events()
    reported = asyncio.run(_as_user(nats_server, user, _destroying()))
    for api in ("PURGE", "DELETE", "MSG.DELETE", "UPDATE"):
        assert _denied(reported, f"$JS.API.STREAM.{api}.{STREAM}"), reported
    assert stack.events() == before


def test_the_admin_may_not_purge_or_delete_and_the_stream_keeps_refusing_deletes(finished_job):
    nats_server, stack, _ = finished_job
    before = stack.events()

    reopened = dataclasses.replace(stream_config(), deny_delete=False)
    attempts = [
        # Not even asked: the admin may not.
        lambda js: js.purge_stream(STREAM),
        lambda js: js.delete_msg(STREAM, 1),
        lambda js: js.delete_stream(STREAM),
        # Asked, and refused by the stream: message deletes stay denied for good.
        _refused(lambda js: js.update_stream(reopened)),
    ]
    reported = asyncio.run(_as_user(nats_server, "admin", attempts))
    for api in ("PURGE", "MSG.DELETE", "DELETE"):
        assert _denied(reported, f"$JS.API.STREAM.{api}.{STREAM}"), reported
    assert stack.events() == before


def test_the_archiver_may_purge_one_jobs_events_and_nothing_else(finished_job):
    nats_server, stack, _ = finished_job
    archived = stack.submit("echo", {"message": "archive me"})
    # Folded into the view first, as a job past its retention is: the projector accepts a gap
    # in the stream only before its first message, not one in the events it is yet to fold.
    stack.wait_view(archived)
    before = stack.events()

    async def trim(js: JetStreamContext) -> None:
        # As the archiver trims: the job's subjects, up to its last archived event.
        last = (await js.stream_info(STREAM)).state.last_seq
        assert await js.purge_stream(STREAM, subject=job_filter(archived), seq=last + 1)

    reported = asyncio.run(_as_user(nats_server, "archiver", [trim]))
    assert reported == []
    assert stack.events(archived) == []
    assert stack.events() == [event for event in before if event.job_id != archived]


def test_the_archiver_records_no_event_deletes_no_message_and_changes_no_stream(finished_job):
    nats_server, stack, job_id = finished_job
    before = stack.events()
    subjects = [
        event_subject("echo", job_id, token)
        for kind in EVENT_TYPES.values()
        for token in kind.tokens()
    ]
    attempts = [*map(_publishing, subjects), *_changing()]
    reported = asyncio.run(_as_user(nats_server, "archiver", attempts))
    for subject in subjects:
        assert _denied(reported, subject), (subject, reported)
    for api in ("DELETE", "MSG.DELETE", "UPDATE"):
        assert _denied(reported, f"$JS.API.STREAM.{api}.{STREAM}"), reported
    assert stack.events() == before


@pytest.mark.parametrize("user", ["gateway", "projector", "notifier"])
def test_only_the_executor_records_a_jobs_outcome(finished_job, user):
    nats_server, stack, job_id = finished_job
    before = stack.events(job_id)
    forged = JobSucceeded(job_id=job_id, process_id="echo", attempt=1, results={"x": "forged"})

    async def forge(js: JetStreamContext) -> None:
        await js.publish(forged.subject, forged.encode(), stream=STREAM)

    reported = asyncio.run(_as_user(nats_server, user, [forge]))
    assert _denied(reported, forged.subject), reported
    assert stack.events(job_id) == before


def test_an_outcome_forged_on_the_notifiers_own_subjects_is_parked_and_changes_nothing(
    finished_job,
):
    nats_server, stack, job_id = finished_job
    document = stack.http.get(f"/jobs/{job_id}").json()
    parked = stack.http.get("/ready").json()["parked_events"]
    failed = JobFailed(job_id=job_id, process_id="echo", error=ErrorInfo(type="E", detail="forged"))
    newer = json.loads(JobSucceeded(job_id=job_id, process_id="echo").encode())
    newer["schema_version"] = 99  # once enough to stop the projector for good
    subject = event_subject("echo", job_id, CallbackDelivered.token)  # the notifier may write

    async def forge(js: JetStreamContext) -> None:
        await js.publish(subject, failed.encode(), stream=STREAM)
        await js.publish(subject, json.dumps(newer).encode(), stream=STREAM)

    reported = asyncio.run(_as_user(nats_server, "notifier", [forge]))
    assert not _denied(reported, subject), reported
    later = stack.submit("echo", {"message": "after the forgeries"})
    stack.wait_view(later)  # the projector runs on
    ready = stack.http.get("/ready").json()
    assert (ready["parked_events"], ready["projector_lag"]) == (parked + 2, 0), ready
    assert stack.http.get(f"/jobs/{job_id}").json() == document
    history = stack.http.get(f"/jobs/{job_id}/events").json()["events"]
    assert "forged" not in json.dumps(history)


def test_credentials_are_private_and_an_older_stream_is_updated_by_the_admin_only(tmp_path):
    settings = NatsSettings(data_dir=tmp_path / "data")
    with EmbeddedNats(settings.embedded_nats_dir) as server:
        asyncio.run(_create_older_stream(server.url, description="an older release's"))
        with pytest.raises(StreamNeedsAdmin):
            asyncio.run(_ensure_stream_as(settings, "gateway"))
        asyncio.run(provision(settings))  # found through the credentials file, as the admin
        asyncio.run(_ensure_stream_as(settings, "gateway"))
        # JetStream never unsets deny_purge: it is kept, and the update did not fail on it.
        assert asyncio.run(_deny_flags(server.url)) == (True, True)
    for name in ("credentials.json", "nats-server.conf"):
        assert stat.S_IMODE((settings.embedded_nats_dir / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.embedded_nats_dir.stat().st_mode) == 0o700


def test_an_older_stream_that_denies_purges_needs_no_admin_and_refuses_the_archiver(tmp_path):
    settings = NatsSettings(data_dir=tmp_path / "data")
    with EmbeddedNats(settings.embedded_nats_dir) as server:
        asyncio.run(_create_older_stream(server.url))
        asyncio.run(_ensure_stream_as(settings, "gateway"))  # no update asked for
        asyncio.run(provision(settings))
        asyncio.run(_publish_one(server.url))
        with pytest.raises(APIError, match="purge"):
            asyncio.run(_purge_as(server, "archiver"))
        assert asyncio.run(_deny_flags(server.url)) == (True, True)
        assert asyncio.run(_message_count(server.url)) == 1


def test_a_new_stream_leaves_purges_to_permissions_and_denies_deletes(tmp_path):
    settings = NatsSettings(data_dir=tmp_path / "data")
    with EmbeddedNats(settings.embedded_nats_dir) as server:
        asyncio.run(_ensure_stream_as(settings, "gateway"))
        asyncio.run(provision(settings))
        assert asyncio.run(_deny_flags(server.url)) == (False, True)


async def _create_older_stream(url: str, **changes: object) -> None:
    """The stream as a release before the archiver made it: purges denied."""
    nc = await nats.connect(url)
    older = dataclasses.replace(stream_config(), deny_purge=True, **changes)
    await nc.jetstream().add_stream(older)
    await nc.close()


async def _publish_one(url: str) -> None:
    nc = await nats.connect(url)
    await nc.jetstream().publish(event_subject("echo", "j1", JobFailed.token), b"{}")
    await nc.close()


async def _purge_as(server: EmbeddedNats, user: str) -> None:
    nc = await nats.connect(server.credentials.url_as(user), inbox_prefix=inbox_prefix(user))
    try:
        await nc.jetstream(timeout=2).purge_stream(STREAM, subject=job_filter("j1"))
    finally:
        await nc.close()


async def _message_count(url: str) -> int:
    nc = await nats.connect(url)
    messages = (await nc.jetstream().stream_info(STREAM)).state.messages
    await nc.close()
    return messages


async def _ensure_stream_as(settings: NatsSettings, component: str) -> None:
    nc = await connect_nats(settings, component)
    try:
        await ensure_stream(nc.jetstream(timeout=1))
    finally:
        await close_nats(nc, component)


async def _deny_flags(url: str) -> tuple[bool | None, bool | None]:
    nc = await nats.connect(url)
    config = (await nc.jetstream().stream_info(STREAM)).config
    await nc.close()
    return config.deny_purge, config.deny_delete


def test_the_readmes_configuration_is_one_nats_server_accepts(tmp_path):
    config = tmp_path / "external.conf"
    store = json.dumps(str(tmp_path))
    config.write_text(f"jetstream: {{store_dir: {store}}}\n{external_server_block()}")
    passwords = {f"JOBSTREAM_NATS_{user.upper()}_PASSWORD": f"secret-{user}" for user in USERS}
    assert _check_config(config, passwords).returncode == 0
    # The passwords come from the server's environment, which must give them.
    assert _check_config(config, {}).returncode != 0


def test_the_nkey_form_of_the_configuration_is_one_nats_server_accepts(tmp_path):
    config = tmp_path / "external.conf"
    config.write_text(external_server_block(nkeys=True))
    keys = {f"JOBSTREAM_NATS_{user.upper()}_NKEY": public_key(new_user_seed()) for user in USERS}
    assert _check_config(config, keys).returncode == 0


def _check_config(config, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(server_binary()), "-t", "-c", str(config)],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("JOBSTREAM_")}, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
