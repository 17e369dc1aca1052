"""open_dataset where nothing is stored says where it looked and the setting to change."""

import pytest

from jobstream_datasets import open_dataset
from jobstream_datasets.access import NothingStored
from jobstream_infra.settings import DatasetSettings


def test_from_a_folder_where_nothing_is_stored_it_names_the_path_and_the_setting(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("JOBSTREAM_DATA_DIR", raising=False)
    monkeypatch.delenv("JOBSTREAM_DATASETS_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NothingStored) as refused:
        open_dataset("synthetic-daily")
    looked = tmp_path.resolve() / "data" / "datasets" / "synthetic-daily"
    assert str(refused.value).startswith(f"nothing stored for synthetic-daily at {looked} (")
    assert "JOBSTREAM_DATA_DIR is data (relative to the folder this runs in)" in str(refused.value)
    assert "set JOBSTREAM_DATASETS_ROOT (or JOBSTREAM_DATA_DIR)" in str(refused.value)
    assert not looked.exists(), "looking must create nothing"


def test_under_a_datasets_root_it_names_that_setting(tmp_path):
    settings = DatasetSettings(datasets_root=str(tmp_path / "elsewhere"))
    with pytest.raises(NothingStored, match=r"\(JOBSTREAM_DATASETS_ROOT is .*elsewhere\)"):
        open_dataset("synthetic-daily", settings)
