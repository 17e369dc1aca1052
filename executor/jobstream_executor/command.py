"""`jobstream executor`: this package adds it to the `jobstream` command (an entry point of
the `jobstream.commands` group), so installing the executor alone is enough to run it; the
data processes it serves by default come with jobstream-datasets."""

import argparse
import asyncio
import os
import sys

from jobstream_client.cli.main import CommandGroup
from jobstream_infra.commands import configured, until_signalled
from jobstream_infra.settings import ExecutorSettings


def add_executor_command(commands) -> None:
    commands.add_parser("executor", help="run an executor")


def run_executor_command(args: argparse.Namespace) -> None:
    settings = configured(ExecutorSettings, args)
    # Here, not at the top: every `jobstream` command loads this module.
    from jobstream_infra.metrics import EXECUTOR, serve_metrics
    from jobstream_infra.tracing import setup_tracing

    from .executor import run_executor
    from .loading import load_processes

    processes = load_processes(settings.process_modules, settings)
    serve_metrics(EXECUTOR, settings.host, settings.metrics_port)
    setup_tracing("executor")
    # Its own grace hands running jobs back; the margin covers closing the connection.
    asyncio.run(
        until_signalled(
            lambda stop: run_executor(settings, processes, stop), settings.shutdown_grace + 1
        )
    )
    # A process that ignored the grace period still holds a worker thread, which the
    # interpreter would wait for; its job was not acked and will be redelivered.
    sys.stdout.flush()
    os._exit(0)


EXECUTOR = CommandGroup(add_executor_command, run_executor_command)
