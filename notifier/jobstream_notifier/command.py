"""`jobstream notifier`: this package adds it to the `jobstream` command (an entry point of
the `jobstream.commands` group), so installing the notifier alone is enough to run it."""

import argparse
import asyncio

from jobstream_client.cli.main import CommandGroup
from jobstream_infra.commands import configured, until_signalled
from jobstream_infra.settings import NotifierSettings


def add_notifier_command(commands) -> None:
    commands.add_parser("notifier", help="deliver callbacks (subscriber URIs of execute requests)")


def run_notifier_command(args: argparse.Namespace) -> None:
    settings = configured(NotifierSettings, args)
    # Here, not at the top: every `jobstream` command loads this module.
    from jobstream_infra.metrics import NOTIFIER, serve_metrics
    from jobstream_infra.tracing import setup_tracing

    from .service import run_notifier

    serve_metrics(NOTIFIER, settings.host, settings.metrics_port)
    setup_tracing("notifier")
    asyncio.run(until_signalled(lambda stop: run_notifier(settings, stop)))


NOTIFIER = CommandGroup(add_notifier_command, run_notifier_command)
