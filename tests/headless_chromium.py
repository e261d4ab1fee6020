"""Headless Chromium for the browser tests (imported, not a conftest).

Debian's /usr/bin/chromium through Playwright (never `playwright install`), with
a fresh profile and nothing that phones home. The context records every request
(`context.requests`) and every console error or uncaught exception of its pages
(`context.errors`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 720}
READY_TIMEOUT = 10_000  # ms for reveal.js (and its plugins: KaTeX, highlighting) to start


@contextmanager
def chromium(profile: Path, viewport: dict = VIEWPORT) -> Iterator:
    """A Chromium context with a fresh profile, recording requests and console errors."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=viewport,
        )
        context.requests, context.errors = [], []
        context.on("request", lambda request: context.requests.append(request.url))
        context.on("page", lambda page: watch(page, context.errors))
        try:
            yield context
        finally:
            context.close()


def watch(page, errors: list[str]) -> None:
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))


def open_deck(context, index: Path):
    """A new page showing the deck, once reveal.js is ready."""
    page = context.new_page()
    page.goto(index.as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=READY_TIMEOUT)
    return page
