"""``jobstream``: one command, whichever of the client and the server are installed.

Decisions:
- Only jobstream-client declares the ``jobstream`` console script: two distributions declaring
  it would overwrite each other's file, and the last installed would win. The server's
  commands join through the ``jobstream.commands`` entry-point group instead: each entry is a
  :class:`CommandGroup` that adds its subcommands and runs them, loaded whenever present.
- With the client alone, a server command (``SERVER_COMMANDS``) is still recognised and
  answered with how to install the server (exit 2, bad usage), not argparse's "invalid choice".
- The client commands need rich (the ``cli`` extra): without it, they say how to add it.
"""

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from jobstream_contracts import __version__

from .exit_codes import USAGE
from .parser import add_client_commands

GROUP = "jobstream.commands"
# The jobstream distribution's commands, named so the client alone can say where they come
# from (tests/cli holds this list to what the server registers).
SERVER_COMMANDS = (
    "up",
    "gateway",
    "executor",
    "notifier",
    "projector",
    "events",
    "apikey",
    "config",
)
# uv and pipx expose the scripts of the package named, not of its dependencies: the tool is
# the client, with the server beside it.
INSTALL_SERVER = "pip install jobstream (or: uv tool install jobstream-client --with jobstream)"
INSTALL_CLI = "pip install 'jobstream-client[cli]'"
DESCRIPTION = (
    "jobstream: run the service's components (when the jobstream package is installed), or "
    "submit, follow and manage jobs and schedules on any gateway."
)

Runner = Callable[[argparse.Namespace], int | None]


@dataclass(frozen=True)
class CommandGroup:
    """Subcommands another distribution adds to ``jobstream``, named by an entry point of the
    ``jobstream.commands`` group."""

    # Given the subparsers of ``jobstream``, adds its commands to them.
    add_parsers: Callable[[Any], None]
    # Runs one of its commands; the exit code (None is 0).
    run: Runner


def build_parser() -> argparse.ArgumentParser:
    """The command line of every installed command; tests/deploy checks infra/compose.yaml's
    commands against it, and the docs' command reference is generated from it."""
    return _parser_and_commands()[0]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser, commands = _parser_and_commands()
    # Global options (--help, --version) end the program, so the first word is the command.
    words = [word for word in argv if not word.startswith("-")]
    if words and words[0] in SERVER_COMMANDS and words[0] not in commands:
        print(
            f"jobstream {words[0]}: a command of the jobstream server, which is not installed "
            f"here (only the client is). Install it: {INSTALL_SERVER}",
            file=sys.stderr,
        )
        sys.exit(USAGE)
    args = parser.parse_args(argv)
    sys.exit(args.run(args))


def _parser_and_commands() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    groups = [entry.load() for entry in entry_points(group=GROUP)]
    parser = argparse.ArgumentParser(
        prog="jobstream",
        description=DESCRIPTION,
        epilog=None if groups else f"The server's commands (up, gateway…): {INSTALL_SERVER}",
    )
    parser.add_argument("--version", action="version", version=f"jobstream {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for group in [*groups, CommandGroup(add_client_commands, _run_client_command)]:
        _add_group(commands, group)
    return parser, commands.choices


def _add_group(commands: Any, group: CommandGroup) -> None:
    before = set(commands.choices)
    group.add_parsers(commands)
    for name in set(commands.choices) - before:
        commands.choices[name].set_defaults(run=group.run)


def _run_client_command(args: argparse.Namespace) -> int:
    try:
        # Here, not at the top: rich and httpx cost the server's commands a start-up delay.
        from .commands import run_client_command
    except ModuleNotFoundError as missing:
        if missing.name != "rich":
            raise
        print(
            f"jobstream {args.command}: the client commands draw with rich, which the cli "
            f"extra brings: {INSTALL_CLI}",
            file=sys.stderr,
        )
        return USAGE
    return run_client_command(args)
