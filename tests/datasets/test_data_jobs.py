"""Ingest and sync as jobs: through HTTP, the executor and the stream, into Icechunk.

The tests share the package's data stack (conftest.py); each that stores data writes a copy
of demo of its own, named after what it does."""

import pytest

from jobstream_client import Client
from jobstream_contracts.events import DatasetCommitted

from ..support.datasets import repository, stored


@pytest.fixture
def stack(shared_data_stack):
    return shared_data_stack


def test_an_ingest_job_stores_the_periods_and_records_each_commit(stack):
    job_id = stack.submit(
        "ingest", {"dataset_id": "ingested", "start": "2020-01-01", "end": "2020-01-12"}
    )
    status = stack.wait_job(job_id, timeout=60)
    assert status["status"] == "successful", status
    result = stack.http.get(f"/jobs/{job_id}/results").json()
    assert result["periods"] == {
        "requested": 12,
        "fetched": 12,
        "skipped": 0,
        "first": "2020-01-01",
        "last": "2020-01-12",
    }
    ds = stored(stack, "ingested")
    assert ds.sizes["time"] == 12 and int(ds.committed.sum()) == 12

    commits = [e for e in stack.events(job_id) if isinstance(e, DatasetCommitted)]
    assert [(c.first, c.last, c.count) for c in commits] == [
        ("2020-01-01", "2020-01-05", 5),
        ("2020-01-06", "2020-01-10", 5),
        ("2020-01-11", "2020-01-12", 2),
    ]
    assert commits[-1].coverage == [("2020-01-01", "2020-01-12")]
    assert commits[-1].snapshot_id == result["snapshot_id"]
    # Each Icechunk snapshot names the job that wrote it.
    ancestry = list(repository(stack, "ingested").ancestry(branch="main"))
    assert {s.metadata.get("job_id") for s in ancestry[:3]} == {job_id}


def test_an_unknown_dataset_or_a_malformed_date_is_refused_before_any_job_exists(stack):
    before = len(stack.events())
    unknown = stack.http.post(
        "/processes/ingest/execution",
        json={"inputs": {"dataset_id": "nowhere", "start": "2020-01-01", "end": "2020-01-02"}},
    )
    assert unknown.status_code == 400
    assert "dataset_id" in unknown.json()["detail"]
    malformed = stack.http.post(
        "/processes/ingest/execution",
        json={"inputs": {"dataset_id": "demo", "start": "1st of May", "end": "2020-01-02"}},
    )
    assert malformed.status_code == 400
    assert "start" in malformed.json()["detail"]
    assert len(stack.events()) == before


def test_a_range_the_dataset_does_not_have_is_refused_before_any_job_exists(stack):
    # The executor's plan check answers before the gateway publishes (see test_limits).
    before = len(stack.events())
    response = stack.http.post(
        "/processes/ingest/execution",
        json={"inputs": {"dataset_id": "demo", "start": "2019-06-01", "end": "2020-01-02"}},
    )
    assert response.status_code == 400, response.text
    assert "before the dataset's first period 2020-01-01" in response.json()["detail"]
    assert len(stack.events()) == before


def test_sync_appends_only_the_missing_periods_and_then_is_a_no_op(stack):
    stack.wait_job(
        stack.submit(
            "ingest", {"dataset_id": "synced", "start": "2020-01-01", "end": "2020-01-04"}
        ),
        timeout=60,
    )
    planned = stack.submit("sync", {"dataset_id": "synced", "end": "2020-01-09", "plan_only": True})
    assert stack.wait_job(planned, timeout=30)["status"] == "successful"
    plan = stack.http.get(f"/jobs/{planned}/results").json()
    assert (plan["status"], plan["first"], plan["last"], plan["periods"]) == (
        "planned",
        "2020-01-05",
        "2020-01-09",
        5,
    )
    assert int(stored(stack, "synced").committed.sum()) == 4

    synced = stack.submit("sync", {"dataset_id": "synced", "end": "2020-01-09"})
    assert stack.wait_job(synced, timeout=60)["status"] == "successful"
    result = stack.http.get(f"/jobs/{synced}/results").json()
    assert result["status"] == "synced"
    assert result["periods"]["fetched"] == 5 and result["periods"]["skipped"] == 0
    assert int(stored(stack, "synced").committed.sum()) == 9

    again = stack.submit("sync", {"dataset_id": "synced", "end": "2020-01-09"})
    status = stack.wait_job(again, timeout=30)
    assert status["status"] == "successful"
    assert status["message"].startswith("up to date: 2020-01-09 is stored")


