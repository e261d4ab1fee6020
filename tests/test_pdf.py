"""`python -m talkbuild.pdf`: the deck printed through headless Chromium.

The browser fixture deck has 5 slides; its code block has 2 line-highlight steps
and its last slide 2 list fragments; 2 slides have speaker notes. The notes deck
has 2 slides, both with notes: the first a note longer than a page, the last a
short one (after which reveal.js's break after every notes page would add a blank page).
"""

from __future__ import annotations

import re
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
# Far more than a notes page holds at any slide size reveal.js prints.
LONG_NOTE = " ".join(f"Sentence {i} of a note longer than a page." for i in range(1, 201))
NOTES_DECK = f"""# First slide

Note: {LONG_NOTE}

---

# Last slide

Note: Notes of the last slide.
"""


def built(source: Path, out: Path) -> Path:
    """The deck built from `source` into the folder `out`: its index.html."""
    subprocess.run(
        [sys.executable, str(ROOT / "build.py"), str(source), "-o", str(out), "--no-figures"],
        check=True,
        capture_output=True,
    )
    return out / "index.html"


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    return built(DECK, tmp_path_factory.mktemp("pdf") / "deck")


@pytest.fixture(scope="module")
def notes_deck(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("notes")
    (folder / "deck.md").write_text(NOTES_DECK, encoding="utf-8")
    return built(folder / "deck.md", folder / "deck")


def pdf_of(deck: Path) -> Path:
    """Where `printed` writes the PDF of the deck page `deck`."""
    return deck.parent.parent / "deck.pdf"


def printed(deck: Path, *options: str) -> list[str]:
    """The text of each page of the deck printed with these options."""
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: `make test` installs poppler-utils", pytrace=False)
    pdf = pdf_of(deck)
    assert print_pdf([str(deck), "-o", str(pdf), *options]) == 0
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    count = int(
        next(line.split()[1] for line in info.stdout.splitlines() if line.startswith("Pages:"))
    )
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    pages = [" ".join(page.split()) for page in text.split("\f")[:-1]]  # a form feed ends each
    assert len(pages) == count
    return pages


def first_word_tops(pdf: Path) -> list[float | None]:
    """How far below the page's top edge the first word of each page starts (points)."""
    boxes = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    words = [re.search(r'<word [^>]*yMin="([-\d.]+)"', page) for page in boxes.split("<page ")[1:]]
    return [float(word[1]) if word else None for word in words]


def test_one_page_per_slide_with_text_and_typeset_math(deck):
    pages = printed(deck)
    text = " ".join(pages)
    assert len(pages) == SLIDES
    assert "browser test deck" in text.lower()  # the theme sets headings in capitals
    assert "∑" in text and "α = 0.08" in text  # KaTeX's glyphs, not the TeX source
    assert "\\alpha" not in text


def test_fragments_on_separate_pages(deck):
    assert len(printed(deck, "--fragments")) == SLIDES + STEPS


def test_speaker_notes_on_pages_of_their_own(deck):
    pages = printed(deck, "--notes")
    assert len(pages) == SLIDES + SLIDES_WITH_NOTES
    assert "Speaker notes on the title slide." in pages[1]


def test_no_blank_page_after_the_notes_of_the_last_slide(notes_deck):
    pages = printed(notes_deck, "--notes")
    assert "Notes of the last slide." in pages[-1]
    assert all(pages)


def test_a_note_longer_than_a_page_goes_on_over_the_next_pages(notes_deck):
    pages = printed(notes_deck, "--notes")
    last_slide = next(i for i, text in enumerate(pages) if text.lower() == "last slide")
    note_pages = pages[1:last_slide]
    assert len(note_pages) > 1 and all(note_pages)
    assert LONG_NOTE in " ".join(note_pages)  # all of it, nothing cut off
    assert len(pages) == last_slide + 2


def test_every_page_of_a_long_note_keeps_the_notes_padding(notes_deck):
    pages = printed(notes_deck, "--notes")
    last_slide = next(i for i, text in enumerate(pages) if text.lower() == "last slide")
    tops = first_word_tops(pdf_of(notes_deck))
    # The first notes page starts with reveal.js's "Speaker notes" label, inside the padding.
    assert min(tops[2:last_slide]) >= tops[1] - 1


def test_a_missing_deck_is_an_error(tmp_path, capsys):
    assert print_pdf([str(tmp_path / "index.html"), "-o", str(tmp_path / "deck.pdf")]) == 1
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "deck.pdf").exists()
