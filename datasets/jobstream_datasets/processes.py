"""The data processes (ingest, sync, resample), described from the dataset templates an
executor loads.

The descriptions list the known dataset ids and the accepted period forms as JSON schema, so
the gateway rejects an unknown dataset or a malformed date before a job exists. Ingest and
sync offer estimates; asked for the size only, they answer from the plan's arithmetic
(limits.py), which the gateway checks before it publishes a job and every job checks again.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from threading import Thread
from typing import TYPE_CHECKING, Any

from jobstream_contracts.access import Role
from jobstream_contracts.events import JobEstimated
from jobstream_contracts.messages import Message
from jobstream_contracts.ogc import (
    ConcurrencyLimit,
    InputDescription,
    OutputDescription,
    Priority,
    ProcessDescription,
)
from jobstream_contracts.process import (
    JobContext,
    PermanentError,
    Process,
    ProgressCallback,
    SnapshotGone,
    no_progress,
)
from jobstream_contracts.redaction import strip_url_secrets
from jobstream_contracts.subjects import DATASET_REGISTRY_BUCKET, PROCESS_ID_PATTERN
from jobstream_executor.announce import Budget
from jobstream_infra.settings import ExecutorSettings

from .checks import check_stored_bbox, nothing_stored, resampled_period_type
from .limits import Limits, Plan, newest_available, plan_ingest, plan_sync
from .periods import PERIOD_PATTERN, before, period_id, shifted
from .templates import Bbox, DatasetTemplate, load_templates

if TYPE_CHECKING:  # imported by the first job that needs it (see above)
    from .ingest import Commits
    from .store import Stored

# The work itself (xarray, zarr, icechunk: seconds of imports) is imported when a job or an
# estimate first needs it, so an executor starts and announces its processes quickly.
METHODS = ("mean", "sum", "min", "max")
# What people call each frequency: the form shows "monthly (MS)" and submits MS.
FREQUENCY_TITLES = {
    "h": "hourly",
    "D": "daily",
    "W-MON": "weekly",
    "MS": "monthly",
    "YS": "yearly",
}
# Plugins that fetch nothing from a network: a form defaults to a dataset of theirs, so the
# first job tried works on a machine with no internet.
OFFLINE_PLUGINS = ("synthetic",)

VERSION = "1.0.0"


@dataclass(frozen=True)
class Datasets:
    templates: dict[str, DatasetTemplate]
    root: str
    limits: Limits
    # Seconds the estimate a job records before it starts may take.
    estimate_budget: float
    # Where jobs store each dataset's quick-look (quicklook.py); None: nowhere (tests).
    quicklooks: Callable[..., None] | None = None

    @property
    def commits(self) -> "Commits":
        """What this executor's data jobs say in their commits."""
        from .ingest import Commits

        return Commits(self.quicklooks)

    def template(self, dataset_id: str) -> DatasetTemplate:
        try:
            return self.templates[dataset_id]
        except KeyError:
            raise PermanentError(f"unknown dataset {dataset_id!r}") from None

    def store(self, template: DatasetTemplate):
        from .store import DatasetStore, location_of

        return DatasetStore(template, location_of(self.root, template.id))

    def stored(self, template: DatasetTemplate, snapshot_id: str | None = None) -> "Stored | None":
        """What the dataset's repository holds, at ``snapshot_id`` or at its newest; None
        without one (reading creates none), SnapshotGone when it no longer has that snapshot."""
        store = self.store(template)
        if store.exists():
            return store.read(store.session(snapshot_id))
        if snapshot_id is not None:
            raise SnapshotGone(f"dataset {template.id} has no repository to hold {snapshot_id}")
        return None

    def source(self, dataset_id: str) -> DatasetTemplate:
        template = self.template(dataset_id)
        if template.sync_kind != "source":
            raise PermanentError(
                f"dataset {dataset_id} is derived from "
                f"{template.source_dataset}; it is computed, not fetched"
            )
        return template


def _bbox_input(bbox: list[float] | None) -> Bbox | None:
    """The ``bbox`` input (a JSON array of four numbers, as its schema says) as a Bbox."""
    if bbox is None:
        return None
    west, south, east, north = bbox
    return (west, south, east, north)


