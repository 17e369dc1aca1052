"""Finding a Chromium to drive: Debian's package (what CI installs), or one Playwright
installed (`.venv/bin/playwright install chromium`, on a machine with internet)."""

import os
import shutil
from pathlib import Path

import pytest

# Debian's /usr/bin/chromium is a shell wrapper; the binary itself takes Playwright's flags.
_CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser")


def _installed_by_playwright() -> str | None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = playwright.chromium.executable_path
    return path if Path(path).is_file() else None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    for candidate in (os.environ.get("JOBSTREAM_TEST_CHROMIUM"), *_CANDIDATES):
        if candidate and (found := shutil.which(candidate)):
            return found
    if found := _installed_by_playwright():
        return found
    message = "no Chromium: `apt install chromium`, or `.venv/bin/playwright install chromium`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
