"""`build.py --self-contained`: the deck as one HTML file that links to nothing.

Its behaviour in the browser (offline, speaker view) is tested with the folder
deck's in test_deck_browser.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from deck_fixtures import FIXTURES, RESULTS

from talkbuild.build import BuildConfig, build
from talkbuild.diagnostics import BuildFailed

DECK = FIXTURES / "browser" / "deck.md"


def build_one_file(source: Path, out: Path):
    return build(
        BuildConfig(source=source, output=out, results=RESULTS, figures=False, self_contained=True)
    )


def test_the_page_links_to_no_other_file(tmp_path):
    out = tmp_path / "deck.html"
    build_one_file(DECK, out)
    page = out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.html"]
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.S)  # code may say url(
    assert not re.search(r"<link\b|<script src=|\bsrc=\"(?!data:)|url\((?!data:)", markup)
    assert 'src="data:image/svg+xml;base64,' in page


def test_only_the_katex_fonts_the_typeset_math_uses(tmp_path):
    out = tmp_path / "deck.html"
    build_one_file(DECK, out)
    page = out.read_text(encoding="utf-8")
    faces = [face for face in re.findall(r"@font-face\{[^}]*\}", page) if "KaTeX_" in face]
    assert {re.search(r"font-family:(KaTeX_\w+)", face).group(1) for face in faces} == {
        "KaTeX_Main",  # the digits and "="
        "KaTeX_Math",  # the variables
        "KaTeX_Caligraphic",  # \\mathcal{L}
        "KaTeX_Size2",  # the display \\sum
    }
    assert all(face.count("url(data:font/woff2;base64,") == 1 for face in faces)


def test_the_page_runs_no_katex_code(tmp_path):
    out = tmp_path / "deck.html"
    build_one_file(DECK, out)
    page = out.read_text(encoding="utf-8")
    assert 'class="katex-display"' in page
    assert "renderToString" not in page and "katex.render" not in page


def test_a_file_not_built_by_build_py_is_not_replaced(tmp_path):
    out = tmp_path / "deck.html"
    out.write_text("<p>someone's page</p>\n", encoding="utf-8")
    with pytest.raises(BuildFailed, match="not a deck built by build.py"):
        build_one_file(DECK, out)
    assert out.read_text(encoding="utf-8") == "<p>someone's page</p>\n"


def test_a_failed_build_leaves_the_previous_file(tmp_path):
    out = tmp_path / "deck.html"
    build_one_file(DECK, out)
    before = out.read_bytes()
    broken = tmp_path / "broken.md"
    broken.write_text("# Broken\n\n![gone](missing.png)\n", encoding="utf-8")
    with pytest.raises(BuildFailed, match="broken.md:3: image 'missing.png' not found"):
        build_one_file(broken, out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.md", "deck.html"]
