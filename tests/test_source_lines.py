"""One rule for the source line of a token inside an inline run (markdown.inline_lines):
placeholders, images and external images after a multi-line raw HTML comment are
reported at their own line, as the parser, the results and the assets count it."""

from pathlib import Path

from talkbuild.build import BuildConfig, render


def errors_in(tmp_path: Path, text: str) -> list[str]:
    """`path:line` of every diagnostic of a deck.md with this text."""
    (tmp_path / "deck.md").write_text(text)
    rendered = render(BuildConfig(source=tmp_path / "deck.md", results=tmp_path, figures=False))
    return [f"{Path(d.path).name}:{d.line}" for d in rendered.diagnostics]


def test_a_placeholder_after_a_multi_line_comment_is_reported_at_its_line(tmp_path):
    found = errors_in(tmp_path, "# A\n\ntext <!-- a\nlong comment --> {{ missing.key }}\n")
    assert found == ["deck.md:4"]


def test_an_image_after_a_multi_line_comment_is_reported_at_its_line(tmp_path):
    found = errors_in(tmp_path, "# A\n\ntext <!-- a\nb\nc --> ![x](nowhere.png)\n")
    assert found == ["deck.md:5"]


def test_raw_html_spanning_lines_moves_the_line_on(tmp_path):
    found = errors_in(tmp_path, '# A\n\n<span\ntitle="t">x</span> {{ missing.key }}\n')
    assert found == ["deck.md:4"]
