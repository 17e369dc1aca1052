"""GET /queue: per process, the jobs waiting and running, and how long the oldest has waited."""

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from jobstream_contracts.events import JobStarted, JobSucceeded, JobWaiting
from jobstream_gateway import jobs

from ..support.inprocess import Gateway


async def queue_of(gateway: Gateway, **headers: str) -> dict[str, dict]:
    await gateway.project()
    answer = await gateway.http.get("/queue", headers=headers)
    assert answer.status_code == 200, answer.text
    return {row["processID"]: row for row in answer.json()["processes"]}


async def test_the_queue_counts_what_waits_and_what_runs_per_process(gateway):
    echoes = [await gateway.submit("echo", {"message": str(n)}) for n in range(3)]
    await gateway.submit("count", {"n": 1})
    await gateway.journal.append(
        JobStarted(job_id=echoes[0], process_id="echo", executor="test", attempt=1)
    )
    queue = await queue_of(gateway)
    assert (queue["echo"]["waiting"], queue["echo"]["running"]) == (2, 1)
    assert (queue["count"]["waiting"], queue["count"]["running"]) == (1, 0)
    assert 0 <= queue["echo"]["oldestWaitingSeconds"] < 60
    # Every announced process has its row, an idle one too.
    idle = queue["spin"]
    assert (idle["waiting"], idle["running"]) == (0, 0) and "oldestWaiting" not in idle


async def test_the_queue_has_a_page_for_browsers(gateway):
    await gateway.submit("echo", {"message": "x"})
    await gateway.project()
    page = await gateway.http.get("/queue", headers={"Accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Queue</h1>" in page.text and ">echo</a>" in page.text


async def test_metrics_give_the_queue_per_process_as_the_view_holds_it(gateway):
    await gateway.submit("echo", {"message": "waits"})
    await gateway.project()
    scraped = await gateway.http.get("/metrics")
    assert scraped.status_code == 200
    samples = {
        (sample.name, sample.labels["process"]): sample.value
        for family in text_string_to_metric_families(scraped.text)
        if family.name.startswith("jobstream_queue_")
        for sample in family.samples
    }
    assert samples[("jobstream_queue_waiting_jobs", "echo")] == 1
    assert samples[("jobstream_queue_running_jobs", "echo")] == 0
    assert 0 <= samples[("jobstream_queue_oldest_waiting_seconds", "echo")] < 60


async def test_the_queue_shows_each_key_its_limit_its_waiters_and_its_holders(gateway):
    holding, waiting, done = [await gateway.submit("echo", {"message": m}) for m in "hwd"]
    common = {"process_id": "echo", "attempt": 1}
    keys = {"provider:cds": 2, "dataset:era5": 1}
    for event in (
        JobStarted(job_id=holding, executor="a", holds=keys, **common),
        JobWaiting(job_id=waiting, key="dataset:era5", limit=1, in_use=1, **common),
        JobStarted(job_id=done, executor="b", holds={"provider:cds": 2}, **common),
        JobSucceeded(job_id=done, **common),
    ):
        await gateway.journal.append(event)
    await gateway.project()
    answer = (await gateway.http.get("/queue")).json()["keys"]
    rows = {row["key"]: row for row in answer}
    assert list(rows) == ["dataset:era5", "provider:cds"]
    era5, cds = rows["dataset:era5"], rows["provider:cds"]
    assert (era5["limit"], era5["running"], era5["waiting"], era5["holders"]) == (
        1,
        1,
        1,
        [holding],
    )
    assert 0 <= era5["oldestWaitingSeconds"] < 60
    assert (cds["limit"], cds["running"], cds["waiting"], cds["holders"]) == (2, 1, 0, [holding])
    page = await gateway.http.get("/queue", headers={"Accept": "text/html"})
    assert "<td>dataset:era5</td>" in page.text and "<td>1 of 1</td>" in page.text
    scraped = (await gateway.http.get("/metrics")).text
    samples = {
        (sample.name, sample.labels["key"]): sample.value
        for family in text_string_to_metric_families(scraped)
        if family.name.startswith("jobstream_queue_key_")
        for sample in family.samples
    }
    assert samples == {
        ("jobstream_queue_key_waiting_jobs", "dataset:era5"): 1,
        ("jobstream_queue_key_waiting_jobs", "provider:cds"): 0,
        ("jobstream_queue_key_running_jobs", "dataset:era5"): 1,
        ("jobstream_queue_key_running_jobs", "provider:cds"): 1,
        ("jobstream_queue_key_limit", "dataset:era5"): 1,
        ("jobstream_queue_key_limit", "provider:cds"): 2,
    }


async def test_a_job_queued_a_while_says_how_many_jobs_it_waits_behind(gateway, monkeypatch):
    monkeypatch.setattr(jobs, "IN_LINE_AFTER", timedelta(0))
    # One caller: its first job goes normal, the ones that find it waiting go low.
    queued = [await gateway.submit("echo", {"message": str(n)}) for n in range(3)]
    await gateway.submit("count", {"n": 1})
    urgent = await gateway.http.post(
        "/processes/echo/execution",
        json={"inputs": {"message": "now"}, "priority": "high"},
        headers={"Prefer": "respond-async"},
    )
    await gateway.project()

    async def status(job_id: str) -> dict:
        return (await gateway.http.get(f"/jobs/{job_id}")).json()

    firsts = [await status(job_id) for job_id in queued]
    assert [(s["priority"], s["jobsAhead"]) for s in firsts] == [
        ("normal", 1),
        ("low", 2),
        ("low", 3),
    ]
    assert firsts[2]["message"] == "queued: 3 jobs of echo ahead of it (low lane)"
    assert (await status(urgent.json()["jobID"]))["jobsAhead"] == 0
    await gateway.journal.append(
        JobStarted(job_id=queued[0], process_id="echo", executor="test", attempt=1)
    )
    await gateway.project()
    assert "jobsAhead" not in await status(queued[0])
    assert (await status(queued[2]))["jobsAhead"] == 2
