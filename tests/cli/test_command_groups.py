"""One `jobstream` command from several distributions: the client declares the script, each
server package adds its commands through the `jobstream.commands` entry-point group, one
entry per command, named after it."""

import argparse
import re
from importlib.metadata import entry_points

from jobstream_client.cli.main import GROUP, SERVER_COMMANDS, build_parser


def added_by(entry) -> list[str]:
    commands = argparse.ArgumentParser().add_subparsers()
    entry.load().add_parsers(commands)
    return list(commands.choices)


def test_each_entry_point_adds_the_one_command_it_is_named_after():
    entries = entry_points(group=GROUP)
    assert sorted(entries.names) == sorted(SERVER_COMMANDS)
    for entry in entries:
        assert added_by(entry) == [entry.name]


def test_the_client_names_the_package_that_adds_each_command():
    # The client alone answers these with what to install: the table must not drift.
    for entry in entry_points(group=GROUP):
        assert entry.dist is not None
        assert entry.dist.name == SERVER_COMMANDS[entry.name], entry


# The least each command parses: what runs it is all these tests look at.
ARGUMENTS = {
    "up": [],
    "gateway": [],
    "executor": [],
    "notifier": [],
    "projector": ["rebuild"],
    "events": ["export"],
    "archive": [],
    "apikey": ["list"],
    "config": ["check"],
    "schedules": ["show", "nightly"],
}


def test_each_command_runs_with_its_own_group():
    parser = build_parser()
    runs = {name: parser.parse_args([name, *args]).run for name, args in ARGUMENTS.items()}
    assert len(set(runs.values())) == len(runs)
    for entry in entry_points(group=GROUP):
        assert runs[entry.name] == entry.load().run


def test_help_lists_the_server_commands_in_their_order_then_the_clients():
    (choices,) = re.findall(r"\{([a-z,]+)\}", build_parser().format_usage())
    listed = choices.split(",")
    assert listed[: len(SERVER_COMMANDS)] == list(SERVER_COMMANDS)
    assert "submit" in listed[len(SERVER_COMMANDS) :]
