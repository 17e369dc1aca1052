"""`jobstream schedules` against the session's running stack: in an 80-column terminal, and as
scripts run it (``--json``)."""

import json
import uuid

from jobstream_client.cli.exit_codes import REFUSED, SUCCESS, USAGE
from jobstream_infra.embedded import free_port

from .terminal import run_for_script, run_in_terminal

NARROW = 80
NO_GATEWAY = f"http://127.0.0.1:{free_port()}"


def new_id() -> str:
    return f"cli-{uuid.uuid4().hex[:8]}"


def create(stack, schedule_id: str, *options: str) -> None:
    answer = run_for_script(
        "schedules", "create", "echo", "--id", schedule_id, *options, "--url", stack.url
    )
    assert answer.returncode == SUCCESS, answer.stderr
    assert answer.stdout == f"{schedule_id}\n"
    assert "echo schedule created" in answer.stderr, answer.stderr


def test_create_list_trigger_pause_and_show_a_schedule(stack):
    schedule_id = new_id()
    # echo's message takes text: 123 is sent as "123", as `submit` sends it.
    create(stack, schedule_id, "--every", "1h", "--input", "message=123")
    code, text = run_in_terminal("schedules", "--url", stack.url, columns=NARROW)
    assert code == SUCCESS, text
    row = next(line for line in text.splitlines() if schedule_id in line)
    assert "echo" in row and "every 1h" in row and "active" in row, text
    assert max(len(line) for line in text.splitlines()) <= NARROW, text

    triggered = run_for_script("schedules", "trigger", schedule_id, "--url", stack.url)
    assert triggered.returncode == SUCCESS, triggered.stderr
    job_id = triggered.stdout.strip()
    assert "jobstream watch" in triggered.stderr, triggered.stderr
    assert stack.wait_job(job_id)["status"] == "successful"
    assert stack.http.get(f"/jobs/{job_id}/results").text == "123"

    paused = run_for_script("schedules", "pause", schedule_id, "--json", "--url", stack.url)
    assert paused.returncode == SUCCESS, paused.stderr
    assert json.loads(paused.stdout)["paused"] is True
    code, text = run_in_terminal("schedules", "show", schedule_id, "--url", stack.url)
    assert code == SUCCESS, text
    assert "paused" in text and f"manual {job_id} successful" in text, text
    shown = run_for_script("schedules", "--json", "show", schedule_id, "--url", stack.url)
    document = json.loads(shown.stdout)
    assert document["paused"] is True and document["nextFirings"] == []
    assert document["lastFirings"][0]["jobID"] == job_id


def test_events_and_delete(stack):
    schedule_id = new_id()
    # 06:00 on New Year's day: no firing of its own while the test looks.
    cron = ("--cron", "0 6 1 1 *", "--timezone", "Europe/Berlin")
    create(stack, schedule_id, *cron, "--input", "message=x", "--paused")
    code, text = run_in_terminal("schedules", "--url", stack.url, columns=NARROW)
    row = next(line for line in text.splitlines() if schedule_id in line)
    assert "0 6 1 1 * (Europe/Berlin)" in row and "paused" in row, text
    job_id = run_for_script("schedules", "trigger", schedule_id, "--url", stack.url).stdout.strip()
    stack.wait_job(job_id)
    run_for_script("schedules", "resume", schedule_id, "--url", stack.url)
    lines = run_for_script(
        "schedules", "events", schedule_id, "--json", "--url", stack.url
    ).stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["type"] for e in events] == ["ScheduleCreated", "ScheduleFired", "ScheduleResumed"]
    assert events[1]["job_id"] == job_id and events[1]["cause"] == "manual"
    code, text = run_in_terminal(
        "schedules", "events", schedule_id, "--url", stack.url, columns=NARROW
    )
    assert code == SUCCESS and "ScheduleResumed" in text, text
    fired = next(line for line in text.splitlines() if "ScheduleFired" in line)
    assert job_id in fired, text  # whole, to be copied

    deleted = run_for_script("schedules", "delete", schedule_id, "--url", stack.url)
    assert deleted.returncode == SUCCESS and deleted.stdout == "", deleted.stderr
    missing = run_for_script("schedules", "show", schedule_id, "--url", stack.url)
    assert missing.returncode == REFUSED and "404" in missing.stderr, missing.stderr
    assert schedule_id in missing.stderr


def test_a_bad_cron_is_refused_with_the_gateways_detail(stack):
    schedule_id = new_id()
    answer = run_for_script(
        "schedules", "create", "echo", "--cron", "61 * * * *", "--id", schedule_id,
        "--input", "message=x", "--url", stack.url,
    )  # fmt: skip
    assert answer.returncode == REFUSED and answer.stdout == ""
    assert "400" in answer.stderr and "'61 * * * *' is not a cron expression" in answer.stderr
    as_json = run_for_script(
        "schedules", "create", "echo", "--every", "soon", "--json", "--url", stack.url
    )
    assert as_json.returncode == REFUSED and as_json.stdout == ""
    assert "'soon' is not an interval" in json.loads(as_json.stderr)["detail"]
    listed = json.loads(run_for_script("schedules", "--json", "--url", stack.url).stdout)
    assert schedule_id not in [schedule["id"] for schedule in listed]


def test_a_cadence_is_every_or_cron_before_anything_is_sent():
    both = run_for_script(
        "schedules", "create", "echo", "--every", "1h", "--cron", "0 6 * * *", "--url", NO_GATEWAY
    )
    assert both.returncode == USAGE and "not allowed with" in both.stderr, both.stderr
    neither = run_for_script("schedules", "create", "echo", "--url", NO_GATEWAY)
    assert neither.returncode == USAGE and "--every" in neither.stderr, neither.stderr
