"""`jobstream gateway`: this package adds it to the `jobstream` command (an entry point of
the `jobstream.commands` group), so installing the gateway alone is enough to run it."""

import argparse
import signal
import sys

from jobstream_client.cli.main import CommandGroup
from jobstream_infra.commands import configured, http_options, refuse_an_open_gateway
from jobstream_infra.settings import GatewaySettings

# Seconds a stopping gateway lets requests in flight finish (event streams end then).
GATEWAY_GRACE = 3


def add_gateway_command(commands) -> None:
    commands.add_parser("gateway", parents=[http_options()], help="run the HTTP gateway")


def run_gateway(args: argparse.Namespace) -> None:
    settings = configured(GatewaySettings, args)
    refuse_an_open_gateway(settings)
    # Here, not at the top: every `jobstream` command loads this module.
    import uvicorn

    from jobstream_infra.tracing import setup_tracing

    from .app import gateway_app

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


GATEWAY = CommandGroup(add_gateway_command, run_gateway)
