"""Front matter: the keys a deck may set, checked against what reveal.js accepts."""

import re
from pathlib import Path

import pytest

from talkbuild.markdown import ENV_FRONT_MATTER_HOOK, Separators, create_parser
from talkbuild.slides import REVEAL_OPTIONS, THEMES, FrontMatter, parse_front_matter

ROOT = Path(__file__).resolve().parents[1]
REVEAL_DIST = ROOT / "node_modules" / "reveal.js" / "dist"
# RevealConfig keys the builder does not accept: it registers the plugins itself,
# and these configure plugins it does not ship.
NOT_ACCEPTED = {"plugins", "dependencies", "markdown", "katex", "mathjax2", "mathjax3", "mathjax4"}


def front_matter(yaml_text: str, tmp_path=Path("/deck")):
    seen = {}
    env = {ENV_FRONT_MATTER_HOOK: lambda token, env: seen.setdefault("token", token)}
    create_parser().parse(f"---\n{yaml_text}---\n# slide\n", env)
    return parse_front_matter(seen["token"], tmp_path / "deck.md", "deck.md")


def test_reveal_options_are_those_of_reveal_js_config():
    config = (REVEAL_DIST / "config.d.ts").read_text(encoding="utf-8")
    body = config[config.index("interface RevealConfig {") :]
    body = body[: body.index("\n}\n")]
    keys = set(re.findall(r"^    (\w+)\??:", body, re.MULTILINE))
    assert REVEAL_OPTIONS == keys - NOT_ACCEPTED


def test_themes_are_those_reveal_js_ships():
    assert set(THEMES) == {p.stem for p in (REVEAL_DIST / "theme").glob("*.css")}


def test_defaults_without_front_matter():
    meta = FrontMatter()
    assert (meta.theme, meta.lang, meta.reveal, meta.separators) == (
        "white",
        "en",
        {},
        Separators("---", "-v-", ("note:", "notes:")),
    )


def test_known_keys_are_read():
    meta, errors = front_matter(
        "title: T\nauthor: A\ndate: 2025-03-10\nlang: de\ntheme: black\n"
        "highlight_theme: zenburn\nresults: ../out\nreveal:\n  hash: false\n"
        "  transition: fade\n"
    )
    assert errors == []
    assert (
        meta.title,
        meta.author,
        meta.date,
        meta.lang,
        meta.theme,
        meta.highlight_theme,
        meta.results,
        meta.reveal,
    ) == (
        "T",
        "A",
        "2025-03-10",
        "de",
        "black",
        "zenburn",
        Path("/out"),
        {"hash": False, "transition": "fade"},
    )


def test_separators_are_read():
    meta, errors = front_matter(
        'separator: "==="\nseparator_vertical: "=v="\nseparator_notes: \'Speaker:\'\n'
    )
    assert errors == []
    assert meta.separators == Separators("===", "=v=", ("Speaker:",))


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        ("colour: red\n", "unknown front matter key 'colour'"),
        ("title: [1]\n", "front matter 'title' must be a string, not a list"),
        ("theme: fancy\n", "unknown theme 'fancy'"),
        ("reveal: true\n", "front matter 'reveal' must be a mapping"),
        ("reveal:\n  plugins: []\n", "unknown reveal.js option 'plugins'"),
        ("reveal:\n  width: 2025-03-10\n", "reveal.js option 'width' must be a number"),
        ("separator: '-v-'\n", "separator and separator_vertical must differ"),
        ("title: [\n", "invalid front matter"),
    ],
)
def test_invalid_front_matter_is_an_error_on_its_line(yaml_text, message):
    meta, errors = front_matter(yaml_text)
    assert len(errors) == 1
    assert errors[0].message.startswith(message)
    assert errors[0].line >= 2
