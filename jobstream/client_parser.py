"""The client commands' command line: submit, jobs, show, results, watch, history, dismiss,
queue, datasets.

Kept apart from their running (``client_commands``) so building the parser for the service
commands imports neither httpx nor rich. Every client command takes ``--url``/``--token``
(else JOBSTREAM_URL/JOBSTREAM_TOKEN) and ``--json``; the options come after the command. A
JOB is a job's id or a unique prefix of it (the 8 characters the progress bar shows).
"""

import argparse

CLIENT_COMMANDS = (
    "submit",
    "jobs",
    "show",
    "results",
    "watch",
    "history",
    "dismiss",
    "queue",
    "datasets",
)
JOB_HELP = "the job's id, or a unique prefix of it"


def _shared() -> argparse.ArgumentParser:
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument("--url", help="the gateway (JOBSTREAM_URL, else http://127.0.0.1:8000)")
    shared.add_argument("--token", help="API key or bearer token (JOBSTREAM_TOKEN)")
    shared.add_argument(
        "--json", dest="as_json", action="store_true", help="JSON for scripts, no bar or table"
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
        choices=("high", "normal", "low"),
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
    commands.add_parser("queue", parents=[shared], help="per process, the jobs waiting and running")
    datasets = commands.add_parser(
        "datasets", parents=[shared], help="the datasets and what is stored"
    )
    _add_wide(datasets)


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
