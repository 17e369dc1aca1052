"""Dataset templates and periods: loading, overriding, precise errors."""

import pandas as pd
import pytest

from jobstream_datasets.limits import newest_available
from jobstream_datasets.periods import PeriodType, period_id, period_of
from jobstream_datasets.templates import TemplateError, load_template, load_templates

GOOD = """
id: {id}
name: {name}
variable: precip
units: mm/day
period_type: daily
extent: {{bbox: [0, 0, 1, 1], start: "2021-01-01"}}
source: {{plugin: synthetic}}
"""


def write(directory, name: str, text: str):
    path = directory / "datasets" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_built_in_templates_load():
    templates = load_templates()
    assert "synthetic-daily" in templates
    assert templates["synthetic-daily"].period_type is PeriodType.daily


def test_a_user_template_replaces_the_built_in_of_its_id_and_adds_new_ones(tmp_path):
    write(tmp_path, "mine.yaml", GOOD.format(id="synthetic-daily", name="Mine"))
    write(tmp_path, "other.yml", GOOD.format(id="other", name="Other"))
    templates = load_templates(tmp_path)
    assert templates["synthetic-daily"].name == "Mine"
    assert templates["other"].variable == "precip"


@pytest.mark.parametrize(
    "text,complaint",
    [
        (GOOD.format(id="bad id", name="x"), "id: Value error, an id is letters"),
        (
            GOOD.format(id="x", name="x").replace("daily", "fortnightly"),
            "period_type: Input should be",
        ),
        (GOOD.format(id="x", name="x").replace("[0, 0, 1, 1]", "[1, 0, 0, 1]"), "extent.bbox"),
        (GOOD.format(id="x", name="x").replace('"2021-01-01"', '"2021-02-30"'), "extent.start"),
        (GOOD.format(id="x", name="x") + "colour: blue\n", "colour: Extra inputs"),
        (
            GOOD.format(id="x", name="x").replace("source: {plugin: synthetic}", ""),
            "needs `source`",
        ),
        ("id: [unclosed", "not readable YAML"),
        ("- a list", "a template is a YAML mapping"),
    ],
)
def test_a_bad_template_is_reported_with_its_file_and_field(tmp_path, text, complaint):
    path = write(tmp_path, "broken.yaml", text)
    with pytest.raises(TemplateError) as caught:
        load_templates(tmp_path)
    assert str(path) in str(caught.value)
    assert complaint in str(caught.value)


def test_every_bad_file_is_reported_at_once(tmp_path):
    first = write(tmp_path, "a.yaml", "- a list")
    second = write(tmp_path, "b.yaml", "id: [unclosed")
    with pytest.raises(TemplateError) as caught:
        load_templates(tmp_path)
    assert str(first) in str(caught.value) and str(second) in str(caught.value)


def test_a_derived_template_must_name_a_known_source(tmp_path):
    write(
        tmp_path,
        "derived.yaml",
        """
id: monthly
name: Monthly
variable: precip
period_type: monthly
extent: {bbox: [0, 0, 1, 1], start: "2021-01"}
sync_kind: derived
source_dataset: nowhere
processing: {process_id: resample, params: {frequency: MS, method: sum}}
""",
    )
    with pytest.raises(TemplateError, match="'nowhere' is not a known dataset"):
        load_templates(tmp_path)


@pytest.mark.parametrize(
    "text,kind,expected",
    [
        ("2020", PeriodType.yearly, "2020"),
        ("2020-07-04", PeriodType.yearly, "2020"),
        ("2020-07-04", PeriodType.monthly, "2020-07"),
        ("2020-07", PeriodType.daily, "2020-07-01"),
        ("2020-07-04T06", PeriodType.hourly, "2020-07-04T06"),
        ("2020-07-04T06:59:59Z", PeriodType.hourly, "2020-07-04T06"),
        ("2020-07-04", PeriodType.hourly, "2020-07-04T00"),
    ],
)
def test_an_iso_prefix_names_the_period_containing_its_first_instant(text, kind, expected):
    assert period_id(period_of(text, kind), kind) == expected


def test_the_newest_available_period_is_the_last_one_ended_a_lag_ago():
    template = load_templates()["synthetic-daily"].model_copy(
        update={"sync": load_templates()["synthetic-daily"].sync.model_copy(update={"lag": "2D"})}
    )
    now = pd.Timestamp("2024-03-10T12:00Z")
    assert isinstance(now, pd.Timestamp)  # not NaT
    # 2024-03-07 ended on the 8th at 00:00, two days before the 10th at 00:00 <= now.
    assert period_id(newest_available(template, now), PeriodType.daily) == "2024-03-07"


def test_an_announcement_never_carries_the_source_params(tmp_path):
    path = tmp_path / "secret.yaml"
    path.write_text(
        "id: secret\nname: Secret\nvariable: t2m\nperiod_type: daily\n"
        "extent: {bbox: [0, 0, 1, 1], start: '2020-01-01'}\n"
        "source: {plugin: http-files, params: {url: 'https://u:hunter2@x.example/{period}.tif?"
        "token=abc123', storage_options: {key: AKIA123}}}\n"
    )
    announced = load_template(path).announcement().encode().decode()
    assert '"source":{"plugin":"http-files"}' in announced
    for secret in ("hunter2", "abc123", "AKIA123", "params", "storage_options"):
        assert secret not in announced