def estimate(
    datasets: Datasets,
    dataset_id: str,
    start: str,
    end: str,
    bbox: list[float] | None = None,
    overwrite: bool = False,
    *,
    size_only: bool = False,
    budget: Budget | None = None,
) -> dict:
    """The plan's figures; unless ``size_only``, also bytes to download and the duration."""
    plan = _ingest_plan(datasets, dataset_id, start, end, bbox)
    if size_only:
        return plan.figures()
    return _figures(datasets, plan, overwrite, budget)


def _ingest_plan(
    datasets: Datasets, dataset_id: str, start: str, end: str, bbox: list[float] | None
) -> Plan:
    """The one plan of an ingest: its inputs checked against the template, the limits and
    the grid of what is stored."""
    template = datasets.source(dataset_id)
    plan = plan_ingest(template, start, end, _bbox_input(bbox)).check(datasets.limits)
    if plan.bbox_asked is not None:
        stored = datasets.stored(template)
        check_stored_bbox(template, plan.bbox_asked, stored.bbox if stored else None)
    return plan


def _figures(datasets: Datasets, plan: Plan, overwrite: bool, budget: Budget | None) -> dict:
    """The plan's figures, with what fetching it would take (a plan of no periods takes
    nothing)."""
    if plan.periods == 0:
        return plan.figures()
    from .estimate import estimate_ingest
    from .plugin import plugin_for

    store, plugin = datasets.store(plan.template), plugin_for(plan.template)
    return {**plan.figures(), **estimate_ingest(store, plugin, plan, overwrite, budget)}


def ingest(
    datasets: Datasets,
    dataset_id: str,
    start: str,
    end: str,
    bbox: list[float] | None = None,
    overwrite: bool = False,
    *,
    job: JobContext,
    on_progress: ProgressCallback = no_progress,
) -> dict:
    from .ingest import ingest_periods
    from .plugin import plugin_for

    plan = _ingest_plan(datasets, dataset_id, start, end, bbox)
    try:
        figures = _figures(datasets, plan, overwrite, Budget(datasets.estimate_budget))
    except PermanentError:
        raise
    except Exception as exc:  # noqa: BLE001 - an estimate must never stop the ingest
        figures = {"error": strip_url_secrets(f"{type(exc).__name__}: {exc}")}
    job.record(JobEstimated, estimate=figures)
    return ingest_periods(
        datasets.store(plan.template),
        plugin_for(plan.template),
        plan,
        job=job,
        overwrite=overwrite,
        on_progress=on_progress,
        commits=datasets.commits,
    )


def estimate_sync(
    datasets: Datasets,
    dataset_id: str,
    end: str | None = None,
    plan_only: bool = False,
    *,
    size_only: bool = False,
    budget: Budget | None = None,
) -> dict:
    """The plan's figures (a plan-only sync does no work: no limit applies); unless
    ``size_only``, also bytes to download and the duration."""
    template = datasets.source(dataset_id)
    plan = plan_sync(template, datasets.store(template), end)
    if plan is None:
        raise nothing_stored(template, "dataset_id")
    if not plan_only:
        plan.check(datasets.limits)
    if size_only or plan_only:
        return plan.figures()
    return _figures(datasets, plan, False, budget)


def sync(
    datasets: Datasets,
    dataset_id: str,
    end: str | None = None,
    plan_only: bool = False,
    *,
    job: JobContext,
    on_progress: ProgressCallback = no_progress,
) -> dict:
    from .ingest import ingest_periods
    from .plugin import plugin_for

    template = datasets.source(dataset_id)
    kind = template.period_type
    store = datasets.store(template)
    plan = plan_sync(template, store, end)
    if plan is None:
        raise nothing_stored(template, "dataset_id")
    first, target, last = plan.first, plan.last, shifted(plan.first, -1)
    pending = not before(target, first)
    summary = {
        "dataset_id": dataset_id,
        "last_stored": period_id(last, kind),
        "newest_available": period_id(newest_available(template), kind),
        "first": period_id(first, kind) if pending else None,
        "last": period_id(target, kind) if pending else None,
        "periods": plan.periods,
    }
    if not pending:
        on_progress(
            1,
            1,
            f"up to date: {period_id(last, kind)} is stored and "
            f"{period_id(target, kind)} is the newest to fetch",
        )
        return {**summary, "status": "up to date"}
    if plan_only:
        return {**summary, "status": "planned"}
    plan.check(datasets.limits)
    result = ingest_periods(
        store,
        plugin_for(template),
        plan,
        job=job,
        on_progress=on_progress,
        commits=datasets.commits,
    )
    return {
        **summary,
        "status": "synced",
        **result,
        "derived_jobs": recompute_derived(datasets, dataset_id, job),
    }


