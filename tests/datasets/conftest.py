"""The data stack the package's HTTP tests share."""

import shutil
from pathlib import Path

import pytest

from ..support.datasets import DATA_SETTINGS, PLUGINS
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


@pytest.fixture(scope="package")
def data_stack(tmp_path_factory):
    """One stack serving the data processes for the package, with two executors, so that two
    jobs can run at once."""
    workdir = tmp_path_factory.mktemp("data")
    write_copies_of_demo(workdir / "plugins")
    settings = {**DATA_SETTINGS, "plugins_dir": workdir / "plugins"}
    with own_server_stack(workdir, **settings, progress_interval=0.1, lease_ttl=3) as running:
        running.start(wait=False)
        running.start_component("executor")
        running.wait_ready(("ingest", "sync"))
        yield running
