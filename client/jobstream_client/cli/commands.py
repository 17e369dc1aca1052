"""The client commands, run over ``jobstream_client.Client``: each returns its exit code.

Decisions:
- Following (``submit --follow``, ``watch``) is ``Job.wait`` with the live bar as its progress
  callable: one request at a time (the event stream, long-polls when the gateway has no stream
  to spare), and a gateway restart is waited out and the stream resumed (the client's work).
  A job followed to success has its results printed (as ``results`` prints them).
- A job is named by its id or a unique prefix of it (``ids``).
- ``submit`` reads the process's description first, so each ``key=value`` is typed by the
  input's schema (``inputs``).
- Answers go to stdout (tables, or JSON with ``--json``); the bar, hints and errors to stderr,
  so ``--json`` output can be piped as it is. Lists are one JSON array, a history JSON lines.
- An error prints the OGC exception's detail (with ``--json``: the exception body as JSON)
  and exits with the code ``exit_codes`` gives it; a failed or dismissed job's final status
  is still printed as the answer with ``--json``.
- Ctrl-C while following stops following and says how to follow again or dismiss; the job
  is dismissed only with ``--dismiss-on-interrupt``. Either way the exit code is 130.
- ``schedules`` alone lists them; its actions are one command each (``SCHEDULE_ACTIONS``).
  The list and ``show`` ask for the status of each schedule's newest job, one request per
  schedule, so a person sees how the last firing went; ``--json`` is the gateway's documents
  as they are, without those requests.
"""

import argparse
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from jobstream_client import (
    Client,
    Job,
    JobEnded,
    JobFailed,
    JobstreamError,
    NotFound,
    Unreachable,
)
from jobstream_client.retrying import quiet_retries
from jobstream_contracts.ogc import StatusInfo
from jobstream_contracts.schedules import Schedule

from . import tables
from .exit_codes import INTERRUPTED, SUCCESS, USAGE, exit_code_of
from .follow_display import FollowBar
from .ids import AmbiguousId, find_job
from .inputs import InputError, read_pairs, typed_inputs


@dataclass
class Output:
    """Where answers, notes and errors go, as tables or JSON."""

    as_json: bool
    # Tables at their full width, however narrow the terminal (it wraps their lines).
    wide: bool = False
    out: Console = field(default_factory=Console)
    err: Console = field(default_factory=lambda: Console(stderr=True))

    def json(self, document: Any, stderr: bool = False) -> None:
        # print(), not rich: the exact text, unwrapped and uncoloured, for scripts.
        text = document if isinstance(document, str) else json.dumps(document)
        print(text, file=(self.err if stderr else self.out).file, flush=True)

    def status(self, status: StatusInfo) -> None:
        if self.as_json:
            self.json(status_document(status))
        else:
            self.out.print(tables.status_table(status))

    def table(self, table: tables.Fitting) -> None:
        if self.wide:
            Console(file=self.out.file, width=tables.FULL_WIDTH).print(table.build())
        else:
            self.out.print(table.fitted(self.out))

    def note(self, text: str) -> None:
        # soft_wrap: a long detail is wrapped by the terminal, not cut by rich.
        self.err.print(text, markup=False, highlight=False, soft_wrap=True)


def status_document(status: StatusInfo) -> dict[str, Any]:
    return status.model_dump(mode="json", exclude_none=True)


def run_client_command(args: argparse.Namespace) -> int:
    # Retries logged by structlog's default logger would land on stdout, in the answer.
    quiet_retries()
    output = Output(args.as_json, getattr(args, "wide", False))
    try:
        # submit's key=value pairs, or schedules create's --input ones
        texts = read_pairs(getattr(args, "inputs", None) or [])
    except InputError as exc:
        output.note(f"jobstream {args.command}: {exc}")
        return USAGE
    try:
        with Client(args.url, args.token) as client:
            return COMMANDS[args.command](client, args, output, texts)
    except (InputError, AmbiguousId) as exc:
        output.note(f"jobstream {args.command}: {exc}")
        return USAGE
    except (JobstreamError, TimeoutError) as error:
        report_error(error, output)
        return exit_code_of(error)
    except KeyboardInterrupt:
        return INTERRUPTED


