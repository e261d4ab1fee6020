"""`python -m talkbuild.powerpoint`: the deck as PowerPoint, read back with python-pptx.

The browser fixture deck has 5 slides; its code block has 2 line-highlight steps
and its last slide 2 list fragments; the first two slides have speaker notes.
Its theme is black and it shows no slide number, so the corners of every
picture are background.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from deck_fixtures import FIXTURES
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from talkbuild.powerpoint import GENERATOR, SLIDE_HEIGHT, SLIDE_WIDTH
from talkbuild.powerpoint import main as export

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
DECK = FIXTURES / "browser" / "deck.md"
SLIDES, STEPS = 5, 4
NOTES_DECK = """---
title: Notes deck
author: A. Speaker
---

# Lists and math in notes

Note: Two points, with $\\alpha = 0.1$:

- the first
- the second

1. one
2. two
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
    return built(DECK, tmp_path_factory.mktemp("pptx") / "deck")


@pytest.fixture(scope="module")
def exported(deck) -> Presentation:
    out = deck.parent.parent / "deck.pptx"
    assert export([str(deck), "-o", str(out)]) == 0
    return Presentation(str(out))


@pytest.fixture(scope="module")
def exported_steps(deck) -> Presentation:
    out = deck.parent.parent / "steps.pptx"
    assert export([str(deck), "-o", str(out), "--fragments"]) == 0
    return Presentation(str(out))


@pytest.fixture(scope="module")
def exported_notes(tmp_path_factory) -> Presentation:
    folder = tmp_path_factory.mktemp("notes")
    (folder / "deck.md").write_text(NOTES_DECK, encoding="utf-8")
    out = folder / "notes.pptx"
    assert export([str(built(folder / "deck.md", folder / "deck")), "-o", str(out)]) == 0
    return Presentation(str(out))


def picture(slide):
    """The one shape of the slide, which must be a picture."""
    (shape,) = slide.shapes
    assert shape.shape_type == MSO_SHAPE_TYPE.PICTURE
    return shape


def notes(slide) -> str:
    return slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""


def test_one_slide_per_slide_of_the_deck(exported):
    assert len(exported.slides) == SLIDES


def test_every_slide_is_one_full_slide_picture_at_1920x1080(exported):
    assert (exported.slide_width, exported.slide_height) == (SLIDE_WIDTH, SLIDE_HEIGHT)
    for slide in exported.slides:
        shape = picture(slide)
        assert (shape.left, shape.top, shape.width, shape.height) == (
            0,
            0,
            SLIDE_WIDTH,
            SLIDE_HEIGHT,
        )
        assert shape.image.content_type == "image/png"
        assert Image.open(io.BytesIO(shape.image.blob)).size == (1920, 1080)


def test_pictures_show_the_slides_without_navigation_controls(exported):
    images = [Image.open(io.BytesIO(picture(s).image.blob)).convert("L") for s in exported.slides]
    assert len({image.tobytes() for image in images}) == SLIDES  # every slide its own picture
    for image in images:
        assert image.getextrema()[1] > 200  # light text on the black theme
        # reveal.js's arrows sit in the bottom-right corner; the deck shows no slide number.
        darkest, lightest = image.crop((1920 - 200, 1080 - 200, 1920, 1080)).getextrema()
        assert darkest == lightest  # background only


def test_alt_text_is_the_slide_heading(exported):
    names = [picture(s)._element.nvPicPr.cNvPr.get("descr") for s in exported.slides]
    assert names[0] == "Browser test deck" and names[2] == "Second in the stack"


def test_speaker_notes_are_text_in_the_notes_pane(exported):
    slides = list(exported.slides)
    assert notes(slides[0]) == "Speaker notes on the title slide."
    assert notes(slides[1]) == "Notes of the stack's first slide."
    assert notes(slides[2]) == ""


def test_title_and_author_in_the_document_properties(exported, exported_notes):
    assert exported.core_properties.title == "Browser test deck"
    assert exported.core_properties.last_modified_by == GENERATOR
    properties = exported_notes.core_properties
    assert (properties.title, properties.author) == ("Notes deck", "A. Speaker")


def test_notes_keep_paragraphs_list_items_and_the_tex_of_math(exported_notes):
    assert notes(exported_notes.slides[0]) == (
        "Two points, with $\\alpha = 0.1$:\n\n\u2022 the first\n\u2022 the second\n1. one\n2. two"
    )


def test_fragments_option_gives_every_step_a_slide_with_its_slides_notes(exported_steps):
    slides = list(exported_steps.slides)
    assert len(slides) == SLIDES + STEPS
    blobs = [picture(slide).image.blob for slide in slides]
    assert len(set(blobs)) == len(blobs)  # every step looks different
    # The first slide has no fragments; the second has notes and none either.
    assert notes(slides[0]) == "Speaker notes on the title slide."
    assert notes(slides[1]) == "Notes of the stack's first slide."
    last_slide = slides[-3:]  # no fragment shown, then one, then both
    assert {picture(s)._element.nvPicPr.cNvPr.get("descr") for s in last_slide} == {
        "An image and fragments"
    }


def test_a_missing_deck_is_an_error_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "deck.pptx"
    assert export([str(tmp_path / "index.html"), "-o", str(out)]) == 1
    assert "index.html: not found" in capsys.readouterr().err
    assert not out.exists()


def test_a_page_that_is_not_a_deck_is_an_error(tmp_path, capsys):
    page = tmp_path / "index.html"
    page.write_text("<!doctype html><title>Not a deck</title><p>Hello", encoding="utf-8")
    assert export([str(page), "-o", str(tmp_path / "deck.pptx")]) == 1
    assert "not a reveal.js deck" in capsys.readouterr().err
    assert not (tmp_path / "deck.pptx").exists()


def test_a_file_it_did_not_write_is_never_replaced(deck, tmp_path, capsys):
    out = tmp_path / "talk.pptx"
    out.write_bytes(b"the organisers' template")
    assert export([str(deck), "-o", str(out)]) == 1
    assert "refusing to replace it" in capsys.readouterr().err
    assert out.read_bytes() == b"the organisers' template"
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left behind


def test_its_own_previous_export_is_replaced(deck, tmp_path):
    out = tmp_path / "deck.pptx"
    assert export([str(deck), "-o", str(out)]) == 0
    first = out.stat().st_ino
    assert export([str(deck), "-o", str(out)]) == 0
    assert out.stat().st_ino != first  # renamed over, not written in place
    assert len(Presentation(str(out)).slides) == SLIDES


def test_the_output_must_be_a_pptx_file(deck, tmp_path, capsys):
    assert export([str(deck), "-o", str(tmp_path / "deck.pdf")]) == 1
    assert "must be a .pptx file" in capsys.readouterr().err
