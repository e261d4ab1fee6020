"""The talk's provenance panel and pacing in headless Chromium, folder and one-file deck.

On the slide "Really?" (a figure and numbers from scripts/dnn_with_noise.py), P opens
the panel, which names the script and lines and the exact value; hovering the number
shows its source key and value; the speaker view (S) shows the pacing timer and the
same sources below the notes. No request leaves file:, data:, blob: or about:.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from headless_chromium import chromium, open_deck

from talkbuild.build import PROJECT, BuildConfig, build

pytestmark = pytest.mark.browser

SLIDE = "Really?"  # the slide under test: its figure and its numbers
FIGURE = "dnn-with-noise.svg"
NUMBER = "dnn_with_noise.main.rmse"
SCRIPT = "scripts/dnn_with_noise.py"
OFFLINE_SCHEMES = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module", params=["folder", "one-file"])
def talk(request, regenerated_figures, tmp_path_factory) -> tuple[Path, dict]:
    """The talk's page, and the provenance.json of the folder deck."""
    folder = tmp_path_factory.mktemp("provenance") / "deck"
    build(BuildConfig(source=PROJECT / "slides", output=folder, figures=False))
    data = json.loads((folder / "provenance.json").read_text(encoding="utf-8"))
    if request.param == "folder":
        return folder / "index.html", data
    one_file = folder.parent / "deck.html"
    build(
        BuildConfig(source=PROJECT / "slides", output=one_file, figures=False, self_contained=True)
    )
    return one_file, data


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("profile")) as context:
        yield context


@pytest.fixture(scope="module")
def page(browser, talk):
    browser.requests.clear()
    browser.errors.clear()
    page = open_deck(browser, talk[0])
    page.evaluate("Reveal.configure({transition: 'none'})")
    h = page.evaluate(
        """(title) => Reveal.getHorizontalSlides().findIndex((s) =>
            [...s.querySelectorAll('h1, h2')].some((h) => h.textContent.trim() === title))""",
        SLIDE,
    )
    assert h >= 0, f"no slide '{SLIDE}' in the talk"
    page.evaluate(f"Reveal.slide({h}, 0)")
    return page


def rmse(results) -> float:
    return results("dnn_with_noise")["main"]["rmse"]


def test_p_opens_the_panel_with_the_figures_script_and_lines(page, talk):
    _, data = talk
    figure = next(e for e in data["entries"] if e["source"] == FIGURE)
    assert page.is_hidden(".talk-provenance")
    page.keyboard.press("p")
    panel = page.locator(".talk-provenance")
    assert panel.is_visible()
    item = panel.locator(f'li.talk-provenance-figure[data-source="{FIGURE}"]')
    first, last = figure["lines"]
    assert f"{SCRIPT} lines {first}\u2013{last}" in item.inner_text()
    # The lines are the function that drew the figure.
    source = (PROJECT / SCRIPT).read_text(encoding="utf-8").splitlines()
    assert source[first - 1].startswith(f"def {figure['function']}(")
    page.keyboard.press("p")
    assert page.is_hidden(".talk-provenance")


def test_the_panel_shows_the_number_with_its_exact_value(page, results):
    page.keyboard.press("p")
    item = page.locator(f'li.talk-provenance-number[data-source="{NUMBER}"]').first
    text = item.inner_text()
    assert f"{rmse(results):.3f} = {NUMBER} = {rmse(results)!r}" in text
    assert SCRIPT in text
    page.keyboard.press("p")


def test_hovering_a_number_shows_its_source_and_exact_value(page, results):
    number = page.locator(f'.present .talk-value[data-source="{NUMBER}"]').first
    assert number.inner_text() == f"{rmse(results):.3f}"
    number.hover()
    tooltip = page.locator(".talk-provenance-tooltip")
    assert tooltip.is_visible()
    assert tooltip.inner_text() == f"{NUMBER} = {rmse(results)!r}"
    page.mouse.move(1, 1)


def test_the_speaker_view_shows_the_pacing_timer_and_the_sources(page, talk):
    with page.expect_popup() as opened:
        page.keyboard.press("s")
    speaker = opened.value
    try:
        speaker.wait_for_function(
            """() => {
                const pacing = document.querySelector('.speaker-controls-time .pacing');
                return pacing && getComputedStyle(pacing).display !== 'none'
                    && /ahead|on-track|behind/.test(pacing.className);
            }""",
            timeout=15_000,
        )
        speaker.wait_for_function(
            "document.querySelector('.speaker-controls-notes .value').textContent.includes("
            f"{json.dumps(SCRIPT)})",
            timeout=15_000,
        )
        notes = speaker.inner_text(".speaker-controls-notes .value")
        assert "Sources" in notes and NUMBER in notes
    finally:
        speaker.close()


def test_nothing_is_requested_from_the_network(page, browser):
    leaving = [url for url in browser.requests if not url.startswith(OFFLINE_SCHEMES)]
    assert leaving == []
    assert browser.errors == []
