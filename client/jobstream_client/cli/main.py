"""``jobstream``: one command, whichever of the client and the server are installed.

Decisions:
- Only jobstream-client declares the ``jobstream`` console script: two distributions declaring
  it would overwrite each other's file, and the last installed would win. The server's
  commands join through the ``jobstream.commands`` entry-point group instead: each entry is
  named after the command it adds and is a :class:`CommandGroup` that adds and runs it, loaded
  whenever present. Each component's package adds its own (jobstream-gateway adds
  ``gateway``…), so an image of one component has its command without the others.
- A server command whose package is not installed (``SERVER_COMMANDS``) is still recognised
  and answered with the package to install (exit 2, bad usage), not argparse's "invalid
  choice".
- The client commands need rich (the ``cli`` extra): without it, they say how to add it.
"""

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from jobstream_contracts import __version__

from .exit_codes import USAGE
from .parser import add_client_commands

GROUP = "jobstream.commands"
# The server's commands, in the order --help lists them, and the distribution that adds each,
# so the client alone can say what to install (tests/cli holds this to the entry points).
SERVER_COMMANDS = {
    "up": "jobstream",
    "gateway": "jobstream-gateway",
    "executor": "jobstream-executor",
    "notifier": "jobstream-notifier",
    "projector": "jobstream-projector",
    "events": "jobstream",
    "archive": "jobstream",
    "apikey": "jobstream",
    "config": "jobstream",
}
# uv and pipx expose the scripts of the package named, not of its dependencies: the tool is
# the client, with the server beside it.
INSTALL_SERVER = "pip install jobstream (or: uv tool install jobstream-client --with jobstream)"
INSTALL_CLI = "pip install 'jobstream-client[cli]'"
DESCRIPTION = (
    "jobstream: run the service's components (when their packages are installed), or "
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
        print(_not_installed(words[0]), file=sys.stderr)
        sys.exit(USAGE)
    args = parser.parse_args(argv)
    sys.exit(args.run(args))


def _not_installed(command: str) -> str:
    package = SERVER_COMMANDS[command]
    install = INSTALL_SERVER
    if package != "jobstream":
        install = f"pip install {package} (or the whole server: pip install jobstream)"
    return (
        f"jobstream {command}: a command of the jobstream server that {package} adds, not "
        f"installed here. Install it: {install}"
    )


def _parser_and_commands() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    groups = [entry.load() for entry in _in_help_order(entry_points(group=GROUP))]
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


def _in_help_order(entries: Iterable[EntryPoint]) -> list[EntryPoint]:
    """The server's commands in SERVER_COMMANDS' order (the order packages are found in
    varies), then any other package's, by name."""
    order = list(SERVER_COMMANDS)
    return sorted(
        entries, key=lambda e: (order.index(e.name) if e.name in order else len(order), e.name)
    )


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
