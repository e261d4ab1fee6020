"""Helpers shared by the deck builder's fixture tests (imported, not a conftest)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from talkbuild.build import BuildConfig, RenderedDeck, render

FIXTURES = Path(__file__).parent / "fixtures"
RESULTS = FIXTURES / "results"  # {{ demo.* }} placeholders read demo.json here
UPDATE = os.environ.get("UPDATE_FIXTURES") == "1"  # rewrite expected files instead


def cases(folder: str, pattern: str = "*.md") -> list:
    """Fixture inputs of one folder, named for pytest ids."""
    import pytest

    return [pytest.param(path, id=path.stem) for path in sorted((FIXTURES / folder).glob(pattern))]


def render_fixture(source: Path) -> RenderedDeck:
    """Render a fixture deck without figures, with the fixture results."""
    return render(BuildConfig(source=source, results=RESULTS, figures=False))


def check_diagnostics(source: Path, folder: Path, monkeypatch) -> RenderedDeck:
    """Render a fixture from its folder (messages name paths relative to it) and compare
    its diagnostics with the .txt file beside it."""
    monkeypatch.chdir(folder)
    rendered = render_fixture(source.relative_to(folder))
    assert_matches("".join(f"{d}\n" for d in rendered.diagnostics), source.with_suffix(".txt"))
    return rendered


def slides_markup(page: str) -> str:
    """The slides of index.html: what is inside <div class="slides">."""
    match = re.search(r'<div class="slides">\n(.*?)</div>\n</div>\n<script', page, re.S)
    assert match, 'no <div class="slides"> in the page'
    return match.group(1)


def assert_matches(actual: str, expected_file: Path) -> None:
    """Compare with the expected file (or rewrite it when UPDATE_FIXTURES=1)."""
    if UPDATE:
        expected_file.write_text(actual, encoding="utf-8")
    assert expected_file.exists(), f"{expected_file} is missing; write it with UPDATE_FIXTURES=1"
    assert actual == expected_file.read_text(encoding="utf-8")
