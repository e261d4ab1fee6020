"""Slides: read the Markdown files, check their front matter, split them into slides.

A deck is one Markdown file, or every `*.md` file of a folder in name order (each
file starts a new horizontal slide; only the first may have front matter). Each
file is parsed once by `markdown.create_parser()`; its token stream is cut at the
`slide_break` tokens into slides, and each slide at its first `slide_notes` token
into content and speaker notes. Every slide keeps the tokens, file and line it
came from, so later stages can report `path:line` problems. Its attributes are
those of its `.slide:` comments, notes included (`slide_attributes`).

Stacks follow reveal.js's Markdown plugin: a vertical separator puts the next
slide below the current one, a horizontal one starts a new column.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from .diagnostics import Diagnostic, yaml_error
from .files import display_path  # noqa: F401 (re-exported: one rule, in files.py)
from .markdown import ENV_DIAGNOSTICS, ENV_FRONT_MATTER_HOOK, ENV_PATH, ENV_SEPARATORS, Separators

# The reveal.js themes in node_modules/reveal.js/dist/theme (see assets.py).
THEMES = (
    "beige",
    "black",
    "black-contrast",
    "blood",
    "dracula",
    "league",
    "moon",
    "night",
    "serif",
    "simple",
    "sky",
    "solarized",
    "white",
    "white-contrast",
)
HIGHLIGHT_THEMES = ("monokai", "zenburn")  # reveal.js's dist/plugin/highlight/*.css
# The keys of reveal.js 6's RevealConfig (dist/config.d.ts) that make sense in a
# static deck; plugin lists and the configuration of plugins we do not ship are left
# out. tests/test_front_matter.py checks this list against config.d.ts.
REVEAL_OPTIONS = frozenset(
    """
    width height margin minScale maxScale controls controlsTutorial controlsLayout
    controlsBackArrows progress slideNumber showSlideNumber hashOneBasedIndex hash
    respondToHashChanges jumpToSlide history keyboard keyboardCondition disableLayout
    overview center touch loop rtl navigationMode shuffle fragments fragmentInURL embedded
    help pause showNotes showHiddenSlides autoPlayMedia preloadIframes
    preventIframeAutoFocus autoAnimate autoAnimateMatcher autoAnimateEasing
    autoAnimateDuration autoAnimateUnmatched autoAnimateStyles autoSlide autoSlideStoppable
    autoSlideMethod defaultTiming mouseWheel previewLinks postMessage postMessageEvents
    focusBodyOnPageVisibilityChange transition transitionSpeed backgroundTransition
    parallaxBackgroundImage parallaxBackgroundSize parallaxBackgroundRepeat
    parallaxBackgroundPosition parallaxBackgroundHorizontal parallaxBackgroundVertical view
    scrollLayout scrollSnap scrollProgress scrollActivationWidth pdfMaxPagesPerSlide
    pdfSeparateFragments pdfPageHeightOffset viewDistance mobileViewDistance display
    hideInactiveCursor hideCursorTime sortFragmentsOnSync highlight
""".split()
)
FRONT_MATTER_KEYS = (
    "title",
    "author",
    "date",
    "lang",
    "theme",
    "highlight_theme",
    "separator",
    "separator_vertical",
    "separator_notes",
    "results",
    "external_images",
    "reveal",
)


@dataclass
class FrontMatter:
    """The deck's settings, from the first file's YAML front matter."""

    title: str = ""
    author: str = ""
    date: str = ""
    lang: str = "en"
    theme: str = "white"
    highlight_theme: str = "monokai"
    separators: Separators = field(default_factory=Separators)
    results: Path | None = None  # the results folder, resolved against the Markdown file
    external_images: Path | None = None  # the external image manifest (external.py), resolved
    reveal: dict = field(default_factory=dict)  # options for Reveal.initialize
    lines: dict[str, int] = field(default_factory=dict)  # key -> line, for diagnostics


@dataclass
class Slide:
    source: Path  # the Markdown file
    path: str  # how diagnostics name that file
    line: int  # 1-based line where the slide starts
    tokens: list[Token]
    notes: list[Token] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)  # for the <section>
    html: str = ""
    notes_html: str = ""


@dataclass
class Deck:
    meta: FrontMatter
    stacks: list[list[Slide]]  # horizontal slides, each a vertical stack of one or more
    sources: list[Path]

    @property
    def slides(self) -> list[Slide]:
        return [slide for stack in self.stacks for slide in stack]


def deck_sources(path: Path) -> tuple[list[Path], list[Diagnostic]]:
    """The Markdown files of a deck: the file itself, or a folder's *.md in name order."""
    if path.is_dir():
        sources = sorted(p for p in path.glob("*.md") if p.is_file())
        if not sources:
            return [], [Diagnostic(display_path(path), None, "no *.md files in this folder")]
        return sources, []
    if not path.exists():
        return [], [Diagnostic(display_path(path), None, "no such file or folder")]
    return [path], []


