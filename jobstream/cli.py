"""The server's commands: `jobstream up | gateway | executor | projector [rebuild] | notifier
| events export | apikey | config check`.

They join the `jobstream` command of jobstream-client (which holds the client commands and the
one console script) as the `server` entry of the `jobstream.commands` entry-point group:
installing this package is what adds them.
"""

import argparse
import asyncio
import faulthandler
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import structlog

from jobstream_client.cli.exit_codes import REFUSED, UNREACHABLE, UNREADABLE, USAGE
from jobstream_client.cli.main import CommandGroup
from jobstream_contracts.access import Role
from jobstream_contracts.cloudevents import UNREADABLE_TYPE
from jobstream_infra.logging import configure_logging
from jobstream_infra.settings import (
    COMMAND_SETTINGS,
    AccessSettings,
    AdminSettings,
    ExecutorSettings,
    GatewaySettings,
    NatsSettings,
    NotifierSettings,
    ObservabilitySettings,
    ProjectorSettings,
    SettingsRefused,
    UpSettings,
    load_settings,
    warn_unknown_variables,
)

log = structlog.get_logger("jobstream")

S = TypeVar("S", bound=ObservabilitySettings)
T = TypeVar("T")

# The commands that start one component each (`jobstream up` starts them all).
COMPONENTS = ("gateway", "executor", "projector", "notifier")
# Seconds a stopping gateway lets requests in flight finish (event streams end then).
GATEWAY_GRACE = 3
# Seconds a stopping projector or notifier may take before its work is cancelled.
STOP_GRACE = 2.0


async def _until_signalled(run, grace: float = STOP_GRACE) -> None:
    """Run ``run(stop)`` until it returns; once SIGINT or SIGTERM sets ``stop``, give it
    ``grace`` seconds to finish, then cancel it (a request to an unreachable NATS may wait
    out its own timeout otherwise)."""
    # Here, not at the top: the client commands need no NATS client (nearly half a second).
    from jobstream_infra.connection import NatsNotConfigured, NatsRefused, StopRequested

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


def _refuse_an_open_gateway(settings: AccessSettings) -> None:
    if not settings.authenticates and not settings.loopback_only and not settings.insecure:
        sys.exit(
            f"refusing to serve on {settings.host}: JOBSTREAM_AUTH is none, so anyone who "
            "reaches that address could read and dismiss every job. Serve on 127.0.0.1 (the "
            "default), set JOBSTREAM_AUTH=apikey or oidc, or give --insecure "
            "(JOBSTREAM_INSECURE=true) to accept that."
        )


def _gateway(settings: GatewaySettings) -> None:
    import uvicorn

    _refuse_an_open_gateway(settings)

    from jobstream_gateway.app import gateway_app
    from jobstream_infra.tracing import setup_tracing

    setup_tracing("gateway")

    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again for the
    # handler it found: this one, so a graceful stop exits 0 rather than "killed by SIGTERM".
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_cleanly)
    uvicorn.run(
        gateway_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # None: uvicorn installs no handlers or formatters of its own, so its loggers reach
        # the root handler configure_logging set up, and its lines are JSON when ours are.
        log_config=None,
        # Off: a line per request costs CPU on the hottest path (status polls).
        access_log=False,
        # Open event streams and long-polls would otherwise hold a stop up for ever.
        timeout_graceful_shutdown=GATEWAY_GRACE,
    )


def _exit_cleanly(_signum: int, _frame: object) -> None:
    sys.exit(0)


def _executor(settings: ExecutorSettings) -> None:
    from jobstream_executor.executor import run_executor
    from jobstream_executor.loading import load_processes
    from jobstream_infra.metrics import EXECUTOR, serve_metrics
    from jobstream_infra.tracing import setup_tracing

    processes = load_processes(settings.process_modules, settings)
    serve_metrics(EXECUTOR, settings.host, settings.metrics_port)
    setup_tracing("executor")
    # Its own grace hands running jobs back; the margin covers closing the connection.
    asyncio.run(
        _until_signalled(
            lambda stop: run_executor(settings, processes, stop), settings.shutdown_grace + 1
        )
    )
    # A process that ignored the grace period still holds a worker thread, which the
    # interpreter would wait for; its job was not acked and will be redelivered.
    sys.stdout.flush()
    os._exit(0)


