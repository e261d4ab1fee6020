"""Math typeset at build time (talkbuild/tex.py): KaTeX under Node, one process per
build, a cache of typeset formulas, the fonts the math uses, and a clear error
when Node is missing. TeX errors at their lines: tests/fixtures/errors/tex.md."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from deck_fixtures import FIXTURES, RESULTS

from talkbuild import tex
from talkbuild.build import BuildConfig, build, render
from talkbuild.diagnostics import BuildFailed
from talkbuild.files import display_path

ROOT = Path(__file__).resolve().parents[1]
DECK = FIXTURES / "browser" / "deck.md"
KATEX_CSS = (ROOT / "node_modules/katex/dist/katex.min.css").read_text(encoding="utf-8")


def build_deck(source: Path, out: Path, cache: Path, **options):
    config = BuildConfig(
        source=source, output=out, results=RESULTS, figures=False, cache=cache, **options
    )
    return build(config)


def test_the_page_holds_typeset_math_and_no_katex_script(tmp_path):
    build_deck(DECK, tmp_path / "deck", tmp_path / "cache")
    page = (tmp_path / "deck" / "index.html").read_text(encoding="utf-8")
    assert page.count('<span class="katex-display">') == 1
    assert page.count('<span class="math-inline"><span class="katex">') == 2
    assert page.count('<span class="katex-html" aria-hidden="true">') == 3  # HTML...
    assert page.count('<math xmlns="http://www.w3.org/1998/Math/MathML"') == 3  # ...and MathML
    assert not (tmp_path / "deck" / "katex" / "katex.min.js").exists()
    assert not re.search(r"<script[^>]*katex|katex\.render", page)


def test_speaker_notes_get_mathml_only(tmp_path):
    source = tmp_path / "notes.md"
    source.write_text("# Slide\n\n$a$\n\nNote: the notes say $\\alpha$.\n")
    rendered = render(BuildConfig(source=source, figures=False, cache=tmp_path / "cache"))
    notes = rendered.deck.slides[0].notes_html
    assert '<span class="katex"><math' in notes and "katex-html" not in notes
    assert "katex-html" in rendered.deck.slides[0].html


def test_one_node_process_types_every_formula_of_a_build(tmp_path, monkeypatch):
    source = tmp_path / "many.md"
    source.write_text(
        "\n\n---\n\n".join(f"# {i}\n\n$x_{{{i}}}$\n\nNote: $y_{i}$" for i in range(30))
    )
    started = []
    popen = subprocess.Popen

    def counting(args, **kwargs):
        started.append(args)
        return popen(args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", counting)
    build_deck(source, tmp_path / "deck", tmp_path / "cache")
    assert len(started) == 1 and started[0][1].endswith("katex_render.js")
    page = (tmp_path / "deck" / "index.html").read_text(encoding="utf-8")
    assert page.count('<span class="katex">') == 60


def without_node(monkeypatch, tmp_path) -> None:
    """A PATH on which there is no `node` (Python itself is run by its full path)."""
    empty = tmp_path / "empty-path"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))


def test_without_node_the_build_fails_with_one_error_naming_what_to_install(tmp_path, monkeypatch):
    source = tmp_path / "deck.md"
    source.write_text("# Math\n\n$a$ and $b$\n\n$$\nc\n$$\n")
    without_node(monkeypatch, tmp_path)
    with pytest.raises(BuildFailed) as failure:
        build_deck(source, tmp_path / "deck", tmp_path / "cache")
    errors = [str(d) for d in failure.value.diagnostics if d.is_error]
    assert len(errors) == 1
    assert errors[0].startswith(f"{display_path(source)}:3: ")
    assert "`node` is not on the PATH: install Node.js" in errors[0]
    assert not (tmp_path / "deck").exists()


def test_without_node_the_cli_says_so_and_exits_1(tmp_path):
    source = tmp_path / "deck.md"
    # A formula of this run only: the CLI uses the project's cache, which never
    # holds it (formulas are cached once typeset).
    unique = uuid.uuid4().hex
    source.write_text(f"# Math\n\n$\\frac{{1}}{{2}} + \\text{{{unique}}}$\n")
    result = subprocess.run(
        [str(ROOT / ".venv/bin/python"), str(ROOT / "build.py"), source.name]
        + ["-o", "out", "--no-figures"],
        cwd=tmp_path,
        env={"PATH": str(tmp_path), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "deck.md:3: the deck's math is typeset at build time by KaTeX under Node.js" in (
        result.stderr
    )
    assert not (tmp_path / "out").exists()


def test_a_rebuild_with_the_same_math_needs_no_node(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    build_deck(DECK, tmp_path / "first", cache)
    assert (cache / tex.CACHE_FILE).is_file()
    without_node(monkeypatch, tmp_path)
    build_deck(DECK, tmp_path / "second", cache)
    first = (tmp_path / "first" / "index.html").read_bytes()
    assert (tmp_path / "second" / "index.html").read_bytes() == first


def test_the_cache_is_keyed_on_the_katex_version(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    build_deck(DECK, tmp_path / "first", cache)
    data = json.loads((cache / tex.CACHE_FILE).read_text(encoding="utf-8"))
    data["katex"] = "0.0.1"
    (cache / tex.CACHE_FILE).write_text(json.dumps(data), encoding="utf-8")
    without_node(monkeypatch, tmp_path)
    with pytest.raises(BuildFailed, match="`node` is not on the PATH"):
        build_deck(DECK, tmp_path / "second", cache)


def test_the_cache_keeps_only_the_last_build_s_formulas_and_no_errors(tmp_path):
    source, cache = tmp_path / "deck.md", tmp_path / "cache"
    source.write_text("# a\n\n$a$ $b$\n")
    build_deck(source, tmp_path / "deck", cache)
    source.write_text("# a\n\n$a$ $c$ $\\frac{d$\n")
    with pytest.raises(BuildFailed, match=r"deck.md:3: TeX error in '\\frac\{d'"):
        build_deck(source, tmp_path / "deck", cache)
    formulas = json.loads((cache / tex.CACHE_FILE).read_text(encoding="utf-8"))["formulas"]
    assert sorted(formulas) == ["IHa", "IHc"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: "{not json",
        lambda data: json.dumps({**data, "formulas": ["IHa"]}),
        lambda data: json.dumps({**data, "formulas": {key: "html" for key in data["formulas"]}}),
        lambda data: json.dumps(
            {**data, "formulas": {key: {"html": 1} for key in data["formulas"]}}
        ),
    ],
)
def test_a_damaged_cache_file_is_typeset_again(tmp_path, damage):
    cache = tmp_path / "cache"
    build_deck(DECK, tmp_path / "first", cache)
    data = json.loads((cache / tex.CACHE_FILE).read_text(encoding="utf-8"))
    (cache / tex.CACHE_FILE).write_text(damage(data), encoding="utf-8")
    build_deck(DECK, tmp_path / "second", cache)
    first = (tmp_path / "first" / "index.html").read_bytes()
    assert (tmp_path / "second" / "index.html").read_bytes() == first


@pytest.mark.parametrize(
    "formula, fonts",
    [
        ("x = 1", {"KaTeX_Main-Regular", "KaTeX_Math-Italic"}),
        ("\\mathbf{w}", {"KaTeX_Main-Regular", "KaTeX_Main-Bold"}),
        ("\\mathcal{L}", {"KaTeX_Main-Regular", "KaTeX_Caligraphic-Regular"}),
        ("\\mathbb{R}", {"KaTeX_Main-Regular", "KaTeX_AMS-Regular"}),
        ("\\left(\\frac{1}{2}\\right)", {"KaTeX_Main-Regular", "KaTeX_Size3-Regular"}),
        ("\\textsf{\\textbf{n}}", {"KaTeX_Main-Regular", "KaTeX_SansSerif-Bold"}),
    ],
)
def test_the_deck_keeps_the_fonts_its_math_uses(formula, fonts, tmp_path):
    source = tmp_path / "deck.md"
    source.write_text(f"# Fonts\n\n$${formula}$$\n")
    build_deck(source, tmp_path / "deck", tmp_path / "cache")
    kept = {p.stem for p in (tmp_path / "deck" / "katex" / "fonts").iterdir()}
    assert fonts <= kept
    css = (tmp_path / "deck" / "katex" / "katex.min.css").read_text(encoding="utf-8")
    assert {f"KaTeX_{name}" for name in re.findall(r"fonts/KaTeX_([\w-]+)\.woff2", css)} == kept
    assert "KaTeX_Fraktur-Regular" not in kept and "KaTeX_Typewriter-Regular" not in kept


def test_used_fonts_reads_the_classes_of_the_html():
    html = '<span class="katex"><span class="mord mathnormal">x</span></span>'
    assert tex.used_fonts(KATEX_CSS, [html]) == {"KaTeX_Main-Regular", "KaTeX_Math-Italic"}
    assert tex.used_fonts(KATEX_CSS, []) == set()


# Formulas that reach every KaTeX font family the stylesheet maps classes to.
MANY_FONTS = r"""# Fonts