def read_source(path: Path, shown: str) -> tuple[str | None, list[Diagnostic]]:
    """The file's text with normalised newlines, or None and why it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return None, [Diagnostic(shown, 1, f"cannot read file: {error.strerror or error}")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, _encoding_errors(data, shown)
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n"), []


def _encoding_errors(data: bytes, shown: str) -> list[Diagnostic]:
    errors = []
    for number, line in enumerate(data.split(b"\n"), 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as error:
            errors.append(
                Diagnostic(
                    shown,
                    number,
                    f"not valid UTF-8: byte 0x{line[error.start]:02x} at column {error.start + 1}",
                )
            )
    return errors


def load_deck(sources: list[Path], md: MarkdownIt) -> tuple[Deck, list[Diagnostic]]:
    """Parse every file of the deck and split it into slides."""
    diagnostics: list[Diagnostic] = []
    meta = FrontMatter()
    stacks: list[list[Slide]] = []
    for index, source in enumerate(sources):
        shown = display_path(source)
        text, errors = read_source(source, shown)
        diagnostics += errors
        if text is None:
            continue
        env = {ENV_PATH: shown, ENV_DIAGNOSTICS: diagnostics, ENV_SEPARATORS: meta.separators}
        if index == 0:

            def read_front_matter(token: Token, env: dict, source=source) -> None:
                nonlocal meta
                meta, errors = parse_front_matter(token, source, env[ENV_PATH])
                diagnostics.extend(errors)  # noqa: B023 (called during this iteration's parse)
                env[ENV_SEPARATORS] = meta.separators
        else:
            first = display_path(sources[0])

            def read_front_matter(token: Token, env: dict, first=first):
                diagnostics.append(  # noqa: B023 (called during this iteration's parse)
                    Diagnostic(
                        env[ENV_PATH],
                        token.map[0] + 1,
                        f"front matter is only allowed in the deck's first file ({first})",
                    )
                )

        env[ENV_FRONT_MATTER_HOOK] = read_front_matter
        tokens = md.parse(text, env)
        lines = text.split("\n")
        diagnostics += unclosed_fences(tokens, lines, shown)
        stacks += split_slides(tokens, source, shown, first_line=1)
    return Deck(meta, stacks, sources), diagnostics


def unclosed_fences(tokens: list[Token], lines: list[str], shown: str) -> list[Diagnostic]:
    """Code fences that run to the end of their container without a closing marker."""
    errors = []
    for token in tokens:
        if token.type != "fence" or not token.map:
            continue
        start, end = token.map
        closing = lines[end - 1].lstrip(" \t>").strip() if end - 1 > start else ""
        marker = token.markup
        if not (len(closing) >= len(marker) and closing == marker[0] * len(closing)):
            errors.append(
                Diagnostic(shown, start + 1, f"code fence '{marker}' opened here is never closed")
            )
    return errors


def split_slides(
    tokens: list[Token], source: Path, shown: str, first_line: int = 1
) -> list[list[Slide]]:
    """Cut a file's tokens into stacks of slides at its slide_break tokens."""
    stacks: list[list[Slide]] = []
    current: list[Token] = []
    line, kind = first_line, "horizontal"

    def close() -> None:
        slide = _slide(current, source, shown, line)
        if kind == "vertical" and stacks:
            stacks[-1].append(slide)
        else:
            stacks.append([slide])

    for token in tokens:
        if token.type == "front_matter":
            line = token.map[1] + 1
            continue
        if token.type == "slide_break" and token.level == 0:
            close()
            current, line, kind = [], token.map[1] + 1, token.meta["kind"]
            continue
        current.append(token)
    close()
    return stacks


def _slide(tokens: list[Token], source: Path, shown: str, line: int) -> Slide:
    notes_at = next(
        (i for i, t in enumerate(tokens) if t.type == "slide_notes" and t.level == 0), None
    )
    content, notes = (
        (tokens, []) if notes_at is None else (tokens[:notes_at], tokens[notes_at + 1 :])
    )
    line = next((t.map[0] + 1 for t in tokens if t.map), line)  # its first block, if any
    slide = Slide(source, shown, line, content, notes)
    slide.attrs = slide_attributes(slide)
    return slide


def slide_attributes(slide: Slide) -> dict[str, str]:
    """The <section>'s attributes: those of every `.slide:` comment of the slide, a
    later comment's value overriding an earlier one's.

    The speaker notes count too. reveal.js's Markdown plugin puts the notes in an
    <aside> inside the slide's <section> and applies every `.slide:` comment it
    finds in the section, so one below the `Note:` line styles the slide as one
    above it does; a presenter moving a comment across that line changes nothing.
    """
    attrs: dict[str, str] = {}
    for token in slide_attribute_tokens(slide):
        attrs.update(token.meta["slide_attrs"])
    return attrs


