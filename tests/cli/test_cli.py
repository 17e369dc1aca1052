"""The client CLI against the session's running stack: in a real terminal, and as scripts
run it (``--json``)."""

import json
import signal

import pytest

from jobstream_client import Client, JobstreamError
from jobstream_client.cli.exit_codes import (
    FAILED,
    INTERRUPTED,
    REFUSED,
    SUCCESS,
    UNREACHABLE,
    USAGE,
)
from jobstream_infra.embedded import free_port

from .terminal import open_terminal, run_for_script, run_in_terminal

NO_GATEWAY = f"http://127.0.0.1:{free_port()}"
# Long enough to be running when looked at, short enough to end before the stack is stopped
# (an executor waits for a dismissed job's thread); these tests come first for that reason.
HOLD_SECONDS = 5
HOLD = f"seconds={HOLD_SECONDS}"
# A job that runs until dismissed, as far as a test interrupting its follower goes: on a
# loaded machine the command's start and first status read took longer than HOLD.
UNTIL_DISMISSED = "seconds=300"
# Seconds a command started in a terminal may take to show a running job, under load.
SHOWN_WITHIN = 60


def test_dismiss_a_running_job_then_show_says_dismissed(stack):
    job_id = stack.submit("hold", {"seconds": HOLD_SECONDS})
    stack.wait_job(job_id, statuses={"running"})
    code, text = run_in_terminal("dismiss", job_id, "--url", stack.url)
    assert code == SUCCESS and "dismissed" in text, text
    code, text = run_in_terminal("show", job_id, "--url", stack.url)
    assert code == SUCCESS and "dismissed" in text, text


def test_ctrl_c_stops_following_and_leaves_the_job_running(stack):
    terminal = open_terminal("submit", "hold", UNTIL_DISMISSED, "--follow", "--url", stack.url)
    terminal.read_until("running", SHOWN_WITHIN)
    terminal.interrupt()
    assert terminal.finish() == INTERRUPTED, terminal.text
    job_id = terminal.text.split("stopped following job ", 1)[1].split(";")[0]
    assert "jobstream watch" in terminal.text and "jobstream dismiss" in terminal.text
    assert stack.http.get(f"/jobs/{job_id}").json()["status"] == "running"
    stack.http.delete(f"/jobs/{job_id}")


def test_ctrl_c_dismisses_only_when_asked(stack):
    terminal = open_terminal(
        "submit", "hold", UNTIL_DISMISSED, "--follow", "--dismiss-on-interrupt", "--url", stack.url
    )
    terminal.read_until("running", SHOWN_WITHIN)
    terminal.interrupt()
    assert terminal.finish() == INTERRUPTED, terminal.text
    job_id = terminal.text.split("interrupted: job ", 1)[1].split()[0]
    assert stack.wait_job(job_id)["status"] == "dismissed"


def test_submit_follow_draws_a_bar_that_reaches_100_percent(stack):
    code, text = run_in_terminal(
        "submit", "count", "n=20", "interval=0.05", "--follow", "--url", stack.url
    )
    assert code == SUCCESS, text
    assert "100%" in text and "20/20" in text and "successful" in text, text
    assert "counted 20 of 20" in text and "attempt 1" in text and "ETA" in text, text
    assert "━" in text  # the bar itself


def test_a_failing_job_exits_with_the_failure_code_and_its_error(stack):
    code, text = run_in_terminal("submit", "fail", "message=boom", "--follow", "--url", stack.url)
    assert code == FAILED, text
    assert "failed" in text and "boom" in text, text


def test_follow_json_prints_the_final_status_and_nothing_else(stack):
    answer = run_for_script(
        "submit", "count", "n=3", "interval=0", "--follow", "--json", "--url", stack.url
    )
    assert answer.returncode == SUCCESS, answer.stderr
    final = json.loads(answer.stdout)
    assert final["status"] == "successful" and final["processID"] == "count"
    assert answer.stderr == ""


def test_failed_json_prints_the_final_status_and_the_ogc_error(stack):
    answer = run_for_script(
        "submit", "fail", "message=boom", "--follow", "--json", "--url", stack.url
    )
    assert answer.returncode == FAILED
    assert json.loads(answer.stdout)["status"] == "failed"
    assert "boom" in json.loads(answer.stderr)["detail"]


