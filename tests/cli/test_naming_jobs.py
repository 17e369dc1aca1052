"""Jobs named as a person has them at hand: the 8-character prefix the progress bar prints,
ids copied whole from an 80-column terminal, results printed at the end of a follow, and
``key=value`` inputs typed by the process's schema."""

import json

from jobstream_client.cli.exit_codes import SUCCESS, USAGE

from .terminal import run_for_script, run_in_terminal

NARROW = 80


def test_show_results_and_history_take_the_prefix_the_bar_prints(stack):
    job_id = stack.submit("echo", {"message": "prefixed"})
    stack.wait_job(job_id)
    shown = run_for_script("show", job_id[:8], "--json", "--url", stack.url)
    assert shown.returncode == SUCCESS, shown.stderr
    assert json.loads(shown.stdout)["jobID"] == job_id
    results = run_for_script("results", job_id[:8], "--url", stack.url)
    assert results.returncode == SUCCESS and results.stdout == "prefixed\n", results.stderr
    history = run_for_script("history", job_id[:8], "--json", "--url", stack.url)
    assert json.loads(history.stdout.splitlines()[0])["event"]["job_id"] == job_id


def test_an_ambiguous_prefix_is_refused_listing_the_candidates(stack):
    prefix = _shared_first_character(stack)
    answer = run_for_script("show", prefix, "--url", stack.url)
    assert answer.returncode == USAGE and answer.stdout == ""
    assert f"have an id starting with '{prefix}'" in answer.stderr, answer.stderr
    candidates = [line.split()[0] for line in answer.stderr.splitlines()[1:] if "…" not in line]
    assert len(candidates) >= 2 and all(c.startswith(prefix) for c in candidates)


def test_follow_prints_the_result_of_a_text_input_given_digits(stack):
    # echo's message is a string: 123 is sent as "123", which the gateway would refuse as a
    # number.
    answer = run_for_script("submit", "echo", "message=123", "--follow", "--url", stack.url)
    assert answer.returncode == SUCCESS, answer.stderr
    assert answer.stdout == "123\n"


def test_follow_in_a_terminal_ends_with_the_result(stack):
    code, text = run_in_terminal("submit", "echo", "message=done", "--follow", "--url", stack.url)
    assert code == SUCCESS, text
    assert text.rstrip().splitlines()[-1].strip() == "done", text


def test_job_ids_are_whole_in_an_80_column_terminal(stack):
    job_id = stack.submit("echo", {"message": "narrow"})
    stack.wait_job(job_id)
    code, text = run_in_terminal("jobs", "--limit", "5", "--url", stack.url, columns=NARROW)
    assert code == SUCCESS and job_id in text, text
    assert max(len(line) for line in text.splitlines()) <= NARROW, text
    code, text = run_in_terminal("jobs", "--wide", "--url", stack.url, columns=NARROW)
    assert code == SUCCESS and job_id in text and "finished" in text.replace("\n", ""), text


def _shared_first_character(stack) -> str:
    """A first character two jobs' ids share, submitting jobs until there is one (at most 17:
    ids are hexadecimal)."""
    seen: set[str] = set()
    while True:
        first = stack.submit("echo", {"message": "twin"})[0]
        if first in seen:
            return first
        seen.add(first)
