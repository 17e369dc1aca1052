"""The client commands' command line: submit, jobs, show, results, watch, history, dismiss,
rerun, queue, datasets, schedules (and its actions).

Kept apart from their running (``commands``) so building the parser imports no rich: the
server's commands start without it, and without the ``cli`` extra ``main`` says how to add it.
Every client command takes ``--url``/``--token`` (else JOBSTREAM_URL/JOBSTREAM_TOKEN) and
``--json``; the options come after the command. A JOB is a job's id or a unique prefix of it
(the 8 characters the progress bar shows). ``schedules`` alone lists them; its actions
(``schedules show ID`` …) take the shared options too, before or after the action.
"""

import argparse
from datetime import datetime
from typing import Any

from jobstream_contracts.ogc import Priority
from jobstream_contracts.schedules import CatchUp, Overlap

JOB_HELP = "the job's id, or a unique prefix of it"
SCHEDULE_HELP = "the schedule's id"
PRIORITIES = [priority.value for priority in Priority]


def _shared(given_only: bool = False) -> argparse.ArgumentParser:
    """``given_only``: options that are set only when given, for a subcommand's parser, which
    would otherwise reset to their defaults those given to its command
    (``schedules --json show ID``)."""
    unset: Any = argparse.SUPPRESS if given_only else None
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--url", default=unset, help="the gateway (JOBSTREAM_URL, else http://127.0.0.1:8000)"
    )
    shared.add_argument("--token", default=unset, help="API key or bearer token (JOBSTREAM_TOKEN)")
    shared.add_argument(
        "--json",
        dest="as_json",
        action="store_true",
        default=unset if given_only else False,
        help="JSON for scripts, no bar or table",
    )
    return shared


def _following() -> argparse.ArgumentParser:
    following = argparse.ArgumentParser(add_help=False)
    following.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="stop following after this long"
    )
    following.add_argument(
        "--dismiss-on-interrupt",
        action="store_true",
        help="on Ctrl-C dismiss the job (by default it goes on and can be followed again)",
    )
    return following


def add_client_commands(commands) -> None:
    """Add the client commands to the ``jobstream`` subparsers."""
    shared, following = _shared(), _following()
    submit = commands.add_parser(
        "submit", parents=[shared, following], help="submit a job: PROCESS key=value…"
    )
    submit.add_argument("process", help="the process id")
    submit.add_argument(
        "inputs",
        nargs="*",
        metavar="key=value",
        help="an input: a JSON value (n=20, flag=true, xs=[1,2]) else text; key=@file.json",
    )
    submit.add_argument(
        "--follow",
        action="store_true",
        help="follow it with a progress bar, then print its results (or its error)",
    )
    submit.add_argument(
        "--priority",
        choices=PRIORITIES,
        help="its lane (default: the process's); higher than the default needs an operator",
    )
    _add_jobs_parser(commands, shared)
    for name, what in (
        ("show", "a job's status"),
        ("results", "a job's results: text, or JSON (a table in a terminal)"),
        ("history", "a job's events"),
        ("dismiss", "dismiss a job"),
    ):
        commands.add_parser(name, parents=[shared], help=what).add_argument("job", help=JOB_HELP)
    watch = commands.add_parser(
        "watch", parents=[shared, following], help="follow a job, then print its results"
    )
    watch.add_argument("job", help=JOB_HELP)
    rerun = commands.add_parser(
        "rerun",
        parents=[shared, following],
        help="a new job reproducing a successful one: its process version, its inputs, "
        "each dataset at the snapshot it read",
    )
    rerun.add_argument("job", help=JOB_HELP)
    rerun.add_argument(
        "--follow", action="store_true", help="follow it, then print its results (or its error)"
    )
    commands.add_parser("queue", parents=[shared], help="per process, the jobs waiting and running")
    datasets = commands.add_parser(
        "datasets", parents=[shared], help="the datasets and what is stored"
    )
    _add_wide(datasets)
    _add_schedules_parser(commands, shared)


def _add_wide(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wide",
        action="store_true",
        help="every column, however narrow the terminal (ids are never cut either way)",
    )