def recompute_derived(datasets: Datasets, dataset_id: str, job: JobContext) -> list[str]:
    """Submit the processing of every derived dataset of ``dataset_id``, as jobs of their own."""
    return [
        job.submit(
            derived.processing.process_id,
            {
                **derived.processing.params,
                "source_dataset_id": dataset_id,
                "dataset_id": derived.id,
            },
        )
        for derived in datasets.templates.values()
        if derived.source_dataset == dataset_id and derived.processing is not None
    ]


def resample(
    datasets: Datasets,
    source_dataset_id: str,
    frequency: str,
    method: str,
    start: str | None = None,
    end: str | None = None,
    dataset_id: str | None = None,
    *,
    job: JobContext,
    on_progress: ProgressCallback = no_progress,
) -> dict:
    from .resample import Resampling, derived_template, resample_dataset

    source = datasets.template(source_dataset_id)
    target_id = _resampled_id(datasets, source, frequency, method, dataset_id)
    target = datasets.templates.get(target_id) or derived_template(
        source, target_id, frequency, method
    )
    return resample_dataset(
        Resampling(datasets.store(source), datasets.store(target), frequency, method, start, end),
        job=job,
        on_progress=on_progress,
        commits=datasets.commits,
    )


def _resampled_id(
    datasets: Datasets, source: DatasetTemplate, frequency: str, method: str, dataset_id: str | None
) -> str:
    """The id of the dataset a resample writes, refused unless a template of that id (if any)
    is derived from ``source`` in periods of ``frequency``."""
    kind = resampled_period_type(frequency, source)
    target_id = dataset_id or f"{source.id}-{method}-{frequency}"
    target = datasets.templates.get(target_id)
    if target is None:
        return target_id
    if target.sync_kind != "derived" or target.source_dataset != source.id:
        raise PermanentError(f"dataset_id: dataset {target_id} is not derived from {source.id}")
    if target.period_type != kind:
        raise PermanentError(
            f"frequency: dataset {target_id} holds {target.period_type} periods; "
            f"{frequency} gives {kind}"
        )
    return target_id


def estimate_resample(
    datasets: Datasets,
    source_dataset_id: str,
    frequency: str,
    method: str,
    start: str | None = None,
    end: str | None = None,
    dataset_id: str | None = None,
    *,
    size_only: bool = False,
    pinned_snapshots: dict[str, str] | None = None,
) -> dict:
    """The dataset a resample writes, once its inputs are checked against the templates and
    what the source stores (a resample plans no figures yet: ``size_only`` changes nothing);
    for a rerun, what the source stored at the snapshot it is pinned to (SnapshotGone)."""
    source = datasets.template(source_dataset_id)
    target_id = _resampled_id(datasets, source, frequency, method, dataset_id)
    stored = datasets.stored(source, (pinned_snapshots or {}).get(source.id))
    if stored is None or stored.empty:
        raise nothing_stored(source, "source_dataset_id")
    return {"dataset_id": target_id}


def _store_quicklook(settings: ExecutorSettings, look: Any) -> None:
    from .quicklook import NatsShelf

    NatsShelf(settings).put(look)


def _import_the_work_in_the_background() -> None:
    """Import the store and the estimates on a thread, so the first size check of a sync,
    which reads the store, is not refused for want of time while Icechunk imports."""

    def work() -> None:
        from . import estimate, store  # noqa: F401

    Thread(target=work, name="import-datasets", daemon=True).start()


