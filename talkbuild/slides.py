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
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from . import paths
from .diagnostics import Diagnostic
from .files import display_path  # noqa: F401 (re-exported: one rule, in files.py)
from .markdown import (
    ENV_DIAGNOSTICS,
    ENV_FRONT_MATTER_HOOK,
    ENV_PATH,
    ENV_SEPARATORS,
    Separators,
    structure_diagnostics,
)

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
    "repository",
    "duration",
    "speaking_rate",
)
# Front matter keys that are numbers: the unit each is in (talkbuild/pacing.py).
NUMBER_KEYS = {"duration": "minutes", "speaking_rate": "words per minute"}


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
    # Where script links in the provenance panel point: a repository's web address
    # (https://github.com/owner/name); links go to the file at the build's commit.
    repository: str = ""
    duration: float | None = None  # the talk's slot, in minutes (pacing.py)
    speaking_rate: float | None = None  # words per minute the notes are spoken at (pacing.py)
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
    try:
        found = paths.kind(path)
    except paths.PathProblem as problem:
        return [], [Diagnostic(display_path(path), None, str(problem))]
    if found == "folder":
        sources = sorted(p for p in path.glob("*.md") if paths.exists(p, "file"))
        if not sources:
            return [], [Diagnostic(display_path(path), None, "no *.md files in this folder")]
        return sources, []
    if found == "missing":
        return [], [Diagnostic(display_path(path), None, "no such file or folder")]
    return [path], []


def read_source(path: Path, shown: str) -> tuple[str | None, list[Diagnostic]]:
    """The file's text with normalised newlines, or None and why it cannot be read."""
    try:
        data = paths.read_bytes(path)
    except paths.PathProblem as problem:
        return None, [Diagnostic(shown, 1, f"cannot read file: {problem}")]
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
        diagnostics += structure_diagnostics(tokens, lines, shown)
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
    try:
        node, data = load_yaml(token.content)
    except YamlProblem as problem:
        line = first + problem.line if problem.line is not None else first - 1
        return meta, [Diagnostic(shown, line, f"invalid front matter: {problem.describe(first)}")]
    if node is None:  # empty, or only comments
        return meta, []
    if not isinstance(data, dict):
        return meta, [
            Diagnostic(shown, first - 1, "front matter must be a YAML mapping (key: value lines)")
        ]
    lines = {str(key.value): first + key.start_mark.line for key, _ in node.value}
    sub_lines = {
        str(key.value): first + key.start_mark.line
        for name, value in node.value
        if name.value == "reveal" and isinstance(value, yaml.MappingNode)
        for key, _ in value.value
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
        elif key in NUMBER_KEYS:
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 < value < 1e6
            ):
                error(
                    key,
                    f"front matter '{key}' must be a positive number of {NUMBER_KEYS[key]}, "
                    f"not {value!r}",
                )
            else:
                setattr(meta, key, float(value))
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
        elif key in ("results", "external_images"):
            try:
                setattr(meta, key, paths.resolve(source.parent / value))
            except paths.PathProblem as problem:
                error(key, f"front matter '{key}': {problem}")
        elif key == "repository":
            if not value.startswith(("https://", "http://")) or len(value.split()) != 1:
                error(
                    key,
                    f"front matter 'repository' must be a web address (https://...), not {value!r}",
                )
            else:
                meta.repository = value.rstrip("/")
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
        problem = _json_problem(option)
        if problem:
            error("reveal", f"reveal.js option '{key}' {problem}", lines.get(key))
            continue
        options[key] = option
    return options