def _add_jobs_parser(commands, shared: argparse.ArgumentParser) -> None:
    jobs = commands.add_parser("jobs", parents=[shared], help="the newest jobs")
    jobs.add_argument("--status", action="append", help="only jobs with this status (repeatable)")
    jobs.add_argument("--process", action="append", help="only this process's jobs (repeatable)")
    jobs.add_argument("--limit", type=int, default=10, help="at most this many (default 10)")
    _add_wide(jobs)


def _add_schedules_parser(commands, shared: argparse.ArgumentParser) -> None:
    schedules = commands.add_parser(
        "schedules",
        parents=[shared],
        help="the schedules (process, cadence, next and last firing), or an ACTION on one",
        description="Without an ACTION: the schedules you may see, by id.",
    )
    _add_wide(schedules)
    actions = schedules.add_subparsers(dest="action", metavar="ACTION")
    given = _shared(given_only=True)
    _add_create_parser(actions, given)
    for name, what in (
        ("show", "a schedule: its settings, next firings and last firings"),
        ("pause", "no firings until resumed (trigger still runs it)"),
        ("resume", "firings again from the next instant (none for the time paused)"),
    ):
        _add_schedule_action(actions, given, name, what)
    trigger = _add_schedule_action(
        actions, given, "trigger", "run it now, as a firing of its own; prints the job's id"
    )
    trigger.add_argument(
        "--follow", action="store_true", help="follow the job, then print its results"
    )
    for name, what in (
        ("delete", "no more firings; its jobs stay, its id is never given again"),
        ("events", "a schedule's events: created, changed, each firing with its job"),
    ):
        _add_schedule_action(actions, given, name, what)


def _add_schedule_action(actions, given, name: str, what: str) -> argparse.ArgumentParser:
    parents = [given, _following()] if name == "trigger" else [given]
    action = actions.add_parser(name, parents=parents, help=what)
    action.add_argument("schedule", help=SCHEDULE_HELP)
    return action


def _add_create_parser(actions, given: argparse.ArgumentParser) -> None:
    create = actions.add_parser(
        "create",
        parents=[given],
        help="run a process on a cadence: PROCESS --every 1h | --cron '0 6 * * *' | "
        "--on-dataset-updated DATASET",
    )
    create.add_argument("process", help="the process id")
    cadence = create.add_mutually_exclusive_group(required=True)
    cadence.add_argument(
        "--every", metavar="INTERVAL", help="an interval: 90s, 15m, 1h30m, 1d (from its start)"
    )
    cadence.add_argument(
        "--cron",
        metavar="EXPRESSION",
        help="minute hour day month weekday (a sixth field, first, for seconds), or @daily…",
    )
    cadence.add_argument(
        "--on-dataset-updated",
        metavar="DATASET",
        help="instead of a clock: a job each time this dataset is updated",
    )
    create.add_argument(
        "--condition",
        choices=["new-periods"],
        help="new-periods: a firing makes a job only when the process's plan has periods to "
        "add (a sync whose source published a newer one)",
    )
    create.add_argument(
        "--timezone", metavar="ZONE", help="the IANA zone a cron reads in (default UTC)"
    )
    create.add_argument(
        "--input",
        dest="inputs",
        action="append",
        default=[],
        metavar="key=value",
        help="an input, as submit reads them (repeatable)",
    )
    create.add_argument("--id", help="its id (default: the gateway gives one)")
    create.add_argument("--title", help="a title for people")
    create.add_argument(
        "--overlap",
        choices=[overlap.value for overlap in Overlap],
        help="a firing while its previous job runs: no job (skip, the default), one waiting "
        "behind it (queue), or a job anyway (allow)",
    )
    create.add_argument(
        "--catch-up",
        choices=[policy.value for policy in CatchUp],
        help="firings missed while nothing could run them: none, the latest (the default), "
        "or all up to --catch-up-limit",
    )
    create.add_argument("--catch-up-limit", type=int, metavar="N", help="default 10")
    create.add_argument(
        "--start", type=_instant, metavar="INSTANT", help="no firing before (RFC 3339)"
    )
    create.add_argument("--end", type=_instant, metavar="INSTANT", help="no firing after")
    create.add_argument(
        "--priority", choices=PRIORITIES, help="its jobs' lane (default: the process's)"
    )
    create.add_argument("--paused", action="store_true", help="create it paused")


def _instant(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an RFC 3339 instant (e.g. 2027-01-01T06:00:00Z)"
        ) from None