$$
\left(\frac{\mathbf{w}}{\boldsymbol{\alpha}}\right) \in \mathbb{R}^n,\;
\mathcal{L} + \mathfrak{g} + \mathscr{S} + \mathsf{s} + \mathtt{t}
+ \textbf{\textsf{n}} + \textit{i} + \sum_i \int_0^1 \Big[ x \Big]
$$

Inline $\sum_j w_j^2 \ge \Vert w \Vert$.

Note: In the notes: $\alpha \sum_j w_j^2$.
"""

# For every element of typeset math that holds text: the face it asks for.
NEEDED_FACES = """() => [...new Set([...document.querySelectorAll('.katex-html *')]
  .filter((el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()))
  .map((el) => {
    const style = getComputedStyle(el);
    const family = style.fontFamily.split(',')[0].replace(/"/g, '').trim();
    return `${family}|${style.fontWeight}|${style.fontStyle}`;
  }))]"""


@pytest.mark.browser
def test_every_face_the_typeset_math_asks_for_is_in_the_deck(tmp_path):
    from headless_chromium import chromium, open_deck

    source = tmp_path / "fonts.md"
    source.write_text(MANY_FONTS)
    build_deck(source, tmp_path / "deck", tmp_path / "cache")
    every = {  # family|weight|style of each font file KaTeX has
        re.sub(r"(KaTeX_\w+)-(\w+)", lambda m: f"{m[1]}|{m[2]}", p.stem)
        .replace("|Regular", "|400|normal")
        .replace("|BoldItalic", "|700|italic")
        .replace("|Bold", "|700|normal")
        .replace("|Italic", "|400|italic")
        for p in (ROOT / "node_modules/katex/dist/fonts").glob("*.woff2")
    }
    with chromium(tmp_path / "profile") as context:
        page = open_deck(context, tmp_path / "deck" / "index.html")
        page.evaluate("document.fonts.ready")
        have = set(
            page.evaluate(
                "() => [...document.fonts].map((f) => `${f.family}|${f.weight}|${f.style}`)"
            )
        )
        needed = set(page.evaluate(NEEDED_FACES))
        assert needed, "no typeset math found"
        # A face KaTeX has no file for (bold AMS) is drawn from the family's others.
        assert {face for face in needed if face in every} <= have
        assert {face.split("|")[0] for face in needed} <= {f.split("|")[0] for f in have}
        assert context.errors == []


@pytest.mark.browser
def test_the_speaker_view_shows_the_notes_math(tmp_path):
    from headless_chromium import chromium, open_deck

    source = tmp_path / "notes.md"
    source.write_text(MANY_FONTS)
    build_deck(source, tmp_path / "deck", tmp_path / "cache")
    with chromium(tmp_path / "profile") as context:
        page = open_deck(context, tmp_path / "deck" / "index.html")
        with context.expect_page() as popup:
            page.keyboard.press("s")
        speaker = popup.value
        speaker.wait_for_selector(".speaker-controls-notes math", timeout=10_000)
        box = speaker.locator(".speaker-controls-notes math").bounding_box()
        assert box and box["width"] > 20 and box["height"] > 10
        assert "katex-html" not in speaker.inner_html(".speaker-controls-notes")
        speaker.close()


def test_a_node_that_fails_is_reported_with_its_message(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    node = bin_dir / "node"
    node.write_text("#!/bin/sh\necho 'SyntaxError: Unexpected token ?' >&2\nexit 1\n")
    node.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    source = tmp_path / "deck.md"
    source.write_text("# Math\n\n$a$\n")
    with pytest.raises(BuildFailed) as failure:
        build_deck(source, tmp_path / "deck", tmp_path / "cache")
    assert [d.message for d in failure.value.diagnostics if d.is_error] == [
        "KaTeX under Node.js failed: SyntaxError: Unexpected token ?"
    ]


def test_the_warm_process_answers_each_request_and_is_restarted_when_it_died():
    warm = tex.WarmKatex(ROOT / "node_modules")
    request = json.dumps({"formulas": [{"tex": "a", "display": False, "mathml": False}]})
    try:
        results, failure = warm.typeset(request)
        assert failure == "" and 'class="katex"' in results[0]["html"]
        first = warm._process
        first.kill()
        first.wait()
        results, failure = warm.typeset(request)
        assert failure == "" and 'class="katex"' in results[0]["html"]
        assert warm._process is not first
    finally:
        warm.close()
    assert warm._process is None