def labelled(titles: dict[str, str], **schema: Any) -> dict[str, Any]:
    """A string schema of the values ``titles`` names, each titled the JSON Schema way (a
    ``oneOf`` of one-value branches beside the ``enum``: valid against the OGC schemas)."""
    return {
        "type": "string",
        "enum": list(titles),
        "oneOf": [{"enum": [value], "title": title} for value, title in titles.items()],
        **schema,
    }


def _offline_first(templates: list[DatasetTemplate]) -> str | None:
    """The first of ``templates`` whose data needs no network; None when none is."""
    offline = (t.id for t in templates if t.source and t.source.plugin in OFFLINE_PLUGINS)
    return next(offline, None)


def _dataset_input(datasets: Datasets, kind: str | None) -> InputDescription:
    templates = sorted(
        (t for t in datasets.templates.values() if kind in (None, t.sync_kind)),
        key=lambda t: t.id,
    )
    default = _offline_first(templates)
    return InputDescription(
        title="Dataset",
        description="The id of a dataset template: "
        + ", ".join(f"`{t.id}`" for t in templates)
        + (f". `{default}` needs no network." if default else "."),
        schema=labelled(
            {t.id: t.name for t in templates}, **({"default": default} if default else {})
        ),
    )


_PERIOD_FORMS = (
    " A date such as `2020-01-31` names the period that contains it; `2020-01` and `2020` "
    "stand for their first day, `2020-01-31T06` for an hour."
)


def _period_input(title: str, description: str, required: bool = True) -> InputDescription:
    # No format "date": a year, a month or an hour is a period too. Forms offer a date picker
    # for the example's form (html_pages.forms).
    return InputDescription(
        title=title,
        description=description + _PERIOD_FORMS,
        minOccurs=1 if required else 0,
        schema={
            "type": "string",
            "pattern": PERIOD_PATTERN,
            # Said instead of the pattern when a value does not match it.
            "description": "a date as YYYY-MM-DD, or its year or month (YYYY, YYYY-MM), or "
            "a date and hour as YYYY-MM-DDThh",
            "example": "2020-01-31",
        },
    )


# Seconds one attempt of an ingest may run: a week, where other processes get a day.
INGEST_MAX_RUNTIME = 7 * 86_400.0

# One job at a time writes a dataset: the others wait for it out of any executor's slot (the
# dataset's lease still fences the writer). Jobs from one provider share its limit, which
# operators set per provider (JOBSTREAM_CONCURRENCY='{"provider:cds": 2}').
ONE_WRITER = ConcurrencyLimit(key="dataset:{dataset_id}", max=1)
PROVIDER_QUOTA = ConcurrencyLimit(key="provider:{provider}", max=2)


def _provider_of(datasets: "Datasets", inputs: dict[str, Any]) -> dict[str, str]:
    template = datasets.templates.get(str(inputs.get("dataset_id")))
    source = template.source if template is not None else None
    return {"provider": source.provider} if source and source.provider else {}


def _resampled_of(inputs: dict[str, Any]) -> dict[str, str]:
    # The dataset a resample writes when no dataset_id is given (see _resampled_id).
    if inputs.get("dataset_id"):
        return {}
    method, frequency = inputs.get("method", "mean"), inputs.get("frequency", "MS")
    return {"dataset_id": f"{inputs.get('source_dataset_id')}-{method}-{frequency}"}


_RESULT = {"result": OutputDescription(title="Result", schema={"type": "object"})}


