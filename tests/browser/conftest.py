"""Finding a Chromium to drive: Debian's package (what CI installs), or one Playwright
installed (`.venv/bin/playwright install chromium`, on a machine with internet); the browser
and watched page every page test uses, and its checks (valid HTML, screenshots).

A test module brings the running ``stack`` the page is opened on."""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import html5lib
import pytest
from playwright.sync_api import Browser, Page, Request, sync_playwright

from ..support.stack import ROOT, Stack

SCREENSHOTS = ROOT / "test-artifacts" / "pages"

# Debian's /usr/bin/chromium is a shell wrapper; the binary itself takes Playwright's flags.
_CANDIDATES = ("/usr/lib/chromium/chromium", "chromium", "chromium-browser")


def _installed_by_playwright() -> str | None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = playwright.chromium.executable_path
    return path if Path(path).is_file() else None


def find_chromium() -> str | None:
    for candidate in (os.environ.get("JOBSTREAM_TEST_CHROMIUM"), *_CANDIDATES):
        if candidate and (found := shutil.which(candidate)):
            return found
    return _installed_by_playwright()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if found := find_chromium():
        return found
    message = "no Chromium: `apt install chromium`, or `.venv/bin/playwright install chromium`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Watched:
    """What a page did that it should not: console errors, page errors, foreign requests."""

    problems: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser(chromium_path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path)
        yield launched
        launched.close()


def _watch_errors(page: Page, watched: Watched) -> None:
    page.on(
        "console",
        lambda m: watched.problems.append(f"console: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda exc: watched.problems.append(f"page error: {exc}"))


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[tuple[Page, Watched]]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    opened = context.new_page()
    watched = Watched()
    own = urlsplit(stack.url).netloc

    def only_the_gateway(route, request: Request) -> None:
        if urlsplit(request.url).netloc == own:
            route.continue_()
        else:
            watched.problems.append(f"request to {request.url}")
            route.abort()

    context.route("**/*", only_the_gateway)
    _watch_errors(opened, watched)
    yield opened, watched
    context.close()
    assert not watched.problems, watched.problems


@pytest.fixture
def cached_page(browser: Browser, stack: Stack) -> Iterator[tuple[Page, Watched]]:
    """A page whose browser context keeps its HTTP cache on, as a person's browser does:
    no request is routed (routing turns the cache off), requests elsewhere are only seen."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    opened = context.new_page()
    watched = Watched()
    own = urlsplit(stack.url).netloc
    opened.on(
        "request",
        lambda r: (
            None
            if urlsplit(r.url).netloc == own
            else watched.problems.append(f"request to {r.url}")
        ),
    )
    _watch_errors(opened, watched)
    yield opened, watched
    context.close()
    assert not watched.problems, watched.problems


def valid_html(page: Page) -> None:
    # The WHATWG parsing algorithm in strict mode raises at the first parse error.
    html5lib.HTMLParser(strict=True).parse(page.content())


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
