"""What the server's commands share. Each component's package adds its own command to
``jobstream`` (an entry point of the ``jobstream.commands`` group), so an image of one
component holds that command alone; these are the parts they have in common: the HTTP
options, settings and logging, running until a signal, and reaching NATS for a one-off
command.

Imports that cost start-up time (the NATS client) stay inside the functions: every
``jobstream`` command, the client's included, loads the modules that add the commands.
"""

import argparse
import asyncio
import faulthandler
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog

from jobstream_client.cli.exit_codes import REFUSED, UNREACHABLE, UNREADABLE, USAGE

from .logging import configure_logging
from .settings import (
    AccessSettings,
    NatsSettings,
    ObservabilitySettings,
    SettingsRefused,
    load_settings,
    warn_unknown_variables,
)

log = structlog.get_logger("jobstream")

S = TypeVar("S", bound=ObservabilitySettings)
T = TypeVar("T")

# The commands that start one component each (`jobstream up` starts them all).
COMPONENTS = ("gateway", "executor", "projector", "notifier")
# Seconds a stopping projector or notifier may take before its work is cancelled.
STOP_GRACE = 2.0
# The options the gateway's settings take from the command line (`up` starts a gateway too).
OVERRIDDEN = ("host", "port", "insecure", "embedded_nats_nodes")


def http_options() -> argparse.ArgumentParser:
    """A parent parser of the commands that serve HTTP (`gateway`, `up`)."""
    http = argparse.ArgumentParser(add_help=False)
    http.add_argument("--host", help="gateway address (JOBSTREAM_HOST)")
    http.add_argument("--port", type=int, help="gateway port (JOBSTREAM_PORT)")
    http.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="serve on a non-loopback address without authentication (JOBSTREAM_INSECURE)",
    )
    return http


def stream_bound(text: str) -> int | datetime:
    """An argparse type: a stream sequence, or an RFC 3339 instant (UTC when it names no
    zone)."""
    if text.isdigit():
        return int(text)
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a stream sequence nor an RFC 3339 instant"
        ) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def overrides(args: argparse.Namespace) -> dict[str, object]:
    """The settings given as options rather than variables."""
    return {key: value for key in OVERRIDDEN if (value := getattr(args, key, None)) is not None}


def configured(cls: type[S], args: argparse.Namespace, answers_on_stdout: bool = False) -> S:
    """The command's settings, its logging set up; a refused value ends it with one line per
    variable, not a traceback. A command whose answer is its stdout logs to stderr."""
    try:
        settings = load_settings(cls, overrides(args))
    except SettingsRefused as exc:
        sys.exit(str(exc))
    if args.command in COMPONENTS and isinstance(settings, NatsSettings):
        _check_nats_login(settings, args.command)
    configure_logging(settings, sys.stderr if answers_on_stdout else None)
    warn_unknown_variables(os.environ)
    # `kill -USR1 <pid>` prints every thread's stack to stderr: how to see where a stuck job
    # (or component) is without stopping it.
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    return settings


def _check_nats_login(settings: NatsSettings, component: str) -> None:
    """Where and as whom the component will connect, found before it starts: a missing
    setting or an unusable credentials file ends it with one line, before any work."""
    from .connection import NatsNotConfigured, nats_login

    try:
        nats_login(settings, component)
    except NatsNotConfigured as error:
        sys.exit(f"jobstream {component}: {error}")


def refuse_an_open_gateway(settings: AccessSettings) -> None:
    if not settings.authenticates and not settings.loopback_only and not settings.insecure:
        sys.exit(
            f"refusing to serve on {settings.host}: JOBSTREAM_AUTH is none, so anyone who "
            "reaches that address could read and dismiss every job. Serve on 127.0.0.1 (the "
            "default), set JOBSTREAM_AUTH=apikey or oidc, or give --insecure "
            "(JOBSTREAM_INSECURE=true) to accept that."
        )


async def until_signalled(
    run: Callable[[asyncio.Event], Coroutine[Any, Any, Any]], grace: float = STOP_GRACE
) -> None:
    """Run ``run(stop)`` until it returns; once SIGINT or SIGTERM sets ``stop``, give it
    ``grace`` seconds to finish, then cancel it (a request to an unreachable NATS may wait
    out its own timeout otherwise)."""
    from .connection import NatsNotConfigured, NatsRefused, StopRequested

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    task = asyncio.create_task(run(stop))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if not task.done():
        _, pending = await asyncio.wait({task}, timeout=grace)
        if pending:
            log.warning("did not stop within its grace; cancelled", grace=grace)
            task.cancel()
    try:
        await task
    except (StopRequested, asyncio.CancelledError):
        pass  # stopped before NATS answered, or cut short: nothing acked is lost
    except (NatsNotConfigured, NatsRefused) as error:
        sys.exit(str(error))  # no use retrying: one line naming what to change


def reaching_nats(command: str, run: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command that connects to NATS; one line naming what to change, not a
    traceback, when it cannot connect."""
    from .connection import NatsNotConfigured, NatsRefused, NatsUnreachable
    from .reader import UnreadableEvent

    try:
        return asyncio.run(run())
    except (NatsNotConfigured, NatsRefused, NatsUnreachable) as error:
        print(f"jobstream {command}: {error}", file=sys.stderr)
        sys.exit(_nats_exit_code(error))
    except UnreadableEvent as error:
        print(
            f"jobstream {command}: {error}. Stopped there; --skip-unreadable records such "
            "events and goes on.",
            file=sys.stderr,
        )
        sys.exit(UNREADABLE)


def _nats_exit_code(error: Exception) -> int:
    """The exit code of a command that could not connect to NATS."""
    from .connection import NatsNotConfigured, NatsRefused, NatsUnreachable

    codes = {NatsNotConfigured: USAGE, NatsRefused: REFUSED, NatsUnreachable: UNREACHABLE}
    for kind, code in codes.items():
        if isinstance(error, kind):
            return code
    raise error
