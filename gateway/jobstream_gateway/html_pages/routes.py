"""Which paths have a page, its template, and the further JSON a page shows."""

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Page:
    pattern: re.Pattern[str]
    template: str
    # Further resources the page shows, by name: a path template filled from the match.
    more: dict[str, str] = field(default_factory=dict)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def _page(path: str, template: str, **more: str) -> Page:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return Page(re.compile(regex), template, more)


PAGES = (
    _page("/", "landing.html", processes="/processes", jobs="/jobs?limit=5", datasets="/datasets"),
    _page("/conformance", "conformance.html"),
    _page("/processes", "processes.html"),
    _page("/processes/{process_id}", "process.html"),
    _page("/jobs", "jobs.html"),
    _page("/queue", "queue.html"),
    _page("/jobs/{job_id}", "job.html", history="/jobs/{job_id}/events?limit=1000"),
    _page("/jobs/{job_id}/results", "results.html"),
    _page("/datasets", "datasets.html"),
    _page("/datasets/{dataset_id}", "dataset.html", quicklook="/datasets/{dataset_id}/quicklook"),
)


def page_for(path: str) -> tuple[Page, dict[str, str]] | None:
    for page in PAGES:
        if (parameters := page.match(path)) is not None:
            return page, parameters
    return None
