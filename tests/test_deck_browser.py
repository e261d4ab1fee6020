"""The built deck in headless Chromium, opened from file:// as a presenter would.

Uses Debian's /usr/bin/chromium through Playwright (never `playwright install`),
with a fresh profile. Every test runs on the deck folder and on the one-file
deck (`--self-contained`). Every request the page makes is recorded: anything but
file:, data:, blob: or about: means the deck is not offline; the one-file deck
may not even load another file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from deck_fixtures import FIXTURES
from headless_chromium import chromium, open_deck

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
DECK = FIXTURES / "browser" / "deck.md"
OFFLINE_SCHEMES = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module", params=["folder", "one-file"])
def built(request, tmp_path_factory) -> Path:
    """The deck's page: build/deck/index.html, or the one-file deck.html."""
    one_file = request.param == "one-file"
    out = tmp_path_factory.mktemp("browser") / ("deck.html" if one_file else "deck")
    subprocess.run(
        [sys.executable, str(ROOT / "build.py"), str(DECK), "-o", str(out), "--no-figures"]
        + ["--self-contained"] * one_file,
        check=True,
        capture_output=True,
    )
    return out if one_file else out / "index.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """A Chromium context with a fresh profile, recording requests and console errors."""
    with chromium(tmp_path_factory.mktemp("profile")) as context:
        yield context


@pytest.fixture(scope="module")
def page(browser, built):
    browser.requests.clear()  # each deck's requests and errors are its own
    browser.errors.clear()
    return open_deck(browser, built)


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
    assert [n.strip() for n in notes] == [
        "Speaker notes on the title slide.",
        "Notes of the stack's first slide.",
    ]
    assert (
        page.evaluate("Reveal.getSlideNotes(Reveal.getSlide(0))")
        .strip()
        .startswith("<p>Speaker notes")
    )


def test_the_speaker_view_shows_notes_timer_and_upcoming_slide(page, browser):
    page.evaluate("Reveal.slide(0, 0)")
    with browser.expect_page() as popup:
        page.keyboard.press("s")
    speaker = popup.value
    speaker.wait_for_function(
        "document.querySelector('.speaker-controls-notes .value')?.textContent.trim()",
        timeout=10_000,
    )
    assert "Speaker notes on the title slide." in speaker.inner_text(".speaker-controls-notes")
    assert speaker.locator(".speaker-controls-time").count() == 1
    # The upcoming slide is the deck itself in an iframe, one step ahead.
    upcoming = speaker.wait_for_selector("#upcoming-slide iframe").content_frame()
    upcoming.wait_for_function("window.Reveal && Reveal.isReady()", timeout=10_000)
    assert upcoming.evaluate("Reveal.getIndices()")["h"] == 1
    speaker.close()


def test_no_request_leaves_the_deck(page, browser, built):
    assert browser.requests, "no requests recorded"
    if built.name == "index.html":  # the folder: its own files
        offline = [url for url in browser.requests if url.startswith(OFFLINE_SCHEMES)]
    else:  # one file: data: and blob: URLs, and the page itself (the speaker view's iframes)
        offline = [
            url
            for url in browser.requests
            if url.startswith(("data:", "blob:", "about:"))
            or url.split("?")[0].split("#")[0] == built.as_uri()
        ]
    assert [url for url in browser.requests if url not in offline] == []


def test_the_console_shows_no_errors(page, browser):
    assert browser.errors == []