def test_jobs_json_lists_and_show_and_history_describe_a_job(stack):
    job_id = stack.submit("echo", {"message": "hello"})
    stack.wait_job(job_id)
    listed = run_for_script(
        "jobs", "--process", "echo", "--limit", "50", "--json", "--url", stack.url
    )
    assert listed.returncode == SUCCESS, listed.stderr
    assert job_id in [job["jobID"] for job in json.loads(listed.stdout)]
    shown = json.loads(run_for_script("show", job_id, "--json", "--url", stack.url).stdout)
    assert shown["status"] == "successful"
    lines = run_for_script("history", job_id, "--json", "--url", stack.url).stdout.splitlines()
    events = [json.loads(line)["event"]["type"] for line in lines]
    assert events[0] == "JobSubmitted" and events[-1] == "JobSucceeded", events


def test_tables_in_a_terminal(stack):
    job_id = stack.submit("echo", {"message": "hello"})
    stack.wait_job(job_id)
    code, text = run_in_terminal("jobs", "--limit", "50", "--url", stack.url)
    assert code == SUCCESS and job_id in text and "process" in text, text
    code, text = run_in_terminal("history", job_id, "--url", stack.url)
    assert code == SUCCESS and "JobSucceeded" in text, text
    code, text = run_in_terminal("datasets", "--url", stack.url)
    assert code == SUCCESS and "dataset" in text, text
    code, text = run_in_terminal("queue", "--url", stack.url)
    assert code == SUCCESS and "waiting" in text and "echo" in text, text


def test_queue_in_a_terminal_shows_the_keys_held_and_by_which_job(stack):
    inputs = {"dataset": "cli", "provider": "cli-provider", "seconds": 30}
    job_id = stack.submit("keyed", inputs)
    stack.wait_job(job_id, statuses=("running",))
    try:
        code, text = run_in_terminal("queue", "--url", stack.url)
    finally:
        stack.http.delete(f"/jobs/{job_id}")
    assert code == SUCCESS, text
    row = next(line for line in text.splitlines() if "dataset:cli" in line)
    assert "1 of 1" in row and job_id[:8] in row, text


def test_queue_json_has_a_row_per_process(stack):
    answer = run_for_script("queue", "--json", "--url", stack.url)
    assert answer.returncode == SUCCESS, answer.stderr
    rows = {row["processID"]: row for row in json.loads(answer.stdout)["processes"]}
    assert {"echo", "count"} <= set(rows) and rows["echo"]["waiting"] >= 0


def test_an_unknown_process_is_refused_with_the_ogc_detail(stack):
    answer = run_for_script("submit", "nope", "--url", stack.url)
    assert answer.returncode == REFUSED
    assert "nope" in answer.stderr and "404" in answer.stderr, answer.stderr


def test_no_gateway_is_unreachable_with_the_error_as_json():
    answer = run_for_script("jobs", "--json", "--url", NO_GATEWAY)
    assert answer.returncode == UNREACHABLE and answer.stdout == ""
    assert json.loads(answer.stderr)["title"] == "Unreachable"


def test_a_malformed_input_is_a_usage_error_naming_it():
    # No gateway at this address: the pair is refused before anything is sent.
    answer = run_for_script("submit", "count", "n=1", "interval", "--url", NO_GATEWAY)
    assert answer.returncode == USAGE
    assert "'interval' is not key=value" in answer.stderr, answer.stderr


def test_following_survives_a_gateway_restart(stack):
    terminal = open_terminal(
        "submit", "count", "n=40", "interval=0.1", "--follow", "--url", stack.url
    )
    terminal.read_until("/40")
    stack.stop("gateway", sig=signal.SIGKILL)  # a crash: no stream is closed cleanly
    stack.start("gateway")  # on the same port; waits until it answers
    assert terminal.finish() == SUCCESS, terminal.text
    assert "100%" in terminal.text and "40/40" in terminal.text, terminal.text


def test_rerun_follows_a_reproduction_and_the_client_says_why_one_is_refused(stack):
    job_id = stack.submit("echo", {"message": "again"})
    stack.wait_job(job_id)
    answer = run_for_script("rerun", job_id[:8], "--follow", "--json", "--url", stack.url)
    assert answer.returncode == SUCCESS, answer.stderr
    final = json.loads(answer.stdout)
    assert final["status"] == "successful" and final["jobID"] != job_id, final
    failed = stack.submit("refuse", {"message": "boom"})  # fails at once, no retries
    stack.wait_job(failed)
    with Client(stack.url) as client, pytest.raises(JobstreamError) as refused:
        client.rerun(failed)
    assert refused.value.status == 409
    assert f"job {failed} is failed" in str(refused.value.detail), refused.value.detail
