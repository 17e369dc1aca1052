"""Dataset templates: YAML files describing a dataset and where its data comes from.

Built-in templates ship in this package; a user's live in ``<plugins_dir>/datasets/`` and
replace a built-in of the same id. Every file is validated whole: a bad template is reported
with its file and field and nothing of it is used.
"""

from pathlib import Path
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from jobstream_contracts.messages import DatasetAnnouncement
from jobstream_contracts.subjects import is_valid_token
from jobstream_infra.yaml_files import load_yaml_model

from .periods import PeriodError, PeriodType, period_of

BUILTIN_DIR = Path(__file__).parent / "templates"

# west, south, east, north.
Bbox = tuple[float, float, float, float]


# What /datasets shows of a template; source and processing are reduced to their names.
ANNOUNCED = {
    "id",
    "name",
    "description",
    "variable",
    "units",
    "period_type",
    "extent",
    "sync",
    "sync_kind",
    "source_dataset",
}


class TemplateError(ValueError):
    """A template file that cannot be used, with the file and field at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Extent(_Strict):
    # west, south, east, north in the dataset's CRS.
    bbox: Bbox
    # The first period the source has; the stored time axis starts here.
    start: str
    # The last period the source will ever have; None while it is still published.
    end: str | None = None
    # The source's cell size in the CRS's units: how planning counts a bbox's cells against
    # JOBSTREAM_MAX_PLANNED_CELLS (the grid itself comes from the source). None: not counted.
    resolution: float | None = Field(default=None, gt=0)

    @field_validator("bbox")
    @classmethod
    def _ordered(cls, bbox):
        west, south, east, north = bbox
        if west >= east or south >= north:
            raise ValueError(
                "bbox must be [west, south, east, north] with west < east and south < north"
            )
        return bbox


class Source(_Strict):
    # A built-in plugin name (synthetic, http-files, zarr) or "module:attribute".
    plugin: str
    params: dict[str, Any] = Field(default_factory=dict)
    # Who serves the data (cds, earthdatahub, chc): the ingests and syncs of every dataset
    # from one provider share its concurrency limit (`provider:<name>`). None: not limited.
    provider: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    # Override the plugin's own defaults: periods fetched at once, periods per commit.
    max_concurrency: int | None = Field(default=None, ge=1, le=64)
    commit_batch_size: int | None = Field(default=None, ge=1)


def _parse_duration(text: str) -> pd.Timedelta:
    """A pandas duration (2D, 6h, 30min); ValueError for other texts, NaT among them."""
    duration = pd.Timedelta(text)
    if not isinstance(duration, pd.Timedelta):  # "NaT" parses, to no duration
        raise ValueError(f"{text!r} is no duration")
    return duration


class SyncRule(_Strict):
    # A period is published this long after it ends (a pandas duration: 2D, 6h, 30min).
    lag: str = "0D"

    @field_validator("lag")
    @classmethod
    def _duration(cls, value: str) -> str:
        try:
            _parse_duration(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a duration like 2D, 6h or 30min") from None
        return value

    @property
    def lag_delta(self) -> pd.Timedelta:
        return _parse_duration(self.lag)


class Processing(_Strict):
    process_id: str
    params: dict[str, Any] = Field(default_factory=dict)


class DatasetTemplate(_Strict):
    id: str
    name: str
    description: str = ""
    variable: str
    units: str = ""
    period_type: PeriodType
    extent: Extent
    source: Source | None = None
    sync: SyncRule = Field(default_factory=SyncRule)
    sync_kind: Literal["source", "derived"] = "source"
    # For a derived dataset: the dataset it is computed from and the process that does it.
    source_dataset: str | None = None
    processing: Processing | None = None

    @field_validator("id")
    @classmethod
    def _token(cls, value: str) -> str:
        if not is_valid_token(value):
            raise ValueError("an id is letters, digits, '-' and '_' only")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "DatasetTemplate":
        for name in ("start", "end"):
            text = getattr(self.extent, name)
            if text is not None:
                try:
                    period_of(text, self.period_type)
                except PeriodError as exc:
                    raise ValueError(f"extent.{name}: {exc}") from None
        if self.sync_kind == "source" and self.source is None:
            raise ValueError("a source dataset needs `source` (plugin and params)")
        if self.sync_kind == "derived" and (self.source_dataset is None or self.processing is None):
            raise ValueError("a derived dataset needs `source_dataset` and `processing`")
        return self

    @property
    def origin(self) -> pd.Period:
        """The first period of the stored time axis."""
        return period_of(self.extent.start, self.period_type)

    def definition(self) -> dict[str, Any]:
        """What the stored data is: kept in the repository, so a job whose template says
        otherwise (another frequency, method, source or variable) cannot overwrite it."""
        return {
            "variable": self.variable,
            "period_type": self.period_type.value,
            "sync_kind": self.sync_kind,
            "source_plugin": self.source.plugin if self.source else None,
            "source_dataset": self.source_dataset,
            "processing": self.processing.model_dump(mode="json") if self.processing else None,
        }

    def announcement(self) -> DatasetAnnouncement:
        """The template as executors announce it to the gateways: an allow-listed summary.

        Never the source's params: operators put URLs with tokens and storage options there.
        """
        summary = self.model_dump(mode="json", exclude_none=True, include=ANNOUNCED)
        if self.source is not None:
            summary["source"] = {"plugin": self.source.plugin}
        if self.processing is not None:
            summary["processing"] = {"process_id": self.processing.process_id}
        return DatasetAnnouncement.model_validate(summary)


def load_template(path: Path) -> DatasetTemplate:
    return load_yaml_model(path, DatasetTemplate, TemplateError, "a template")


def load_templates(plugins_dir: Path | None = None) -> dict[str, DatasetTemplate]:
    """Built-in templates, then the user's: a user template replaces a built-in of its id.

    Raises TemplateError naming every bad file, so a typo is seen at start, not mid-job.
    """
    files = sorted(BUILTIN_DIR.glob("*.yaml"))
    if plugins_dir is not None:
        files += sorted((plugins_dir / "datasets").glob("*.y*ml"))
    templates: dict[str, DatasetTemplate] = {}
    problems: list[str] = []
    for path in files:
        try:
            template = load_template(path)
        except TemplateError as exc:
            problems.append(str(exc))
            continue
        templates[template.id] = template
    if problems:
        raise TemplateError("\n".join(problems))
    for template in templates.values():
        if template.source_dataset is not None and template.source_dataset not in templates:
            raise TemplateError(
                f"dataset {template.id}: source_dataset "
                f"{template.source_dataset!r} is not a known dataset"
            )
    return templates
