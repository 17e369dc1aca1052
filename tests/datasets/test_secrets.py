"""A template's credentials stay with the executor: no event and no HTTP answer holds them,
and its log shows them masked."""

from .conftest import SECRET


def test_a_templates_token_never_appears_in_any_http_answer_or_event(
    shared_data_stack, failing_source
):
    # On the package's data stack, whose plugins hold the leaky template (conftest.py): no
    # answer, event or log line of anything that ran there holds the token.
    stack = shared_data_stack
    host = failing_source.base_url.removeprefix("http://")

    submitted = stack.http.post(
        "/processes/ingest/execution",
        json={"inputs": {"dataset_id": "leaky", "start": "2020-01-01", "end": "2020-01-03"}},
        headers={"Prefer": "respond-async"},
    )
    assert submitted.status_code == 201, submitted.text
    job_id = submitted.json()["jobID"]
    status = stack.wait_job(job_id, timeout=60)
    # The error names the URL, stripped of its credentials and query.
    assert status["status"] == "failed", status
    assert f"http://{host}/files/2020-01-01.tif (HTTP 404)" in status["message"], status
    stack.wait_view(job_id)

    answers = [submitted] + [
        stack.http.get(path)
        for path in (
            f"/jobs/{job_id}",
            f"/jobs/{job_id}/results",
            f"/jobs/{job_id}/events",
            "/jobs",
            "/datasets",
            "/datasets/leaky",
        )
    ]
    # The failed job's results answer with its error (an OGC "job failed", status 500).
    assert answers[2].json()["type"].endswith("job-failed"), answers[2].text
    for answer in answers:
        assert SECRET not in answer.text, f"{answer.request.url}: {answer.text}"
    events = stack.events()
    assert any(e.job_id == job_id and e.type == "JobFailed" for e in events)
    assert not [e for e in events if SECRET in e.model_dump_json()]

    logs = {name: stack.log(name) for name in ("executor", "gateway", "projector")}
    assert not [name for name, text in logs.items() if SECRET in text]
    # The full text went to the log, masked.
    assert f"http://reader:***@{host}/files/2020-01-01.tif?token=***" in logs["executor"]
