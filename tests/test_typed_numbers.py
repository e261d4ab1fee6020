"""No number that a script sets is typed into the talk: change it, rebuild, look.

In a scratch copy of the repository, scripts/least_squares.py gets 17 coefficients
instead of 20 and 19 noise draws instead of 20. After running that script and
rebuilding the deck, the old value is nowhere in the deck: not in the slides, the
speaker notes, the alt text of a figure or the code shown from the script, as a
number or as a word. The values of other scripts' placeholders are left out of the
search (they come from a script, whatever they are: the overfitting experiment
has 20 data sets too). least_squares.py is the cheapest experiment (no network to
train).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deck_fixtures import slides_markup

from talkbuild.build import PROJECT, BuildConfig, build
from talkbuild.results import Results

OLD = re.compile(r"(?<![\w.,])20(?![\w.,])|\btwenty\b", re.IGNORECASE)
CHANGES = {
    "COEFFICIENTS = 20 ": "COEFFICIENTS = 17 ",
    "SEEDS = range(20) ": "SEEDS = range(19) ",
}


def deck_text(page: str) -> str:
    """What the deck shows or says: the slides' text, notes and alt text, no markup."""
    markup = slides_markup(page)
    alts = " ".join(html.unescape(alt) for alt in re.findall(r'\balt="([^"]*)"', markup))
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup)) + " " + alts
    return " ".join(text.split())  # one space between words, whatever markup stood there


def scratch_copy(base: Path) -> Path:
    """slides/, scripts/ and the figures of the repository; node_modules linked."""
    root = base / "repo"
    ignore = shutil.ignore_patterns("__pycache__", ".cache")
    for folder in ("slides", "scripts", "figures"):
        shutil.copytree(PROJECT / folder, root / folder, ignore=ignore)
    (root / "node_modules").symlink_to(PROJECT / "node_modules")
    return root


def build_deck(root: Path, out: Path) -> str:
    """The deck, with every placeholder of another script than least_squares blank."""
    value = Results.value

    def only_least_squares(self, dotted: str, spec: str | None = None) -> str:
        return value(self, dotted, spec) if dotted.startswith("least_squares.") else "(...)"

    Results.value = only_least_squares
    try:
        build(BuildConfig(source=root / "slides", output=out, project=root, figures=False))
    finally:
        Results.value = value
    return (out / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def scratch(regenerated_figures, tmp_path_factory) -> Path:
    return scratch_copy(tmp_path_factory.mktemp("typed"))


@pytest.fixture(scope="module")
def before(scratch) -> str:
    return deck_text(build_deck(scratch, scratch.parent / "before"))


@pytest.fixture(scope="module")
def after(scratch, before) -> str:
    script = scratch / "scripts" / "least_squares.py"
    text = script.read_text(encoding="utf-8")
    for old, new in CHANGES.items():
        assert text.count(old) == 1, f"{old!r} is no longer in least_squares.py"
        text = text.replace(old, new)
    script.write_text(text, encoding="utf-8")
    subprocess.run(
        [sys.executable, str(script)], check=True, capture_output=True, cwd=scratch.parent
    )
    return deck_text(build_deck(scratch, scratch.parent / "after"))


def in_context(text: str, match: re.Match) -> str:
    return text[max(0, match.start() - 60) : match.end() + 60].replace("\n", " ")


def test_the_old_value_is_in_the_deck_before_the_change(before):
    assert len(OLD.findall(before)) >= 10


def test_no_place_in_the_deck_shows_the_old_value_after_the_change(after):
    stale = [in_context(after, match) for match in OLD.finditer(after)]
    assert not stale, "typed numbers:\n" + "\n".join(stale)


def test_the_new_values_are_shown(after):
    assert re.search(r"\b17 coefficients\b", after)
    assert re.search(r"\b19 noise draws\b", after)