def _projector(settings: ProjectorSettings, args: argparse.Namespace) -> None:
    from jobstream_infra.metrics import PROJECTOR, serve_metrics
    from jobstream_infra.tracing import setup_tracing
    from jobstream_projector.service import rebuild_view, run_projector

    if args.action == "rebuild":
        if args.database_url:
            settings = settings.model_copy(update={"database_url": args.database_url})
        elif args.until is not None:
            sys.exit(
                "--until rebuilds a view as it was: give it its own --database-url, "
                "so the live view is left alone"
            )
        checkpoint = _reaching_nats(
            "projector rebuild",
            lambda: rebuild_view(settings, args.until, args.skip_unreadable),
        )
        log.info("view rebuilt", checkpoint=checkpoint, view=settings.view_url)
        return
    serve_metrics(PROJECTOR, settings.host, settings.metrics_port)
    setup_tracing("projector")
    asyncio.run(_until_signalled(lambda stop: run_projector(settings, stop)))


def _notifier(settings: NotifierSettings) -> None:
    from jobstream_infra.metrics import NOTIFIER, serve_metrics
    from jobstream_infra.tracing import setup_tracing
    from jobstream_notifier.service import run_notifier

    serve_metrics(NOTIFIER, settings.host, settings.metrics_port)
    setup_tracing("notifier")
    asyncio.run(_until_signalled(lambda stop: run_notifier(settings, stop)))


def _events(settings: NatsSettings, args: argparse.Namespace) -> None:
    from .export import export_events

    written = _reaching_nats(
        "events export",
        lambda: export_events(
            settings, sys.stdout, args.since, args.until, args.job, args.skip_unreadable
        ),
    )
    log.info("events exported", events=written)


def _apikey(settings: NatsSettings, args: argparse.Namespace) -> None:
    from .keys import manage_keys

    sys.exit(
        _reaching_nats(
            f"apikey {args.action}",
            lambda: manage_keys(settings, args.action, args.name, args.role, sys.stdout),
        )
    )


def _reaching_nats(command: str, run: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command that connects to NATS; one line naming what to change, not a
    traceback, when it cannot connect."""
    from jobstream_infra.connection import NatsNotConfigured, NatsRefused, NatsUnreachable
    from jobstream_infra.reader import UnreadableEvent

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
    from jobstream_infra.connection import NatsNotConfigured, NatsRefused, NatsUnreachable

    codes = {NatsNotConfigured: USAGE, NatsRefused: REFUSED, NatsUnreachable: UNREACHABLE}
    for kind, code in codes.items():
        if isinstance(error, kind):
            return code
    raise error


def _add_apikey_parser(commands) -> None:
    apikey = commands.add_parser("apikey", help="create, list or revoke API keys (admin)")
    actions = apikey.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="make a key; it is printed once, never stored")
    create.add_argument("--name", required=True, help="the key's name: who or what holds it")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    actions.add_parser("list", help="the keys' names, roles and creation times (JSON lines)")
    revoke = actions.add_parser("revoke", help="refuse a key from now on, on every gateway")
    revoke.add_argument("name")
    apikey.set_defaults(name=None, role=None)


def _add_config_parser(commands) -> None:
    config = commands.add_parser("config", help="the configuration the environment gives")
    actions = config.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check",
        help="print a command's effective settings (secrets masked) and where each came "
        "from; exit 1 naming each refused value",
    )
    check.add_argument(
        "component", nargs="?", choices=list(COMMAND_SETTINGS), help="default: every one"
    )


def _check_every_component(args: argparse.Namespace) -> None:
    """`up` starts every component, each reading its own settings from this environment: a
    value one of them refuses stops everything before anything starts."""
    from .config_check import examine, settings_classes

    _, refused = examine(settings_classes(None), _overrides(args))
    if refused:
        sys.exit("\n".join(refused))


def _up(settings: UpSettings) -> None:
    from .supervisor import run_all

    _refuse_an_open_gateway(settings)
    sys.exit(run_all(settings))


def _bound(text: str):
    from .export import parse_bound

    try:
        return parse_bound(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a stream sequence nor an RFC 3339 instant"
        ) from None


def add_server_commands(commands) -> None:
    """Add the server's commands to the ``jobstream`` subparsers."""
    http = argparse.ArgumentParser(add_help=False)
    http.add_argument("--host", help="gateway address (JOBSTREAM_HOST)")
    http.add_argument("--port", type=int, help="gateway port (JOBSTREAM_PORT)")
    http.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="serve on a non-loopback address without authentication (JOBSTREAM_INSECURE)",
    )
    up = commands.add_parser(
        "up",
        parents=[http],
        help="start everything: embedded nats-server, projector, executor, notifier, gateway",
    )
    up.add_argument(
        "--nats-cluster",
        type=int,
        dest="embedded_nats_nodes",
        metavar="N",
        help="N embedded servers clustered on loopback (JOBSTREAM_EMBEDDED_NATS_NODES)",
    )
    commands.add_parser("gateway", parents=[http], help="run the HTTP gateway")
    commands.add_parser("executor", help="run an executor")
    commands.add_parser("notifier", help="deliver callbacks (subscriber URIs of execute requests)")
    projector = commands.add_parser("projector", help="run the projector, or rebuild the view")
    projector.add_argument("action", nargs="?", choices=["run", "rebuild"], default="run")
    projector.add_argument(
        "--until",
        type=_bound,
        metavar="INSTANT|SEQUENCE",
        help="rebuild: the view as it was at this instant or sequence",
    )
    projector.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="rebuild: park events this version cannot read (as the projector does) instead "
        "of stopping at the first",
    )
    projector.add_argument(
        "--database-url",
        metavar="URL",
        help="rebuild: into this database instead of JOBSTREAM_DATABASE_URL",
    )
    events = commands.add_parser("events", help="the stream's events")
    events.add_argument("action", choices=["export"])
    events.add_argument(
        "--since",
        type=_bound,
        metavar="INSTANT|SEQUENCE",
        help="from this instant (RFC 3339) or stream sequence",
    )
    events.add_argument(
        "--until",
        type=_bound,
        metavar="INSTANT|SEQUENCE",
        help="up to this instant or sequence, inclusive",
    )
    events.add_argument("--job", metavar="JOB_ID", help="only this job's events")
    events.add_argument(
        "--skip-unreadable",
        action="store_true",
        help=f"write a line of type {UNREADABLE_TYPE} for each event this version cannot read, "
        "instead of stopping at the first",
    )
    _add_apikey_parser(commands)
    _add_config_parser(commands)


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    return {
        key: value
        for key in ("host", "port", "insecure", "embedded_nats_nodes")
        if (value := getattr(args, key, None)) is not None
    }


