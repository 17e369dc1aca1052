"""docs/reference/configuration.md is what the settings' fields render: it cannot drift."""

from pathlib import Path

from jobstream.config_reference import REGENERATE, render
from jobstream_infra.settings import COMMAND_SETTINGS

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reference" / "configuration.md"


def test_the_committed_reference_is_what_the_fields_render():
    assert PAGE.read_text() == render(), f"stale: {REGENERATE}"


def test_every_setting_is_described():
    for cls in set(COMMAND_SETTINGS.values()):
        for name, field in cls.model_fields.items():
            assert field.description, (cls.__name__, name)


def test_every_setting_is_in_the_reference():
    page = render()
    for cls in set(COMMAND_SETTINGS.values()):
        for name in cls.model_fields:
            assert f"| `JOBSTREAM_{name.upper()}` |" in page, name
