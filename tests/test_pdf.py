"""`python -m talkbuild.pdf`: the deck printed through headless Chromium.

The browser fixture deck has 5 slides; its code block has 2 line-highlight steps
and its last slide 2 list fragments; 2 slides have speaker notes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deck_fixtures import FIXTURES

from talkbuild.pdf import main as print_pdf

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
DECK = FIXTURES / "browser" / "deck.md"
SLIDES, STEPS, SLIDES_WITH_NOTES = 5, 4, 2


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pdf") / "deck"
    subprocess.run([sys.executable, str(ROOT / "build.py"), str(DECK), "-o", str(out),
                    "--no-figures"], check=True, capture_output=True)
    return out / "index.html"


def printed(deck: Path, *options: str) -> tuple[int, str]:
    """(page count, text) of the deck printed with these options."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: `make test` installs poppler-utils", pytrace=False)
    pdf = deck.parent.parent / "deck.pdf"
    assert print_pdf([str(deck), "-o", str(pdf), *options]) == 0
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    pages = int(next(line.split()[1] for line in info.stdout.splitlines()
                     if line.startswith("Pages:")))
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return pages, " ".join(text.split())


def test_one_page_per_slide_with_text_and_typeset_math(deck):
    pages, text = printed(deck)
    assert pages == SLIDES
    assert "browser test deck" in text.lower()  # the theme sets headings in capitals
    assert "∑" in text and "α = 0.08" in text  # KaTeX's glyphs, not the TeX source
    assert "\\alpha" not in text


def test_fragments_on_separate_pages(deck):
    pages, _ = printed(deck, "--fragments")
    assert pages == SLIDES + STEPS


def test_speaker_notes_on_pages_of_their_own(deck):
    pages, text = printed(deck, "--notes")
    assert pages == SLIDES + SLIDES_WITH_NOTES
    assert "Speaker notes on the title slide." in text


def test_a_missing_deck_is_an_error(tmp_path, capsys):
    assert print_pdf([str(tmp_path / "index.html"), "-o", str(tmp_path / "deck.pdf")]) == 1
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "deck.pdf").exists()