def _configured(cls: type[S], args: argparse.Namespace) -> S:
    """The command's settings, its logging set up; a refused value ends it with one line per
    variable, not a traceback."""
    try:
        settings = load_settings(cls, _overrides(args))
    except SettingsRefused as exc:
        sys.exit(str(exc))
    if args.command in COMPONENTS and isinstance(settings, NatsSettings):
        _check_nats_login(settings, args.command)
    # `events export` and `apikey` write their answer to stdout: log lines go to stderr.
    configure_logging(settings, sys.stderr if args.command in ("events", "apikey") else None)
    warn_unknown_variables(os.environ)
    # `kill -USR1 <pid>` prints every thread's stack to stderr: how to see where a stuck job
    # (or component) is without stopping it.
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    return settings


def _check_nats_login(settings: NatsSettings, component: str) -> None:
    """Where and as whom the component will connect, found before it starts: a missing
    setting or an unusable credentials file ends it with one line, before any work."""
    from jobstream_infra.connection import NatsNotConfigured, nats_login

    try:
        nats_login(settings, component)
    except NatsNotConfigured as error:
        sys.exit(f"jobstream {component}: {error}")


def run_server_command(args: argparse.Namespace) -> None:
    if args.command == "config":
        from .config_check import check_configuration

        sys.exit(check_configuration(args.component, os.environ, sys.stdout, sys.stderr))
    if args.command == "up":
        _check_every_component(args)
        _up(_configured(UpSettings, args))
    elif args.command == "gateway":
        _gateway(_configured(GatewaySettings, args))
    elif args.command == "executor":
        _executor(_configured(ExecutorSettings, args))
    elif args.command == "notifier":
        _notifier(_configured(NotifierSettings, args))
    elif args.command == "events":
        _events(_configured(AdminSettings, args), args)
    elif args.command == "apikey":
        _apikey(_configured(AdminSettings, args), args)
    else:
        _projector(_configured(ProjectorSettings, args), args)


SERVER = CommandGroup(add_server_commands, run_server_command)
