"""Rendering: each fixture deck in tests/fixtures/render gives the expected slides.

One fixture per part of the slide syntax (TALK.md, "Markdown the slides use"):
separators, front matter, notes, attribute comments, code fences, math, the
rest of Markdown, placeholders, code includes and images.
"""

import pytest
from deck_fixtures import FIXTURES, assert_matches, cases, render_fixture, slides_markup

from talkbuild.markdown import create_parser, fence_info, render


@pytest.mark.parametrize("source", cases("render"))
def test_fixture_renders_to_expected_slides(source, monkeypatch):
    monkeypatch.chdir(source.parent)
    rendered = render_fixture(source)
    errors = [str(d) for d in rendered.diagnostics if d.is_error]
    assert errors == []
    assert_matches(slides_markup(rendered.page), source.with_suffix(".html"))


def html(markdown: str) -> str:
    md = create_parser()
    return render(md, md.parse(markdown, {}))


def test_separators_inside_a_code_fence_do_not_split():
    tokens = create_parser().parse("```\n---\n-v-\n```\n", {})
    assert [t.type for t in tokens] == ["fence"]


def test_a_separator_line_is_a_slide_break_not_a_setext_heading():
    tokens = create_parser().parse("Title\n---\nnext\n", {})
    assert [t.type for t in tokens if t.type.endswith(("open", "break"))] == [
        "paragraph_open",
        "slide_break",
        "paragraph_open",
    ]


def test_a_separator_in_a_blockquote_is_not_a_slide_break():
    assert "slide_break" not in [t.type for t in create_parser().parse("> ---\n", {})]


def test_underscores_and_carets_in_math_are_not_markdown():
    assert html("$a_1 * b_2^{c}$") == '<p><span class="math-inline">a_1 * b_2^{c}</span></p>\n'


def test_math_is_html_escaped():
    assert html("$a<b$") == '<p><span class="math-inline">a&lt;b</span></p>\n'


@pytest.mark.parametrize(
    "info, language, attrs",
    [
        ("python [|9,14|]", "python", {"data-line-numbers": "|9,14|"}),
        ("python []", "python", {"data-line-numbers": ""}),
        ("python [17:]", "python", {"data-line-numbers": "", "data-ln-start-from": "17"}),
        ("python [17: 1|3]", "python", {"data-line-numbers": "1|3", "data-ln-start-from": "17"}),
        ("python", "python", {}),
        ("[1] include=x.py#r", "", {"data-line-numbers": "1"}),
    ],
)
def test_fence_info_strings_follow_reveal_js(info, language, attrs):
    assert fence_info(info) == (language, attrs)


def test_code_is_html_escaped():
    assert "&lt;b&gt; &amp;" in html("```\n<b> &\n```\n")


def test_html_comments_are_invisible():
    assert "<!--" not in html("a <!-- inline --> b\n\n<!-- block -->\n")


def test_fixtures_exist_for_every_syntax_item():
    names = {path.stem for path in (FIXTURES / "render").glob("*.md")}
    assert {
        "separators",
        "front_matter",
        "notes",
        "attributes",
        "code",
        "math",
        "markdown",
        "placeholders",
        "include",
        "images",
    } <= names


def test_an_indented_element_comment_in_html_applies_to_the_element_before_it():
    out = html('<div>\n   <!-- .element: class="fragment" -->\n<p>x</p>\n</div>\n')
    assert '<div class="fragment">' in out
    assert '<p class="fragment">' not in out


# Inputs a quadratic scan would take seconds over (40,000 characters).
LONG = 40_000
ADVERSARIAL = [
    prefix + filler * (LONG // len(filler))
    for prefix in ("", "{{ a", "{{ a:", "{{ a: x", "<!--", "$\\a", "[", "[1:", "title:")
    for filler in (" ", "x", "{{", "<!--", "-->", "x ", "1|", "1,", "-", "$ ", "$\\ ")
]


def test_the_syntax_checks_take_linear_time():
    import time

    from talkbuild.markdown import (
        PLACEHOLDER,
        _check_comments,
        _check_html_math,
        _check_text,
        _looks_like_yaml,
        _written_placeholder,
        parse_fence_info,
    )

    slowest = 0.0
    for text in ADVERSARIAL:
        start = time.perf_counter()
        list(PLACEHOLDER.finditer(text))
        parse_fence_info("python " + text)
        _check_comments(text, 1, {})
        _check_html_math(text, 1, {})
        _check_text(text, 1, {})
        _written_placeholder(text, 0)
        _looks_like_yaml([text])
        slowest = max(slowest, time.perf_counter() - start)
    assert slowest < 1.0  # linear: milliseconds; quadratic: tens of seconds