def _json_problem(value, depth: int = 0) -> str | None:
    """Why the value cannot go to reveal.js as JSON, or None: numbers, strings,
    booleans, lists and mappings with string keys only (load_yaml has ruled out
    cycles and bombs)."""
    if value is None or isinstance(value, (bool, int, str)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"holds {value}, which is not a finite number"
    if isinstance(value, list):
        return next(filter(None, (_json_problem(item, depth + 1) for item in value)), None)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"has a mapping key that is not a string: {_yaml_type(key)} ({key!r})"
            problem = _json_problem(item, depth + 1)
            if problem:
                return problem
        return None
    return f"must be a number, string, boolean, list or mapping, not {_yaml_type(value)}"


# --- YAML --------------------------------------------------------------------------

# Front matter and manifests are a few lines; these bound what a hostile file costs.
MAX_YAML_CHARS = 256 * 1024
MAX_YAML_NODES = 100_000  # nodes once every alias is expanded (an alias bomb has billions)


class YamlProblem(Exception):
    """YAML that cannot be loaded, at a 0-based line of the YAML text (or None);
    `context_line` is a second line the message names (an unclosed quote's start)."""

    def __init__(self, message: str, line: int | None = None, context_line: int | None = None):
        super().__init__(message)
        self.line, self.context_line = line, context_line

    def describe(self, first: int) -> str:
        """The message, its second line numbered as the file's line `first` + line."""
        message = str(self)
        if self.context_line is not None:
            message = message.replace("{line}", str(first + self.context_line))
        return message


def load_yaml(text: str, construct: bool = True):
    """(root node, Python value) of one YAML document; (None, None) when it is empty.

    Safe-loaded, with limits: the text's size, the node count once aliases are
    expanded, no recursive aliases, and every scalar must construct (a date that
    does not exist or `!!int abc` is a YamlProblem at its line, not a ValueError).
    """
    import yaml

    if len(text) > MAX_YAML_CHARS:
        raise YamlProblem(f"{len(text)} characters; the limit is {MAX_YAML_CHARS}")
    loader = _loader_class()(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as error:
            raise _yaml_problem(error) from None
        if node is None:
            return None, None
        _check_nodes(node)
        if not construct:
            return node, None
        try:
            return node, loader.construct_document(node)
        except yaml.YAMLError as error:
            raise _yaml_problem(error) from None
    finally:
        loader.dispose()


def _yaml_problem(error) -> YamlProblem:
    import yaml

    if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow
        text = error.name if isinstance(error.name, str) else ""
        line = text.count("\n", 0, error.position) if text else None
        code = ord(error.character) if isinstance(error.character, str) else error.character
        return YamlProblem(f"the character U+{code:04X} is not allowed in YAML", line)
    mark = getattr(error, "problem_mark", None)
    problem = (getattr(error, "problem", None) or str(error)).replace("{", "(").replace("}", ")")
    context = getattr(error, "context", None)
    context_mark = getattr(error, "context_mark", None)
    if context and context_mark:
        return YamlProblem(
            f"{problem} ({context} on line {{line}})",
            mark.line if mark else None,
            context_mark.line,
        )
    return YamlProblem(problem, mark.line if mark else None)


def _check_nodes(root) -> None:
    """Refuse recursive aliases, alias bombs and text that is not valid Unicode."""
    import yaml

    expanded: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded
    on_path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            expanded[key] = 1 + sum(expanded[id(child)] for child in children)
            if expanded[key] > MAX_YAML_NODES:
                raise YamlProblem(
                    f"more than {MAX_YAML_NODES} values once its aliases are expanded",
                    node.start_mark.line,
                )
            continue
        if key in expanded:
            continue
        if key in on_path:
            raise YamlProblem("an alias refers to a value that contains it", node.start_mark.line)
        if isinstance(node, yaml.ScalarNode):
            try:
                node.value.encode("utf-8")
            except UnicodeEncodeError:
                raise YamlProblem(
                    "the text is not valid Unicode (a lone surrogate escape?)",
                    node.start_mark.line,
                ) from None
            expanded[key] = 1
            continue
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in expanded)


def _children(node) -> list:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


_LOADER = None


def _loader_class():
    """PyYAML's safe loader whose scalars fail as YAML errors at their line: its
    constructors raise ValueError, KeyError... for `!!int abc` or 2024-02-30."""
    global _LOADER
    if _LOADER is None:
        import yaml

        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class Loader(base):
            def construct_object(self, node, deep=False):
                try:
                    return super().construct_object(node, deep)
                except yaml.YAMLError:
                    raise
                except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as error:
                    tag = node.tag.rsplit(":", 1)[-1]
                    value = node.value if isinstance(node.value, str) else ""
                    shown = repr(value if len(value) <= 40 else value[:40] + "...")
                    detail = ""
                    if isinstance(error, ValueError):
                        detail = str(error)
                        if "Exceeds the limit" in detail:
                            detail = f"more than {sys.get_int_max_str_digits()} digits"
                        detail = f" ({detail})"
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"{shown if value else 'the value'} is not a valid {tag}{detail}",
                        node.start_mark,
                    ) from None

        _LOADER = Loader
    return _LOADER


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
