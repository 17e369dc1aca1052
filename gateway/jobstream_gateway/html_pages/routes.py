"""Which paths have a page, its template, and the further JSON a page shows."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _naming_none(document: Any) -> list[str]:
    return []


@dataclass(frozen=True)
class Page:
    pattern: re.Pattern[str]
    template: str
    # Further resources the page shows, by name: a path template filled from the match.
    more: dict[str, str] = field(default_factory=dict)
    # Resources the document names that the page shows too, as paths: read once the
    # document is (the jobs a schedule's firings made, for their status).
    named: Callable[[Any], list[str]] = _naming_none

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def _page(
    path: str, template: str, named: Callable[[Any], list[str]] = _naming_none, **more: str
) -> Page:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return Page(re.compile(regex), template, more, named)


def _job_of(firing: dict[str, Any]) -> list[str]:
    return [f"/jobs/{firing['jobID']}"] if firing.get("jobID") else []


def _firing_jobs(schedule: dict[str, Any]) -> list[str]:
    """The jobs of a schedule's last firings (the API keeps the latest 20)."""
    return [path for firing in schedule.get("lastFirings") or [] for path in _job_of(firing)]


def _newest_firing_jobs(listed: dict[str, Any]) -> list[str]:
    """The job of each listed schedule's newest firing, when it made one."""
    newest = [(s.get("lastFirings") or [{}])[0] for s in listed.get("schedules") or []]
    return [path for firing in newest for path in _job_of(firing)]


PAGES = (
    _page(
        "/",
        "landing.html",
        processes="/processes",
        jobs="/jobs?limit=5",
        datasets="/datasets",
        schedules="/schedules",
    ),
    _page("/conformance", "conformance.html"),
    _page("/processes", "processes.html"),
    _page("/processes/{process_id}", "process.html"),
    _page("/jobs", "jobs.html"),
    _page("/queue", "queue.html"),
    _page("/jobs/{job_id}", "job.html", history="/jobs/{job_id}/events?limit=1000"),
    _page("/jobs/{job_id}/results", "results.html"),
    _page("/schedules", "schedules.html", named=_newest_firing_jobs),
    _page(
        "/schedules/{schedule_id}",
        "schedule.html",
        named=_firing_jobs,
        history="/schedules/{schedule_id}/events",
    ),
    _page("/datasets", "datasets.html"),
    _page("/datasets/{dataset_id}", "dataset.html", quicklook="/datasets/{dataset_id}/quicklook"),
)


def page_for(path: str) -> tuple[Page, dict[str, str]] | None:
    for page in PAGES:
        if (parameters := page.match(path)) is not None:
            return page, parameters
    return None