def report_error(error: BaseException, output: Output) -> None:
    if isinstance(error, JobEnded) and error.job is not None and output.as_json:
        output.json(status_document(error.job))
    if not isinstance(error, JobstreamError):
        return output.note(f"error: {error}")
    if output.as_json:
        return output.json(error.exception.model_dump_json(exclude_none=True), stderr=True)
    if isinstance(error, Unreachable):
        return output.note(f"error: {error.detail}; set JOBSTREAM_URL or give --url")
    output.note(f"error: {_headline(error)}")
    if isinstance(error, JobFailed) and error.error:
        output.note(f"  {error.error.type}: {error.error.detail}")


def _headline(error: JobstreamError) -> str:
    status = f"{error.status} " if error.status else ""
    title = f"{status}{error.title}: " if error.title else status
    return f"{title}{error.detail or error.type}"


# -- following ---------------------------------------------------------------------------
def follow(job: Job, args: argparse.Namespace, output: Output) -> int:
    bar = contextlib.nullcontext(None) if output.as_json else FollowBar(output.err)
    try:
        with bar as progress:
            final = job.wait(progress=progress, timeout=args.timeout)
    except KeyboardInterrupt:
        return interrupted(job, args, output)
    if output.as_json:
        output.json(status_document(final))
    else:
        print_results(job.results(), output)
    return SUCCESS


def print_results(value: Any, output: Output) -> None:
    """Text as it is; a document as JSON, or as a table in a terminal."""
    if isinstance(value, str) and not output.as_json:
        print(value, file=output.out.file, flush=True)
    elif isinstance(value, dict) and not output.as_json and output.out.is_terminal:
        output.out.print(tables.results_table(value))
    else:
        output.json(value)


def interrupted(job: Job, args: argparse.Namespace, output: Output) -> int:
    where = f" --url {args.url}" if args.url else ""
    if args.dismiss_on_interrupt:
        job.dismiss()
        output.note(f"interrupted: job {job.id} dismissed")
        return INTERRUPTED
    output.note(
        f"stopped following job {job.id}; it goes on.\n"
        f"  follow it again: jobstream watch {job.id}{where}\n"
        f"  dismiss it:      jobstream dismiss {job.id}{where}"
    )
    return INTERRUPTED


# -- the commands ------------------------------------------------------------------------
def submit(client: Client, args: argparse.Namespace, output: Output, texts: dict) -> int:
    inputs = typed_inputs(texts, client.process(args.process).inputs)
    return submitted(client.submit(args.process, inputs, priority=args.priority), args, output)


def submitted(job: Job, args: argparse.Namespace, output: Output) -> int:
    """A new job: followed, or its id printed with how to follow it."""
    if args.follow:
        return follow(job, args, output)
    if output.as_json:
        output.json(status_document(job.last))
    else:
        print(job.id, file=output.out.file, flush=True)
        process = job.last.processID or "the"
        output.note(f"{process} job {job.last.status.value}; follow it: jobstream watch {job.id}")
    return SUCCESS


