"""The data stack the package's HTTP tests share."""

import json
import shutil
from pathlib import Path

import pytest

from ..support.datasets import DATA_SETTINGS, PLUGINS
from ..support.fixture_server import FixtureServer
from ..support.stack import own_server_stack

# The datasets of the tests that store data: each a copy of demo under an id of its own, so that
# they share one stack and each starts from an empty dataset. demo itself is never written.
OWN_DATASETS = (
    "ingested",
    "synced",
    "raced",
    "recorded",
    "derived",
    "resampled",
    "estimated",
    "quicklooked",
    "quicklooked-source",
    "scheduled",
    "triggering",
    "provenanced",
    "reproduced",
    "expired",
    "unrepeatable",
)


def write_copies_of_demo(plugins: Path) -> None:
    """The test templates in ``plugins``, with a copy of demo for each of OWN_DATASETS, and of
    demo-monthly as derived's monthly means."""
    shutil.copytree(PLUGINS, plugins)
    templates = plugins / "datasets"
    demo = (templates / "demo.yaml").read_text()
    for dataset_id in OWN_DATASETS:
        (templates / f"{dataset_id}.yaml").write_text(demo.replace("id: demo", f"id: {dataset_id}"))
    monthly = (templates / "demo-monthly.yaml").read_text()
    monthly = monthly.replace("id: demo-monthly", "id: derived-monthly")
    (templates / "derived-monthly.yaml").write_text(
        monthly.replace("source_dataset: demo", "source_dataset: derived")
    )


# The token in the leaky template's URL (test_secrets).
SECRET = "s3cr3t-T0KEN"


@pytest.fixture(scope="package")
def failing_source(tmp_path_factory):
    """A loopback file server with no files: every period is HTTP 404."""
    with FixtureServer(tmp_path_factory.mktemp("empty")) as server:
        yield server


def write_leaky_template(plugins: Path, host: str) -> None:
    """A template fetching from ``host`` with credentials in its URL: user, password, token."""
    template = {
        "id": "leaky",
        "name": "A source whose URL carries credentials",
        "variable": "precip",
        "units": "mm/day",
        "period_type": "daily",
        "extent": {"bbox": [4.0, 57.0, 6.0, 58.0], "start": "2020-01-01"},
        "source": {
            "plugin": "http-files",
            "params": {
                "url_template": f"http://reader:{SECRET}@{host}/files/{{period}}.tif?token={SECRET}",
                "format": "geotiff",
            },
        },
    }
    (plugins / "datasets" / "leaky.yaml").write_text(json.dumps(template))  # JSON is YAML


@pytest.fixture(scope="package")
def shared_data_stack(tmp_path_factory, failing_source):
    """One stack serving the data processes for the package, with two executors, so that two
    jobs can run at once."""
    workdir = tmp_path_factory.mktemp("data")
    write_copies_of_demo(workdir / "plugins")
    write_leaky_template(workdir / "plugins", failing_source.base_url.removeprefix("http://"))
    settings = {**DATA_SETTINGS, "plugins_dir": workdir / "plugins"}
    with own_server_stack(workdir, **settings, progress_interval=0.1, lease_ttl=3) as running:
        running.start(wait=False)
        running.start_component("executor")
        running.wait_ready(("ingest", "sync"))
        yield running
