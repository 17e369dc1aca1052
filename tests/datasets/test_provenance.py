"""Provenance of data jobs on a real stack: an ingest, a resample of it, their PROV-JSON; and a
YAML process whose file changes, marking the dataset it derived stale."""

import shutil

from jobstream_contracts.events import DatasetCommitted

from ..support.datasets import DATA_SETTINGS, PLUGINS
from ..support.stack import own_server_stack
from ..support.waiting import eventually

MONTHLY = """\
id: monthly-mean
title: Monthly means
description: {description}
inputs:
  source_dataset_id: {{schema: {{type: string}}}}
outputs:
  result: {{schema: {{type: object}}}}
execution:
  function: tests.support.custom_functions:monthly_mean
"""


def commits(stack, job_id: str) -> list[DatasetCommitted]:
    return [e for e in stack.events(job_id) if isinstance(e, DatasetCommitted)]


def relations(document: dict, kind: str) -> list[dict]:
    return list(document.get(kind, {}).values())


def test_a_resamples_prov_names_the_snapshot_it_read_the_one_it_wrote_and_the_version(
    shared_data_stack,
):
    stack = shared_data_stack
    ingest = stack.submit(
        "ingest", {"dataset_id": "provenanced", "start": "2020-01-01", "end": "2020-01-31"}
    )
    assert stack.wait_job(ingest, timeout=60)["status"] == "successful"
    resample = stack.submit(
        "resample", {"source_dataset_id": "provenanced", "frequency": "MS", "method": "mean"}
    )
    assert stack.wait_view(resample, timeout=60)["status"] == "successful"
    version = stack.http.get("/processes/resample").json()["version"]
    (written,) = commits(stack, resample)
    assert written.source is not None
    source = f"dataset:provenanced/snapshots/{written.source.snapshot_id}"
    made = f"dataset:provenanced-mean-MS/snapshots/{written.snapshot_id}"
    assert written.source.snapshot_id == commits(stack, ingest)[-1].snapshot_id

    document = stack.http.get(f"/jobs/{resample}/prov").json()
    job = f"job:{resample}"
    assert document["activity"][job]["jobstream:processVersion"] == version
    assert f"process:resample/versions/{version}" in document["entity"]
    assert relations(document, "used") == [{"prov:activity": job, "prov:entity": source}]
    assert [g["prov:entity"] for g in relations(document, "wasGeneratedBy")] == [made]
    assert document["entity"][made]["jobstream:processVersion"] == version

    lineage = stack.http.get("/datasets/provenanced-mean-MS/prov").json()
    assert {
        (d["prov:generatedEntity"], d["prov:usedEntity"])
        for d in relations(lineage, "wasDerivedFrom")
    } == {(made, source)}
    # Followed to the source: the ingest generated the snapshot the resample read.
    generations = {
        (g["prov:entity"], g["prov:activity"]) for g in relations(lineage, "wasGeneratedBy")
    }
    assert (source, f"job:{ingest}") in generations


def test_a_yaml_process_changed_on_disk_marks_its_derived_dataset_stale(tmp_path):
    plugins = tmp_path / "plugins"
    shutil.copytree(PLUGINS, plugins)
    (plugins / "processes").mkdir(exist_ok=True)
    declaration = plugins / "processes" / "monthly-mean.yaml"
    declaration.write_text(MONTHLY.format(description="Means of each month."))
    settings = {**DATA_SETTINGS, "plugins_dir": plugins}
    with own_server_stack(tmp_path / "stack", **settings) as stack:
        stack.start(wait=False)
        stack.wait_ready(("ingest", "monthly-mean"))
        before = stack.http.get("/processes/monthly-mean").json()["version"]
        assert before.startswith("sha256:")
        ingest = stack.submit(
            "ingest", {"dataset_id": "demo", "start": "2020-01-01", "end": "2020-01-31"}
        )
        assert stack.wait_job(ingest, timeout=60)["status"] == "successful"
        job_id = stack.submit("monthly-mean", {"source_dataset_id": "demo"})
        assert stack.wait_view(job_id, timeout=60)["status"] == "successful"
        (written,) = commits(stack, job_id)
        assert written.process_version == before
        record = stack.http.get("/datasets/demo-mean-MS").json()
        assert record["derived"]["stale"] is False, record

        # The operator edits the file; the executor started again serves a new version.
        declaration.write_text(MONTHLY.format(description="Means of each calendar month."))
        stack.stop("executor")
        stack.start_component("executor")

        def announced() -> str | None:
            version = stack.http.get("/processes/monthly-mean").json().get("version")
            return version if version != before else None

        after = eventually(announced, 60, "the new version of monthly-mean announced")
        record = stack.http.get("/datasets/demo-mean-MS").json()
        assert record["derived"]["stale"] is True
        assert record["derived"]["stale_because"] == [
            f"process monthly-mean is at version {after}; this dataset was computed by {before}"
        ]