def watch(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    return follow(find_job(client, args.job), args, output)


def show(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    output.status(find_job(client, args.job).last)
    return SUCCESS


def results(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    print_results(find_job(client, args.job).results(), output)
    return SUCCESS


def dismiss(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    output.status(find_job(client, args.job).dismiss())
    return SUCCESS


def rerun(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    return submitted(client.rerun(find_job(client, args.job).id), args, output)


def jobs(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    listed = client.jobs(status=args.status, process=args.process, limit=args.limit)
    if output.as_json:
        output.json([status_document(job) for job in listed])
    else:
        output.table(tables.jobs_table(listed))
    return SUCCESS


def history(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    events = find_job(client, args.job).events()
    if output.as_json:
        for entry in events:  # JSON lines: a long history can be streamed through jq
            print(tables.history_line(entry), file=output.out.file)
    else:
        output.out.print(tables.history_table(events))
    return SUCCESS


def queue(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    waiting = client.queue()
    if output.as_json:
        output.json(waiting.to_json())
    else:
        output.table(tables.queue_table(waiting))
        if waiting.keys:
            output.table(tables.keys_table(waiting))
    return SUCCESS


def datasets(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    records = client.datasets()
    if output.as_json:
        output.json([record.model_dump(mode="json", exclude_none=True) for record in records])
    else:
        output.table(tables.datasets_table(records))
    return SUCCESS


# -- schedules ---------------------------------------------------------------------------
def schedules(client: Client, args: argparse.Namespace, output: Output, texts: dict) -> int:
    return SCHEDULE_ACTIONS[args.action or "list"](client, args, output, texts)


def list_schedules(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    listed = client.schedules()
    if output.as_json:
        output.json([schedule.to_json() for schedule in listed])
    else:
        output.table(tables.schedules_table(listed, newest_jobs(client, listed)))
    return SUCCESS


def newest_jobs(client: Client, listed: list[Schedule]) -> tables.JobStatuses:
    """The status of each schedule's newest job, by id; a job the view does not have yet (or
    no longer) is left out."""
    statuses: tables.JobStatuses = {}
    for schedule in listed:
        fired = [firing.job_id for firing in schedule.last_firings if firing.job_id]
        if fired:
            with contextlib.suppress(NotFound):
                statuses[fired[0]] = client.job(fired[0]).last.status.value
    return statuses


def schedule_answer(client: Client, schedule: Schedule, output: Output) -> int:
    if output.as_json:
        output.json(schedule.to_json())
    else:
        output.out.print(tables.schedule_table(schedule, newest_jobs(client, [schedule])))
    return SUCCESS


def show_schedule(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    return schedule_answer(client, client.schedule(args.schedule), output)


def create_schedule(client: Client, args: argparse.Namespace, output: Output, texts: dict) -> int:
    inputs = typed_inputs(texts, client.process(args.process).inputs)
    schedule = client.create_schedule(
        args.process,
        inputs,
        cron=args.cron,
        every=args.every,
        on_dataset_updated=args.on_dataset_updated,
        condition=args.condition,
        timezone=args.timezone or "UTC",
        id=args.id,
        title=args.title,
        start=args.start,
        end=args.end,
        overlap=args.overlap,
        catch_up=args.catch_up,
        catch_up_limit=args.catch_up_limit,
        priority=args.priority,
        paused=args.paused,
    )
    if output.as_json:
        output.json(schedule.to_json())
        return SUCCESS
    print(schedule.id, file=output.out.file, flush=True)
    upcoming = schedule.next_firings
    when = f"next firing {tables.when(upcoming[0])} UTC" if upcoming else "paused"
    output.note(
        f"{schedule.process} schedule created, {when}; see it: jobstream schedules show "
        f"{schedule.id}"
    )
    return SUCCESS


def pause_schedule(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    return schedule_answer(client, client.pause_schedule(args.schedule), output)


def resume_schedule(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    return schedule_answer(client, client.resume_schedule(args.schedule), output)


def delete_schedule(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    client.delete_schedule(args.schedule)
    if not output.as_json:
        output.note(f"schedule {args.schedule} deleted; its jobs stay")
    return SUCCESS


def trigger_schedule(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    return submitted(client.trigger_schedule(args.schedule), args, output)


def schedule_events(client: Client, args: argparse.Namespace, output: Output, _: dict) -> int:
    events = client.schedule_events(args.schedule)
    if output.as_json:
        for event in events:  # JSON lines, as a job's history
            print(tables.schedule_event_line(event), file=output.out.file)
    else:
        output.out.print(tables.schedule_events_table(events))
    return SUCCESS


Command = Callable[[Client, argparse.Namespace, Output, dict], int]
SCHEDULE_ACTIONS: dict[str, Command] = {
    "list": list_schedules,
    "show": show_schedule,
    "create": create_schedule,
    "pause": pause_schedule,
    "resume": resume_schedule,
    "delete": delete_schedule,
    "trigger": trigger_schedule,
    "events": schedule_events,
}
COMMANDS: dict[str, Command] = {
    "submit": submit,
    "watch": watch,
    "show": show,
    "results": results,
    "dismiss": dismiss,
    "rerun": rerun,
    "jobs": jobs,
    "history": history,
    "queue": queue,
    "datasets": datasets,
    "schedules": schedules,
}
