"""Screenshots of the pages a person meets, for review: before and after a change to them.

    .venv/bin/python -m tests.browser.screenshots OUTDIR

Starts a stack of its own (embedded nats-server, free ports, a temporary folder) serving the
data processes on the test templates, runs a synthetic ingest to its end, a job that fails and
a count job that is still running when it is shot, and saves PNGs through Chromium: each page
at 1280 px wide (viewport-sized; the finished ingest's job page whole), the landing and a job
page at 390 px.
"""

import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from ..support.datasets import DATA_SETTINGS
from ..support.stack import Stack, own_server_stack
from ..support.waiting import eventually
from .conftest import find_chromium

DESKTOP = ViewportSize(width=1280, height=800)
PHONE = ViewportSize(width=390, height=844)
INGEST = {"dataset_id": "demo", "start": "2020-01-01", "end": "2020-12-31"}


def finished_ingest(stack: Stack) -> str:
    job = stack.submit("ingest", INGEST)
    assert stack.wait_view(job, timeout=120)["status"] == "successful"
    return job


def failed_job(stack: Stack) -> str:
    """A job that fails, for the job list to show."""
    job = stack.submit("fail", {"message": "the source answered 503"})
    assert stack.wait_view(job)["status"] == "failed"
    return job


def running_count(stack: Stack) -> str:
    """A count job that has made some progress and has a good while left to run."""
    job = stack.submit("count", {"n": 600, "interval": 0.1})

    def progressed() -> bool:
        return (stack.http.get(f"/jobs/{job}").json().get("progress") or 0) >= 3

    eventually(progressed, 60, f"progress of job {job}")
    return job


def shoot(browser: Browser, url: str, path: Path, viewport: ViewportSize, full_page: bool = False):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.goto(url)
    page.wait_for_load_state()
    _settle(page)
    page.screenshot(path=str(path), full_page=full_page)
    context.close()
    compact(path, colours=16 if full_page else 64)


def compact(path: Path, colours: int) -> None:
    """The PNG with a palette of ``colours``: a tenth of the bytes, the text as legible
    (16 suffice for a long page of text; the quick-look's colour ramp wants more)."""
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colours)
    small.save(path, optimize=True)


def _settle(page: Page) -> None:
    """Until every image on the page has loaded (the dataset page's quick-look)."""
    page.wait_for_function("[...document.images].every(img => img.complete)")


def shots(ingest: str, running: str) -> dict[str, tuple[str, ViewportSize, bool]]:
    """Each picture's name: the page's path, the viewport, and whether the whole page."""
    return {
        "landing": ("/", DESKTOP, False),
        "processes": ("/processes", DESKTOP, False),
        "process-ingest": ("/processes/ingest", DESKTOP, False),
        "job-running": (f"/jobs/{running}", DESKTOP, False),
        "job-finished-ingest": (f"/jobs/{ingest}", DESKTOP, True),
        "results-ingest": (f"/jobs/{ingest}/results", DESKTOP, False),
        "jobs": ("/jobs", DESKTOP, False),
        "datasets": ("/datasets", DESKTOP, False),
        "dataset": ("/datasets/demo", DESKTOP, False),
        "landing-phone": ("/", PHONE, False),
        "job-running-phone": (f"/jobs/{running}", PHONE, False),
    }


def main(outdir: Path) -> None:
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no Chromium: `apt install chromium`")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="jobstream-shots-") as folder:
        with own_server_stack(Path(folder), progress_interval=0.1, **DATA_SETTINGS) as stack:
            stack.start(wait=False)
            stack.wait_ready(("ingest", "count"))
            ingest = finished_ingest(stack)
            failed_job(stack)
            running = running_count(stack)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium)
                for name, (path, viewport, whole) in shots(ingest, running).items():
                    shoot(browser, stack.url + path, outdir / f"{name}.png", viewport, whole)
                    print(f"{name}.png")
                browser.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m tests.browser.screenshots OUTDIR")
    main(Path(sys.argv[1]))