def processes(settings: ExecutorSettings) -> list[Process]:
    datasets = Datasets(
        load_templates(settings.plugins_dir),
        settings.datasets_location,
        Limits.of(settings),
        settings.estimate_budget,
        partial(_store_quicklook, settings),
    )
    _import_the_work_in_the_background()
    ingest_description = ProcessDescription(
        id="ingest",
        version=VERSION,
        # Data jobs write shared datasets: operators only, by default.
        role=Role.OPERATOR,
        title="Ingest a dataset",
        description="Fetches the periods from `start` to `end` (inclusive) of a dataset into its "
        "Icechunk repository, skipping periods already stored, committing in batches.",
        keywords=["data", "icechunk"],
        # A backfill of decades runs for days; one stopped resumes where it committed.
        maxRuntime=INGEST_MAX_RUNTIME,
        concurrency=[ONE_WRITER, PROVIDER_QUOTA],
        # Backfills of years wait for everything else.
        priority=Priority.LOW,
        inputs={
            "dataset_id": _dataset_input(datasets, "source"),
            "start": _period_input("Start", "The first period to fetch."),
            "end": _period_input("End", "The last period to fetch, inclusive."),
            "bbox": InputDescription(
                title="Bounding box",
                minOccurs=0,
                description="[west, south, east, north]; the template's extent when absent.",
                schema={"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
            ),
            "overwrite": InputDescription(
                title="Overwrite",
                minOccurs=0,
                description="Fetch and write periods even if they are stored.",
                schema={"type": "boolean", "default": False},
            ),
        },
        outputs=_RESULT,
    )
    sync_description = ProcessDescription(
        id="sync",
        version=VERSION,
        # Data jobs write shared datasets: operators only, by default.
        role=Role.OPERATOR,
        title="Sync a dataset",
        description="Appends the periods published since the last stored one, up to the newest "
        "available (or `end`). `plan_only` answers with the plan and fetches nothing.",
        keywords=["data", "icechunk"],
        concurrency=[ONE_WRITER, PROVIDER_QUOTA],
        inputs={
            "dataset_id": _dataset_input(datasets, "source"),
            "end": _period_input(
                "End", "Stop at this period rather than the newest available.", required=False
            ),
            "plan_only": InputDescription(
                title="Plan only", minOccurs=0, schema={"type": "boolean", "default": False}
            ),
        },
        outputs=_RESULT,
    )
    resample_description = ProcessDescription(
        id="resample",
        version=VERSION,
        # Data jobs write shared datasets: operators only, by default.
        role=Role.OPERATOR,
        title="Resample a dataset",
        description="Computes a derived dataset of coarser periods (`frequency`, a pandas "
        "alias) by `method` over each period's source periods. Periods the source does not "
        "hold completely are dropped and reported. Writes the derived dataset `dataset_id` "
        "(default `<source>-<method>-<frequency>`).",
        keywords=["data", "icechunk", "derived"],
        concurrency=[ONE_WRITER],
        inputs={
            "source_dataset_id": _dataset_input(datasets, None),
            "frequency": InputDescription(
                title="Frequency",
                description="The output periods' length, coarser than the source's.",
                # Monthly means: coarser than every built-in source, the usual first try.
                schema=labelled(FREQUENCY_TITLES, default="MS"),
            ),
            "method": InputDescription(
                title="Method",
                schema={"type": "string", "enum": list(METHODS), "default": "mean"},
            ),
            "start": _period_input("Start", "First output period.", required=False),
            "end": _period_input("End", "Last output period, inclusive.", required=False),
            "dataset_id": InputDescription(
                title="Derived dataset",
                minOccurs=0,
                description="The dataset to write: a derived template's id, or a new id.",
                schema={
                    "type": "string",
                    "pattern": PROCESS_ID_PATTERN,
                    "description": "an id of letters, digits, '-' and '_', at most 64, "
                    "starting with a letter or digit",
                    "example": "synthetic-daily-mean-MS",
                },
            ),
        },
        outputs=_RESULT,
    )
    templates: dict[str, dict[str, Message]] = {
        DATASET_REGISTRY_BUCKET: {
            template.id: template.announcement() for template in datasets.templates.values()
        }
    }
    return [
        Process(
            ingest_description,
            partial(ingest, datasets),
            announces=templates,
            estimate=partial(estimate, datasets),
            labels=partial(_provider_of, datasets),
        ),
        Process(
            sync_description,
            partial(sync, datasets),
            estimate=partial(estimate_sync, datasets),
            labels=partial(_provider_of, datasets),
        ),
        Process(
            resample_description,
            partial(resample, datasets),
            estimate=partial(estimate_resample, datasets),
            labels=_resampled_of,
        ),
    ]
