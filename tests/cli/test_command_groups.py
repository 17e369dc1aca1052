"""One `jobstream` command from two distributions: the client declares the script, the
server's commands join it through the `jobstream.commands` entry-point group."""

import argparse
from importlib.metadata import entry_points

from jobstream.cli import SERVER
from jobstream_client.cli.main import GROUP, SERVER_COMMANDS, build_parser


def test_the_server_joins_through_its_entry_point():
    (entry,) = entry_points(group=GROUP)
    assert entry.load() is SERVER


def test_the_client_names_exactly_the_commands_the_server_adds():
    # The client alone answers these with how to install the server: the list must not drift.
    commands = argparse.ArgumentParser().add_subparsers()
    SERVER.add_parsers(commands)
    assert tuple(commands.choices) == SERVER_COMMANDS


def test_each_command_runs_with_its_own_group():
    parser = build_parser()
    assert parser.parse_args(["up"]).run is SERVER.run
    assert parser.parse_args(["schedules", "show", "nightly"]).run is not SERVER.run
