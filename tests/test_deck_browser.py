"""The built deck in headless Chromium, opened from file:// as a presenter would.

Uses Debian's /usr/bin/chromium through Playwright (never `playwright install`),
with a fresh profile. Every request the page makes is recorded: anything but
file:, data:, blob: or about: means the deck is not offline.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from deck_fixtures import FIXTURES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
DECK = FIXTURES / "browser" / "deck.md"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
OFFLINE_SCHEMES = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "deck"
    subprocess.run([sys.executable, str(ROOT / "build.py"), str(DECK), "-o", str(out),
                    "--no-figures"], check=True, capture_output=True)
    return out / "index.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A Chromium context with a fresh profile, recording requests and console errors."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("profile"), executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS, headless=True, viewport={"width": 1280, "height": 720})
        context.requests, context.errors = [], []
        context.on("request", lambda request: context.requests.append(request.url))
        context.on("page", lambda page: _watch(page, context.errors))
        yield context
        context.close()


def _watch(page, errors: list[str]) -> None:
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))


@pytest.fixture(scope="module")
def page(browser, built):
    page = browser.new_page()
    page.goto(built.as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=10_000)
    return page


def test_reveal_reports_every_slide(page):
    assert page.evaluate("Reveal.getTotalSlides()") == 5


def test_vertical_stacks_are_vertical(page):
    stacks = page.evaluate("""Reveal.getHorizontalSlides().map(
        h => h.querySelectorAll(':scope > section').length)""")
    assert stacks == [0, 3, 0]
    page.evaluate("Reveal.slide(1, 0)")
    page.evaluate("Reveal.down()")
    assert page.evaluate("Reveal.getIndices()")["v"] == 1
    page.evaluate("Reveal.slide(0, 0)")


def test_katex_typeset_the_math(page):
    assert page.evaluate("document.querySelectorAll('.math-display .katex-display').length") == 1
    assert page.evaluate("document.querySelectorAll('.math-inline .katex').length") == 2
    assert page.evaluate("document.querySelectorAll('.katex-error').length") == 0


def test_code_is_highlighted_with_line_highlight_steps(page):
    assert page.evaluate("document.querySelectorAll('pre code.hljs .hljs-keyword').length") > 0
    steps = page.evaluate("""[...document.querySelectorAll('pre.code-wrapper code')]
        .map(c => c.getAttribute('data-line-numbers'))""")
    assert steps == ["", "2", "3-4"]


def test_speaker_notes_are_present(page):
    notes = page.evaluate("[...document.querySelectorAll('aside.notes')].map(a => a.textContent)")
    assert [n.strip() for n in notes] == ["Speaker notes on the title slide.",
                                          "Notes of the stack's first slide."]
    assert page.evaluate("Reveal.getSlideNotes(Reveal.getSlide(0))").strip().startswith(
        "<p>Speaker notes")


def test_the_speaker_view_opens_offline(page, browser):
    with browser.expect_page() as popup:
        page.keyboard.press("s")
    speaker = popup.value
    speaker.wait_for_function(
        "document.querySelector('.speaker-controls-notes .value')?.textContent.trim()",
        timeout=10_000)
    assert "Speaker notes on the title slide." in speaker.inner_text(".speaker-controls-notes")
    speaker.close()


def test_no_request_leaves_file_urls(page, browser):
    assert browser.requests, "no requests recorded"
    assert [url for url in browser.requests if not url.startswith(OFFLINE_SCHEMES)] == []


def test_the_console_shows_no_errors(page, browser):
    assert browser.errors == []
