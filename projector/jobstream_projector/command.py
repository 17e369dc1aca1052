"""`jobstream projector [rebuild]`: this package adds it to the `jobstream` command (an
entry point of the `jobstream.commands` group), so installing the projector alone is enough
to run it."""

import argparse
import asyncio
import sys

import structlog

from jobstream_client.cli.main import CommandGroup
from jobstream_infra.commands import configured, reaching_nats, stream_bound, until_signalled
from jobstream_infra.settings import ProjectorSettings

log = structlog.get_logger("jobstream")


def add_projector_command(commands) -> None:
    projector = commands.add_parser("projector", help="run the projector, or rebuild the view")
    projector.add_argument("action", nargs="?", choices=["run", "rebuild"], default="run")
    projector.add_argument(
        "--until",
        type=stream_bound,
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


def run_projector_command(args: argparse.Namespace) -> None:
    settings = configured(ProjectorSettings, args)
    if args.action == "rebuild":
        _rebuild(settings, args)
        return
    # Here, not at the top: every `jobstream` command loads this module.
    from jobstream_infra.metrics import PROJECTOR, serve_metrics
    from jobstream_infra.tracing import setup_tracing

    from .service import run_projector

    serve_metrics(PROJECTOR, settings.host, settings.metrics_port)
    setup_tracing("projector")
    asyncio.run(until_signalled(lambda stop: run_projector(settings, stop)))


def _rebuild(settings: ProjectorSettings, args: argparse.Namespace) -> None:
    from .service import rebuild_view

    if args.database_url:
        settings = settings.model_copy(update={"database_url": args.database_url})
    elif args.until is not None:
        sys.exit(
            "--until rebuilds a view as it was: give it its own --database-url, "
            "so the live view is left alone"
        )
    checkpoint = reaching_nats(
        "projector rebuild",
        lambda: rebuild_view(settings, args.until, args.skip_unreadable),
    )
    log.info("view rebuilt", checkpoint=checkpoint, view=settings.view_url)


PROJECTOR = CommandGroup(add_projector_command, run_projector_command)
