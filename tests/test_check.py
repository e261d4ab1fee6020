"""The deck check (`build.py --check`): decks with known mistakes, each found once.

tests/fixtures/check/deck.md has one slide that is too long, one figure whose text
figkit recorded as 6 pt (drawn far below the smallest text allowed) and one image
without alternative text; more.md a mistake of each other kind. The talk itself
must pass: tests/test_talk_browser.py.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from deck_fixtures import FIXTURES

from talkbuild.check import read_figure_text

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
DECK = FIXTURES / "check" / "deck.md"
MORE = FIXTURES / "check" / "more.md"


def line_of(text: str, source: Path = DECK) -> int:
    return source.read_text(encoding="utf-8").split("\n").index(text) + 1


def run_check(deck: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "build.py"), str(deck), "-o", str(out), "--no-figures"]
        + ["--check", *options],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> subprocess.CompletedProcess:
    return run_check(DECK, tmp_path_factory.mktemp("check") / "deck")


@pytest.fixture(scope="module")
def more(tmp_path_factory) -> subprocess.CompletedProcess:
    return run_check(MORE, tmp_path_factory.mktemp("more") / "deck")


def findings(result: subprocess.CompletedProcess, deck: Path = DECK) -> list[str]:
    """The findings, without the build's warnings."""
    shown = str(deck.relative_to(ROOT))
    return [
        line
        for line in result.stderr.splitlines()
        if line.startswith(shown + ":") and ": warning: " not in line
    ]


def test_a_deck_with_findings_exits_1(checked):
    assert checked.returncode == 1, checked.stderr


def test_each_mistake_is_found_once_at_its_slide(checked):
    shown = str(DECK.relative_to(ROOT))
    found = findings(checked)
    assert len(found) == 3, "\n".join(found)
    overflow, figure, alt = found
    assert overflow.startswith(f"{shown}:{line_of('## A slide that is too long')}: <ul>")
    assert "overflows the slide" in overflow and "past the bottom" in overflow
    assert figure.startswith(f"{shown}:{line_of('## A figure with tiny text')}: text too small")
    assert "6 pt font is drawn 8.0 px high" in figure
    assert alt == (
        f"{shown}:{line_of('## An image without alternative text')}: "
        "image 'media/square.svg' has no alternative text (axe image-alt)"
    )


def test_the_one_file_deck_has_the_same_findings(checked, tmp_path):
    one_file = run_check(DECK, tmp_path / "deck.html", "--self-contained")
    assert one_file.returncode == 1
    where = [line.split(": ", 1)[0] for line in findings(one_file)]
    assert where == [line.split(": ", 1)[0] for line in findings(checked)]
    assert "figure 'data:image/svg+xml;base64,...': its 6 pt font" in one_file.stderr


def test_the_summary_counts_slides_steps_and_findings(checked):
    assert "checked 4 slides, 4 steps" in checked.stderr
    assert checked.stderr.rstrip().endswith("3 findings")


def test_every_other_kind_of_mistake_is_found_at_its_slide(more):
    shown = str(MORE.relative_to(ROOT))

    def at(heading: str) -> str:
        return f"{shown}:{line_of(heading, MORE)}: "

    assert more.returncode == 1
    assert findings(more, MORE) == [
        f"{shown}: console error: the slide's script failed",
        at("## A remote picture") + "request leaves the deck: https://example.com/picture.png",
        at("## A remote picture") + "image 'https://example.com/picture.png' did not load",
        at("## Small print") + "text too small: 12.0 px high (at least 20 px on this 720 px "
        'slide): <p> "This line is 12 px high: nobody at the back reads "',
        at("## Pale text") + 'contrast below WCAG AA: <p> "Light grey on white is below WCAG '
        'AA.": Element has insufficient color contrast of 1.67 (foreground color: #c8c8c8, '
        "background color: #ffffff, font size: 31.5pt (42px), font weight: normal). "
        "Expected contrast ratio of 3:1",
        at("## Under the arrows") + '<p> "In the corner" lies under the navigation controls',
        at("## A script that fails") + "TeX left as text: $x^2$",
    ]


def test_figkit_records_the_font_sizes_of_a_figure(tmp_path, monkeypatch):
    import figkit.plot

    monkeypatch.setattr(figkit.plot, "FIGURES", tmp_path)
    figkit.plot.use_style()
    fig, ax = figkit.plot.plt.subplots(figsize=figkit.plot.HALF)
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set_xlabel("x", fontsize=13)
    ax.legend(fontsize=17)
    path = figkit.plot.save_figure(fig, "recorded")
    record = read_figure_text(path.as_uri())
    assert min(record.sizes_pt) == 13
    assert 17 in record.sizes_pt
    width = re.search(r'<svg [^>]*?width="([0-9.]+)pt"', path.read_text(encoding="utf-8"))
    assert record.width_pt == pytest.approx(float(width.group(1)))