def slide_attribute_tokens(slide: Slide) -> list[Token]:
    """The tokens holding the slide's `.slide:` attributes, in source order, notes included."""
    return [token for token in walk(slide.tokens + slide.notes) if token.meta.get("slide_attrs")]


def walk(tokens: list[Token]):
    """Every token, with inline children (and an image's alt-text children) after it."""
    for token in tokens:
        yield token
        if token.children:
            yield from walk(token.children)


# --- Front matter ------------------------------------------------------------------


def parse_front_matter(
    token: Token, source: Path, shown: str
) -> tuple[FrontMatter, list[Diagnostic]]:
    """Read and check the YAML front matter; unknown keys and wrong types are errors."""
    import yaml  # only decks with front matter pay for it

    meta = FrontMatter()
    first = token.map[0] + 2  # file line of the YAML's first line
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(token.content)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else {}
    except yaml.YAMLError as error:
        return meta, [yaml_error(error, shown, first, "invalid front matter", first - 1)]
    finally:
        loader.dispose()
    if data is None:
        return meta, []
    if not isinstance(data, dict):
        return meta, [
            Diagnostic(shown, first - 1, "front matter must be a YAML mapping (key: value lines)")
        ]
    lines = {str(key.value): first + key.start_mark.line for key, _ in node.value}
    sub_lines = {
        str(key.value): first + key.start_mark.line
        for name, value in node.value
        if name.value == "reveal" and hasattr(value, "value") and isinstance(value.value, list)
        for key, _ in value.value
        if hasattr(key, "start_mark")
    }
    meta.lines = lines
    errors: list[Diagnostic] = []

    def error(key: str, message: str, line: int | None = None) -> None:
        errors.append(Diagnostic(shown, line or lines.get(key, first - 1), message))

    seps = {}
    for key, value in data.items():
        key = str(key)
        if key not in FRONT_MATTER_KEYS:
            error(key, f"unknown front matter key '{key}' (known: {', '.join(FRONT_MATTER_KEYS)})")
        elif key == "date" and isinstance(value, (datetime.date, datetime.datetime)):
            meta.date = value.isoformat()
        elif key == "reveal":
            meta.reveal = _reveal_options(value, error, sub_lines)
        elif not isinstance(value, str):
            error(key, f"front matter '{key}' must be a string, not {_yaml_type(value)}")
        elif key in ("title", "author", "date", "lang"):
            setattr(meta, key, value)
        elif key == "theme":
            if value in THEMES:
                meta.theme = value
            else:
                error(key, f"unknown theme '{value}' (reveal.js themes: {', '.join(THEMES)})")
        elif key == "highlight_theme":
            if value in HIGHLIGHT_THEMES:
                meta.highlight_theme = value
            else:
                error(
                    key,
                    f"unknown highlight_theme '{value}' (choose: {', '.join(HIGHLIGHT_THEMES)})",
                )
        elif key == "results":
            meta.results = (source.parent / value).resolve()
        elif key == "external_images":
            meta.external_images = (source.parent / value).resolve()
        elif not value.strip() or "\n" in value.strip():
            error(key, f"front matter '{key}' must be one non-empty line")
        else:
            seps[key] = value.strip()
    if seps:
        default = Separators()
        meta.separators = Separators(
            horizontal=seps.get("separator", default.horizontal),
            vertical=seps.get("separator_vertical", default.vertical),
            notes=(seps["separator_notes"],) if "separator_notes" in seps else default.notes,
        )
        if meta.separators.horizontal == meta.separators.vertical:
            error(
                "separator",
                "separator and separator_vertical must differ",
                lines.get("separator_vertical") or lines.get("separator"),
            )
    return meta, errors


def _reveal_options(value, error, lines: dict[str, int]) -> dict:
    if not isinstance(value, dict):
        error(
            "reveal",
            f"front matter 'reveal' must be a mapping of reveal.js options, "
            f"not {_yaml_type(value)}",
        )
        return {}
    options = {}
    for key, option in value.items():
        key = str(key)
        if key not in REVEAL_OPTIONS:
            error(
                "reveal",
                f"unknown reveal.js option '{key}' (see https://revealjs.com/config/)",
                lines.get(key),
            )
            continue
        try:
            json.dumps(option)
        except TypeError:
            error(
                "reveal",
                f"reveal.js option '{key}' must be a number, string, boolean, "
                f"list or mapping, not {_yaml_type(option)}",
                lines.get(key),
            )
            continue
        options[key] = option
    return options


def _yaml_type(value) -> str:
    if value is None:
        return "empty"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)