def test_sync_of_an_empty_dataset_is_refused_saying_to_ingest_first(stack):
    before = len(stack.events())
    response = stack.http.post("/processes/sync/execution", json={"inputs": {"dataset_id": "demo"}})
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == "dataset_id: nothing stored for demo yet; run ingest first"
    assert len(stack.events()) == before


def test_two_ingests_of_one_dataset_never_interleave_their_commits(stack):
    # The stack's two executors run both jobs at once.
    jobs = [
        stack.submit("ingest", {"dataset_id": "raced", "start": start, "end": end})
        for start, end in (("2020-01-01", "2020-01-20"), ("2020-01-21", "2020-02-09"))
    ]
    statuses = [stack.wait_job(job_id, timeout=90) for job_id in jobs]
    assert [s["status"] for s in statuses] == ["successful", "successful"]
    # Oldest first: the writers of the commits, each job's commits in one unbroken run.
    writers = [
        job_id
        for s in repository(stack, "raced").ancestry(branch="main")
        if (job_id := s.metadata.get("job_id"))
    ][::-1]
    runs = [job for i, job in enumerate(writers) if i == 0 or writers[i - 1] != job]
    assert sorted(runs) == sorted(jobs), writers
    # The one that waited for the dataset's key said so, out of its executor's slot.
    waited = [e for e in stack.events() if e.type == "JobWaiting" and e.job_id in jobs]
    assert [(e.key, e.limit, e.in_use) for e in waited] == [("dataset:raced", 1, 1)]
    ds = stored(stack, "raced")
    assert int(ds.committed.sum()) == 40


def test_the_dataset_record_shows_what_is_stored_and_which_jobs_wrote_it(stack):
    listed = stack.http.get("/datasets").json()["datasets"]
    assert {d["id"] for d in listed} >= {"demo", "demo-twin", "synthetic-daily"}
    assert next(d for d in listed if d["id"] == "recorded")["stored"] is None
    # One after the other: which of two concurrent ingests takes the lease last is a race,
    # and this test is about the record, not the lease.
    first = stack.submit(
        "ingest", {"dataset_id": "recorded", "start": "2020-01-01", "end": "2020-01-03"}
    )
    assert stack.wait_view(first, timeout=60)["status"] == "successful"
    second = stack.submit(
        "ingest", {"dataset_id": "recorded", "start": "2020-01-06", "end": "2020-01-07"}
    )
    assert stack.wait_view(second, timeout=60)["status"] == "successful"
    response = stack.http.get("/datasets/recorded")
    record = response.json()
    assert record["template"]["period_type"] == "daily"
    # An allow-listed summary: the plugin's name, never its params (where tokens live).
    assert record["template"]["source"] == {"plugin": "synthetic"}
    for answer in (response, stack.http.get("/datasets")):
        assert '"params"' not in answer.text and '"latency"' not in answer.text
    assert record["stored"]["coverage"] == [
        ["2020-01-01", "2020-01-03"],
        ["2020-01-06", "2020-01-07"],
    ]
    assert (record["stored"]["first"], record["stored"]["last"]) == ("2020-01-01", "2020-01-07")
    assert record["stored"]["periods"] == 5
    assert (
        record["stored"]["snapshot_id"]
        == stack.http.get(f"/jobs/{second}/results").json()["snapshot_id"]
    )
    assert record["stored"]["last_job"] == second
    related = [
        link["href"].rsplit("/", 1)[-1] for link in record["links"] if link["rel"] == "related"
    ]
    assert related == [second, first]
    # The Python client reads the same answers as models, and they say what the JSON says.
    with Client(stack.url) as client:
        assert client.dataset("recorded").model_dump(mode="json", exclude_none=True) == record
        assert "recorded" in {listed.id for listed in client.datasets()}
    missing = stack.http.get("/datasets/nowhere")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/no-such-dataset")


