"""A job's page as it runs and when it ends, its results as a page, and the job list."""

import re

from jobstream_contracts.events import (
    DatasetCommitted,
    ErrorInfo,
    JobFailed,
    JobProgressed,
    JobStarted,
    JobSucceeded,
)

HTML = {"Accept": "text/html"}


def _rows(page: str) -> list[str]:
    """The history table's rows (summaries count one each), by their "#" cell."""
    body = page.split('<table class="timeline">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<tr data-row="(\d+)"', body)


async def test_a_running_jobs_page_moves_with_the_job(gateway):
    job_id = await gateway.submit("count", {"n": 3})
    started = JobStarted(job_id=job_id, process_id="count", executor="test", attempt=1)
    await gateway.append(started)
    running = (await gateway.http.get(f"/jobs/{job_id}", headers=HTML)).text
    assert _rows(running) == ["1", "2"]
    assert 'id="finished">not yet<' in running and "data-since=" in running

    for done in (1, 2):
        await gateway.append(
            JobProgressed(job_id=job_id, process_id="count", attempt=1, done=done, total=3)
        )
        later = (await gateway.http.get(f"/jobs/{job_id}", headers=HTML)).text
        assert len(_rows(later)) == 3, "the progress reports are one summary row"
        assert f"{2 + done} events" in later
    assert "2 progress reports, the last: 2 of 3" in later

    await gateway.append(JobSucceeded(job_id=job_id, process_id="count", attempt=1))
    finished = (await gateway.http.get(f"/jobs/{job_id}", headers=HTML)).text
    assert _rows(finished) == ["1", "2", "3", "5"]
    assert 'data-status="successful"' in finished and "data-since=" not in finished
    assert 'id="finished">not yet<' not in finished


async def test_a_long_ingest_is_summarised_in_a_few_rows(gateway):
    job_id = await gateway.submit("echo", {"message": "stands in for an ingest"})
    await gateway.append(JobStarted(job_id=job_id, process_id="echo", executor="t", attempt=1))
    days = [f"2020-{month:02d}-{day:02d}" for month in range(1, 13) for day in range(1, 29)]
    for index in range(0, len(days), 4):
        first, last = days[index], days[index + 3]
        progress = JobProgressed(
            job_id=job_id, process_id="echo", attempt=1, done=index + 4, total=len(days)
        )
        await gateway.append(progress, _commit(job_id, first, last, stored=index + 4))
    await gateway.append(JobSucceeded(job_id=job_id, process_id="echo", attempt=1))

    page = (await gateway.http.get(f"/jobs/{job_id}", headers=HTML)).text
    assert len(_rows(page)) == 5  # submitted, started, progress, commits, succeeded
    assert "84 commits, 2020-01-01 … 2020-12-28; 336 stored" in page
    assert "<details><summary>84 progress reports" in page
    assert "demo: 2020-03-05 … 2020-03-08 (4 periods)" in page  # one commit, inside
    assert "<td></td>" not in page, "every cell says something"


def _commit(job_id: str, first: str, last: str, stored: int) -> DatasetCommitted:
    return DatasetCommitted(
        job_id=job_id,
        process_id="echo",
        attempt=1,
        dataset_id="demo",
        store="local",
        snapshot_id="s",
        first=first,
        last=last,
        count=4,
        coverage=[("2020-01-01", last)],
        stored=stored,
        process_version="1",
    )


async def test_results_are_a_page_for_a_browser(gateway):
    job_id = await gateway.submit("echo", {"message": "hello <b>"})
    await gateway.run(job_id, {"echo": "hello <b>"})
    page = await gateway.http.get(f"/jobs/{job_id}/results", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "hello &lt;b&gt;" in page.text and f'href="/jobs/{job_id}"' in page.text
    # One output, asked raw (the default): the bare value, for anyone but a browser.
    assert (await gateway.http.get(f"/jobs/{job_id}/results")).text == "hello <b>"


async def test_several_results_are_a_table_of_outputs(gateway):
    job_id = await gateway.submit("echo", {"message": "several"})
    results = {"count": 3, "summary": {"mean": 1.5}, "map": {"href": "https://example.org/m"}}
    await gateway.run(job_id, results)
    page = (await gateway.http.get(f"/jobs/{job_id}/results", headers=HTML)).text
    assert re.search(r"<td><code>count</code></td><td>\s*3\s*</td>", page)
    assert '"mean": 1.5' in page and 'href="https://example.org/m"' in page


async def test_the_job_list_shows_a_failed_job_as_failed(gateway):
    job_id = await gateway.submit("echo", {"message": "to fail"})
    error = ErrorInfo(type="ValueError", detail="no good")
    await gateway.append(
        JobStarted(job_id=job_id, process_id="echo", executor="test", attempt=1),
        JobFailed(job_id=job_id, process_id="echo", attempt=1, error=error),
    )
    await gateway.project()
    page = (await gateway.http.get("/jobs", headers=HTML)).text
    row = page.split(f'href="/jobs/{job_id}"', 1)[1].split("</tr>", 1)[0]
    assert '<span class="status failed">failed</span>' in row
    assert "ValueError: no good" in row
    assert not re.search(r"<td>\s*%", row), "a bare % where the progress would be"
