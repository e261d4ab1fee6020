"""Slide splitting: stacks, source lines, notes and slide attributes of fixture decks.

Each tests/fixtures/slides/NAME.md (or folder NAME/) has NAME.json: a list of
stacks, each a list of slides {path, line, notes, attrs}. Lines are where each
slide's first block starts, so diagnostics can point at slides.
"""

import json

import pytest
from deck_fixtures import FIXTURES, assert_matches, render_fixture

from talkbuild.markdown import create_parser
from talkbuild.slides import deck_sources, load_deck, read_source

SLIDES = FIXTURES / "slides"


def structure(source) -> list:
    sources, errors = deck_sources(source)
    deck, more = load_deck(sources, create_parser())
    assert [d for d in errors + more if d.is_error] == []
    return [
        [
            {
                "path": slide.path,
                "line": slide.line,
                "notes": bool(slide.notes),
                "attrs": slide.attrs,
            }
            for slide in stack
        ]
        for stack in deck.stacks
    ]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(p, id=p.stem)
        for p in sorted(SLIDES.iterdir())
        if p.suffix == ".md" or p.is_dir()
    ],
)
def test_fixture_splits_into_expected_stacks(source, monkeypatch):
    monkeypatch.chdir(SLIDES)
    actual = json.dumps(structure(source.relative_to(SLIDES)), indent=1) + "\n"
    assert_matches(actual, source.with_suffix(".json"))


def split(text: str, tmp_path) -> list[list[int]]:
    source = tmp_path / "deck.md"
    source.write_text(text, encoding="utf-8")
    return [[slide["line"] for slide in stack] for stack in structure(source)]


def test_horizontal_separator_starts_a_new_stack(tmp_path):
    assert split("a\n---\nb\n", tmp_path) == [[1], [3]]


def test_vertical_separator_puts_the_slide_below(tmp_path):
    assert split("a\n-v-\nb\n-v-\nc\n---\nd\n", tmp_path) == [[1, 3, 5], [7]]


def test_separators_in_code_fences_do_not_split(tmp_path):
    assert split("a\n```\n---\n-v-\n```\n", tmp_path) == [[1]]
    assert split("a\n~~~~\n-v-\n~~~~\n---\nb\n", tmp_path) == [[1], [6]]


def test_separators_in_front_matter_do_not_split(tmp_path):
    assert split("---\ntitle: t\n---\na\n---\nb\n", tmp_path) == [[4], [6]]


def test_separators_must_be_alone_on_their_line(tmp_path):
    assert split("a\n --- \nb\n--- x\n-v-x\n", tmp_path) == [[1]]


def test_notes_split_the_slide_at_the_first_note_line(tmp_path):
    source = tmp_path / "deck.md"
    source.write_text("# a\nNote: b\n", encoding="utf-8")
    deck, _ = load_deck([source], create_parser())
    slide = deck.slides[0]
    assert [t.type for t in slide.tokens] == ["heading_open", "inline", "heading_close"]
    assert [t.type for t in slide.notes] == ["paragraph_open", "inline", "paragraph_close"]
    assert slide.notes[1].content == "b"


def test_slide_comments_below_the_note_line_set_the_slides_attributes(tmp_path):
    source = tmp_path / "deck.md"
    source.write_text(
        '# a\n<!-- .slide: class="x" data-state="s" -->\n\nNote: b\n\n<!-- .slide: class="y" -->\n',
        encoding="utf-8",
    )
    deck, _ = load_deck([source], create_parser())
    rendered = render_fixture(source)
    expected = {"class": "y", "data-state": "s"}  # a later comment overrides, as in reveal.js
    assert deck.slides[0].attrs == expected
    assert rendered.deck.slides[0].attrs == expected
    assert '<section data-source-line="deck.md:1" class="y" data-state="s">' in rendered.page


def test_an_element_comment_opening_the_notes_is_not_a_slide_attribute(tmp_path):
    source = tmp_path / "deck.md"
    source.write_text('# a\nNote:\n<!-- .element: class="fragment" -->\n', encoding="utf-8")
    deck, errors = load_deck([source], create_parser())
    assert deck.slides[0].attrs == {}
    assert [(e.line, e.severity) for e in errors] == [(3, "warning")]


def test_a_folder_deck_reads_its_markdown_files_in_name_order(tmp_path):
    (tmp_path / "b.md").write_text("second\n")
    (tmp_path / "a.md").write_text("first\n")
    (tmp_path / "c.txt").write_text("not markdown\n")
    assert deck_sources(tmp_path)[0] == [tmp_path / "a.md", tmp_path / "b.md"]


def test_front_matter_is_only_allowed_in_the_first_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.md").write_text("first\n")
    (tmp_path / "b.md").write_text("---\ntitle: no\n---\nsecond\n")
    sources, _ = deck_sources(tmp_path)
    _, errors = load_deck(sources, create_parser())
    assert [str(e) for e in errors] == [
        "b.md:1: front matter is only allowed in the deck's first file (a.md)"
    ]


def test_windows_newlines_and_a_byte_order_mark_are_read(tmp_path):
    source = tmp_path / "deck.md"
    source.write_bytes(b"\xef\xbb\xbfa\r\n---\r\nb\r\n")
    assert read_source(source, "deck.md") == ("a\n---\nb\n", [])
    assert [[s["line"] for s in stack] for stack in structure(source)] == [[1], [3]]
