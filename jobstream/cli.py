"""The server's own commands: `jobstream up | events export | archive | apikey | config check`.

They join the `jobstream` command of jobstream-client (which holds the client commands and the
one console script) as entries of the `jobstream.commands` entry-point group, one per command,
named after it; each component's package adds its own command the same way (`gateway`,
`executor`, `projector`, `notifier`), so an image of one component needs none of this.
"""

import argparse
import asyncio
import os
import sys

import structlog

from jobstream_client.cli.exit_codes import USAGE
from jobstream_client.cli.main import CommandGroup
from jobstream_contracts.access import Role
from jobstream_contracts.cloudevents import UNREADABLE_TYPE
from jobstream_infra.commands import (
    configured,
    http_options,
    overrides,
    reaching_nats,
    refuse_an_open_gateway,
    stream_bound,
    until_signalled,
)
from jobstream_infra.settings import COMMAND_SETTINGS, AdminSettings, ArchiverSettings, UpSettings

log = structlog.get_logger("jobstream")


def _add_up_parser(commands) -> None:
    up = commands.add_parser(
        "up",
        parents=[http_options()],
        help="start everything: embedded nats-server, projector, executor, notifier, gateway",
    )
    up.add_argument(
        "--nats-cluster",
        type=int,
        dest="embedded_nats_nodes",
        metavar="N",
        help="N embedded servers clustered on loopback (JOBSTREAM_EMBEDDED_NATS_NODES)",
    )


def _up(args: argparse.Namespace) -> None:
    from .config_check import examine, settings_classes
    from .supervisor import run_all

    # `up` starts every component, each reading its own settings from this environment: a
    # value one of them refuses stops everything before anything starts.
    _, refused = examine(settings_classes(None), overrides(args))
    if refused:
        sys.exit("\n".join(refused))
    settings = configured(UpSettings, args)
    refuse_an_open_gateway(settings)
    sys.exit(run_all(settings))


def _add_events_parser(commands) -> None:
    events = commands.add_parser("events", help="the stream's events")
    events.add_argument("action", choices=["export"])
    events.add_argument(
        "--since",
        type=stream_bound,
        metavar="INSTANT|SEQUENCE",
        help="from this instant (RFC 3339) or stream sequence",
    )
    events.add_argument(
        "--until",
        type=stream_bound,
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


def _events(args: argparse.Namespace) -> None:
    from .export import export_events

    settings = configured(AdminSettings, args, answers_on_stdout=True)
    written = reaching_nats(
        "events export",
        lambda: export_events(
            settings, sys.stdout, args.since, args.until, args.job, args.skip_unreadable
        ),
    )
    log.info("events exported", events=written)


def _add_archive_parser(commands) -> None:
    archive = commands.add_parser(
        "archive",
        help="write finished jobs' events older than JOBSTREAM_ARCHIVE_RETENTION to the "
        "archive, then trim them from the stream (as the archiver NATS user)",
    )
    archive.add_argument(
        "--every",
        action="store_true",
        help="run again every JOBSTREAM_ARCHIVE_INTERVAL seconds until stopped",
    )


def _archive(args: argparse.Namespace) -> int | None:
    from .archiving import archive_every, archive_now

    settings = configured(ArchiverSettings, args, answers_on_stdout=not args.every)
    if settings.archive_retention is None:
        print(
            "jobstream archive: JOBSTREAM_ARCHIVE_RETENTION is not set, so no job is ever due: "
            "set it to the seconds a finished job's events stay in the stream",
            file=sys.stderr,
        )
        return USAGE
    if args.every:
        asyncio.run(until_signalled(lambda stop: archive_every(settings, stop)))
        return None
    print(reaching_nats("archive", lambda: archive_now(settings)))
    return None


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


def _apikey(args: argparse.Namespace) -> None:
    from .keys import manage_keys

    settings = configured(AdminSettings, args, answers_on_stdout=True)
    sys.exit(
        reaching_nats(
            f"apikey {args.action}",
            lambda: manage_keys(settings, args.action, args.name, args.role, sys.stdout),
        )
    )


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


def _config(args: argparse.Namespace) -> None:
    from .config_check import check_configuration

    sys.exit(check_configuration(args.component, os.environ, sys.stdout, sys.stderr))


UP = CommandGroup(_add_up_parser, _up)
EVENTS = CommandGroup(_add_events_parser, _events)
ARCHIVE = CommandGroup(_add_archive_parser, _archive)
APIKEY = CommandGroup(_add_apikey_parser, _apikey)
CONFIG = CommandGroup(_add_config_parser, _config)
