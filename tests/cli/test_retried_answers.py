"""A submission the client retries still answers scripts with its JSON alone on stdout."""

import json

from jobstream_client.cli.exit_codes import SUCCESS

from ..client.test_retries import JOB, Scripted, serving
from .terminal import run_for_script


def test_a_retried_submit_prints_only_the_job_on_stdout():
    script = Scripted([(503, {"Retry-After": "0"})])
    with serving(script) as url:
        result = run_for_script("submit", "echo", "message=hi", "--json", "--url", url)
    assert result.returncode == SUCCESS, result.stderr
    assert len(script.arrivals) == 2
    assert json.loads(result.stdout) == JOB