def test_a_sync_recomputes_the_derived_dataset_in_a_job_it_causes(stack):
    stack.wait_job(
        stack.submit(
            "ingest", {"dataset_id": "derived", "start": "2020-01-01", "end": "2020-01-31"}
        ),
        timeout=60,
    )
    sync_id = stack.submit("sync", {"dataset_id": "derived", "end": "2020-02-29"})
    assert stack.wait_job(sync_id, timeout=60)["status"] == "successful"
    synced = stack.http.get(f"/jobs/{sync_id}/results").json()
    [derived_job] = synced["derived_jobs"]
    status = stack.wait_job(derived_job, timeout=60)
    assert status["status"] == "successful", status
    assert {"href": f"{stack.url}/jobs/{sync_id}", "rel": "up"}.items() <= next(
        link for link in status["links"] if link["rel"] == "up"
    ).items()
    computed = stack.http.get(f"/jobs/{derived_job}/results").json()
    assert (computed["first"], computed["last"]) == ("2020-01", "2020-02")

    stack.wait_view(derived_job, timeout=30)
    record = stack.http.get("/datasets/derived-monthly").json()
    assert record["kind"] == "derived"
    assert record["derived"] == {
        "source_dataset": "derived",
        "stale": False,
        "stale_because": [],
        "source_snapshot_id": synced["snapshot_id"],
    }
    # The source changes: the derived dataset says it is stale, and why.
    more = stack.submit(
        "ingest", {"dataset_id": "derived", "start": "2020-03-01", "end": "2020-03-02"}
    )
    stack.wait_view(more, timeout=60)
    record = stack.http.get("/datasets/derived-monthly").json()
    assert record["derived"]["stale"] is True
    assert record["derived"]["stale_because"][0].startswith("source derived is at snapshot")


def test_an_ad_hoc_resample_is_listed_as_a_derived_dataset(stack):
    stack.wait_job(
        stack.submit(
            "ingest", {"dataset_id": "resampled", "start": "2020-01-01", "end": "2020-01-14"}
        ),
        timeout=60,
    )
    job_id = stack.submit(
        "resample", {"source_dataset_id": "resampled", "frequency": "W-MON", "method": "max"}
    )
    assert stack.wait_view(job_id, timeout=60)["status"] == "successful"
    record = stack.http.get("/datasets/resampled-max-W-MON").json()
    assert record["kind"] == "derived"
    assert record["stored"]["coverage"] == [["2020-01-06", "2020-01-06"]]
    assert record["derived"]["source_dataset"] == "resampled"
    # Titled by what made it, with its source's variable and units.
    assert record["title"] == "resampled, weekly max"
    assert (record["template"]["variable"], record["template"]["units"]) == ("t2m", "K")


def test_an_estimate_counts_periods_bytes_and_learns_the_duration_from_earlier_jobs(stack):
    query = {"dataset_id": "estimated", "start": "2020-01-01", "end": "2020-01-20"}
    before = stack.http.get("/processes/ingest/estimate", params=query).json()
    # 2 x 4 cells of float32 per day on the demo grid.
    assert {k: before[k] for k in ("periods", "stored", "to_fetch", "bytes")} == {
        "periods": 20,
        "stored": 0,
        "to_fetch": 20,
        "bytes": 20 * 8 * 4,
    }
    assert before["duration_seconds"] is None and "unknown" in before["duration_basis"]

    job_id = stack.submit("ingest", {**query, "end": "2020-01-15"})
    status = stack.wait_job(job_id, timeout=60)
    # The job kept the figures it started with.
    assert status["estimate"]["to_fetch"] == 15 and status["estimate"]["bytes"] == 15 * 32

    after = stack.http.get("/processes/ingest/estimate", params=query).json()
    assert (after["stored"], after["to_fetch"], after["bytes"]) == (15, 5, 5 * 32)
    assert after["throughput_periods_per_second"] > 0
    with Client(stack.url) as client:
        assert client.estimate("ingest", query).model_dump(mode="json") == after
    assert after["duration_seconds"] == pytest.approx(
        5 / after["throughput_periods_per_second"], abs=0.1
    )


@pytest.mark.parametrize(
    "query,status,complaint",
    [
        (
            {"dataset_id": "demo", "start": "2020-01-01", "end": "2020-01-02", "colour": "red"},
            400,
            "colour: not an input of ingest",
        ),
        ({"dataset_id": "nowhere", "start": "2020-01-01", "end": "2020-01-02"}, 400, "dataset_id"),
        (
            {"dataset_id": "demo", "start": "2020-01-01", "end": "2020-01-02", "bbox": "1,2,x,4"},
            400,
            "bbox: '1,2,x,4' is not a valid array",
        ),
        (
            {"dataset_id": "demo", "start": "2020-01-09", "end": "2020-01-02"},
            400,
            "end 2020-01-02 is before start 2020-01-09",
        ),
    ],
)
def test_a_bad_estimate_request_names_the_parameter(stack, query, status, complaint):
    response = stack.http.get("/processes/ingest/estimate", params=query)
    assert response.status_code == status, response.text
    assert complaint in response.json()["detail"]


def test_a_process_without_an_estimator_says_so(stack):
    response = stack.http.get("/processes/echo/estimate", params={"message": "hi"})
    assert response.status_code == 404
    assert "offers no estimate" in response.json()["detail"]
