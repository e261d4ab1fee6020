"""Assets: every file the deck folder needs besides index.html, and nothing more.

- reveal.js (core, reset and layout CSS, the notes plugin for the speaker view) and
  the chosen theme; the highlight plugin and its theme only when a slide has code;
  KaTeX's stylesheet only when a slide has math (typeset at build time by tex.py:
  the deck runs no KaTeX code), with the woff2 fonts of the typeset math and only
  those (the stylesheet's other @font-face rules and its woff/ttf fallbacks are
  cut). All from node_modules (installed by `npm ci`).
- The local images the slides reference (Markdown images, `src` of raw HTML
  `<img>`/`<video>`/`<audio>`/`<source>`, and `data-background-image`/`-video`
  slide attributes), copied to `media/` and the references rewritten, so the
  folder works on its own from file://. Remote URLs are kept with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from markdown_it.token import Token

from . import paths
from .diagnostics import Diagnostic
from .markdown import inline_lines
from .slides import Deck, Slide, display_path, slide_attribute_tokens, walk
from .tex import used_fonts

# Where the front-end files live inside node_modules.
REVEAL_DIST = Path("reveal.js/dist")
KATEX_DIST = Path("katex/dist")
# Raw HTML tags whose `src` is media to copy into the deck.
# (An unclosed tag is given up at the next "<": linear time on `<img <img <img ...`.)
MEDIA_TAG = re.compile(
    r"""<(?:img|video|audio|source)\b(?:[^<>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE
)
SRC_ATTRIBUTE = re.compile(r"""(\ssrc\s*=\s*)("([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.IGNORECASE)
URL_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:")
SLIDE_MEDIA_ATTRIBUTES = ("data-background-image", "data-background-video")
# An @import of web fonts in a theme: dropped, the deck must work offline.
REMOTE_IMPORT = re.compile(rb"""@import\s+(?:url\()?\s*["']?(?:https?:)?//[^;]*;\s*""")
# KaTeX's @font-face sources: keep woff2, which every current browser reads.
KATEX_FALLBACK_FONT = re.compile(
    r""",\s*url\([^)]*\.(?:woff|ttf)\)\s*format\(["'](?:woff|truetype)["']\)"""
)
KATEX_FONT_URL = re.compile(r"url\((fonts/[^)]+)\)")
KATEX_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
KATEX_FONT_FILE = re.compile(r"fonts/([\w-]+)\.woff2")


@dataclass(frozen=True)
class Asset:
    """A file of the deck folder: copied from `source`, or written from `data`."""

    dest: str  # relative POSIX path inside the deck folder
    source: Path | None = None
    data: bytes | None = None
    # May be a hard link to the source instead of a copy: for node_modules files,
    # which npm replaces rather than rewrites. Figures are copied, since a script
    # may rewrite one in place while an older deck still shows it.
    link: bool = False


@dataclass(frozen=True)
class Framework:
    """The reveal.js/KaTeX files of one deck, and what index.html links to."""

    assets: list[Asset]
    stylesheets: list[str]
    scripts: list[str]
    plugins: list[str]  # JavaScript globals passed to Reveal.initialize
    math: bool


def framework(
    node_modules: Path,
    deck: Deck,
    uses_code: bool,
    uses_math: bool,
    math_html: Sequence[str] = (),
) -> tuple[Framework | None, list[Diagnostic]]:
    """The reveal.js and KaTeX files this deck uses; `math_html` is the slides' typeset
    math, which decides the KaTeX fonts the deck needs."""
    reveal = node_modules / REVEAL_DIST
    katex = node_modules / KATEX_DIST
    missing = [p for p in (reveal, katex) if not p.is_dir()]
    if missing:
        return None, [
            Diagnostic(
                display_path(p),
                None,
                "not found: run `make deck` (which runs `npm ci`) to install reveal.js and KaTeX",
            )
            for p in missing
        ]
    diagnostics: list[Diagnostic] = []
    meta = deck.meta
    theme = reveal / "theme" / f"{meta.theme}.css"
    theme_data = theme.read_bytes()
    if not REMOTE_IMPORT.search(theme_data):
        theme_data = None  # used as it is
    else:
        theme_data = REMOTE_IMPORT.sub(b"", theme_data)
        diagnostics.append(
            Diagnostic(
                display_path(deck.sources[0]),
                meta.lines.get("theme", 1),
                f"theme '{meta.theme}' loads web fonts from the network; they are left out "
                "(fonts fall back to local ones). Themes with embedded fonts: black, white, "
                "black-contrast, white-contrast",
                "warning",
            )
        )
    assets = [
        Asset("reveal/reset.css", reveal / "reset.css", link=True),
        Asset("reveal/reveal.css", reveal / "reveal.css", link=True),
        Asset(f"reveal/theme/{meta.theme}.css", reveal / "theme" / f"{meta.theme}.css", link=True)
        if theme_data is None
        else Asset(f"reveal/theme/{meta.theme}.css", data=theme_data),
        Asset("reveal/reveal.js", reveal / "reveal.js", link=True),
        Asset("reveal/plugin/notes.js", reveal / "plugin/notes.js", link=True),
    ]
    stylesheets = ["reveal/reset.css", "reveal/reveal.css", f"reveal/theme/{meta.theme}.css"]
    scripts = ["reveal/reveal.js", "reveal/plugin/notes.js"]
    plugins = ["RevealNotes"]
    if uses_code:
        css = f"reveal/plugin/highlight/{meta.highlight_theme}.css"
        assets += [
            Asset(css, reveal / "plugin/highlight" / f"{meta.highlight_theme}.css", link=True),
            Asset("reveal/plugin/highlight.js", reveal / "plugin/highlight.js", link=True),
        ]
        stylesheets.append(css)
        scripts.append("reveal/plugin/highlight.js")
        plugins.append("RevealHighlight")
    if uses_math:
        css = (katex / "katex.min.css").read_text(encoding="utf-8")
        used = used_fonts(css, math_html)
        css = KATEX_FONT_FACE.sub(lambda face: face.group(0) if _font(face) in used else "", css)
        css = KATEX_FALLBACK_FONT.sub("", css)
        fonts = sorted(set(KATEX_FONT_URL.findall(css)))
        assets.append(Asset("katex/katex.min.css", data=css.encode("utf-8")))
        assets += [Asset(f"katex/{font}", katex / font, link=True) for font in fonts]
        stylesheets.append("katex/katex.min.css")
    return Framework(assets, stylesheets, scripts, plugins, uses_math), diagnostics


def _font(font_face: re.Match) -> str | None:
    match = KATEX_FONT_FILE.search(font_face.group(0))
    return match.group(1) if match else None


def uses(deck: Deck) -> tuple[bool, bool]:
    """(has code blocks, has math) anywhere in the deck, notes included."""
    code = math = False
    for slide in deck.slides:
        for token in walk(slide.tokens + slide.notes):
            if token.type in ("fence", "code_block"):
                code = True
            elif token.type.startswith("math_"):
                math = True
    return code, math


# --- Media -------------------------------------------------------------------------


class Media:
    """The local files the slides reference, each given one name under media/."""

    def __init__(self) -> None:
        self.dest: dict[Path, str] = {}  # resolved source -> path in the deck
        self.taken: set[str] = set()

    def add(self, source: Path) -> str:
        if source not in self.dest:
            name = source.name
            stem, suffix = source.stem, source.suffix
            n = 1
            while name in self.taken:
                n += 1
                name = f"{stem}-{n}{suffix}"
            self.taken.add(name)
            self.dest[source] = f"media/{name}"
        return self.dest[source]

    @property
    def assets(self) -> list[Asset]:
        return [Asset(dest, source) for source, dest in self.dest.items()]


def collect_media(
    deck: Deck, roots: list[Path] | None = None
) -> tuple[list[Asset], list[Diagnostic]]:
    """Copy every local image the slides use into media/ and point the slides there.

    Only files whose content is an image, a video or audio are copied, and with
    `roots`, only files inside those folders (see paths.py)."""
    media = Media()
    diagnostics: list[Diagnostic] = []
    for slide in deck.slides:
        diagnostics += _slide_media(slide, media, roots)
    return media.assets, diagnostics


def _slide_media(slide: Slide, media: Media, roots: list[Path] | None) -> list[Diagnostic]:
    diagnostics: list[Diagnostic] = []
    base = slide.source.parent

    def relink(ref: str, line: int, what: str = "image") -> str:
        """The reference as the deck folder sees it."""
        kind, path = _classify(ref, base)
        if kind == "remote":
            diagnostics.append(
                Diagnostic(
                    slide.path,
                    line,
                    f"{what} '{ref}' is remote: the deck needs the network to show it",
                    "warning",
                )
            )
        if kind != "local":
            return ref
        problem = _local_media_problem(path, roots)
        if problem:
            diagnostics.append(Diagnostic(slide.path, line, f"{what} '{ref}' {problem}"))
            return ref
        return quote(media.add(paths.resolve(path))) + _suffix(ref)

    def relink_html(content: str, first_line: int) -> str:
        def tag(match: re.Match) -> str:
            line = first_line + content.count("\n", 0, match.start())

            def src(attr: re.Match) -> str:
                value = next(v for v in attr.group(3, 4, 5) if v is not None)
                return f'{attr.group(1)}"{relink(unescape_attr(value), line)}"'

            return SRC_ATTRIBUTE.sub(src, match.group(0))

        return MEDIA_TAG.sub(tag, content) if "src" in content.lower() else content

    for name in SLIDE_MEDIA_ATTRIBUTES:
        if name in slide.attrs:
            line = _attribute_line(slide, name)
            slide.attrs[name] = relink(slide.attrs[name], line, "slide background")
    for token in slide.tokens + slide.notes:
        line = token.map[0] + 1 if token.map else slide.line
        if token.type == "html_block":
            token.content = relink_html(token.content, line)
        elif token.type == "inline" and token.children:
            _inline_media(token.children, line, relink, relink_html)
    return diagnostics


def _inline_media(children: list[Token], line: int, relink, relink_html) -> None:
    for child, at in inline_lines(children, line):
        if child.type == "image":
            child.attrSet("src", relink(str(child.attrs.get("src", "")), at))
        elif child.type == "html_inline":
            child.content = relink_html(child.content, at)


def _attribute_line(slide: Slide, name: str) -> int:
    """The line of the `.slide:` comment whose value of the attribute the slide has."""
    for token in reversed(slide_attribute_tokens(slide)):  # the last one wins
        if name in token.meta["slide_attrs"]:
            return token.map[0] + 1 if token.map else slide.line
    return slide.line


def _classify(ref: str, base: Path) -> tuple[str, Path | None]:
    """("local", path) | ("remote", None) | ("other", None) for a src/href value."""
    lowered = ref.lower()
    if lowered.startswith(("http://", "https://", "//")):
        return "remote", None
    if not ref or ref.startswith("#") or URL_SCHEME.match(lowered):
        return "other", None  # data:, blob:, mailto:, a fragment...
    return "local", base / unquote(ref.split("#", 1)[0].split("?", 1)[0])


def _local_media_problem(path: Path, roots: list[Path] | None) -> str | None:
    """Why the file cannot be copied into the deck, or None."""
    try:
        found = paths.kind(path)
        resolved = paths.resolve(path)
    except paths.PathProblem as problem:
        return f"cannot be used: {problem}"
    if found != "file":
        return "not found" if found == "missing" else "is not a file"
    if roots is not None and paths.outside(resolved, roots):
        return f"is {paths.OUTSIDE}"
    if paths.media_kind(resolved) is None:
        return "is not an image, a video or audio (judged by its content, not its name)"
    return None


def _suffix(ref: str) -> str:
    """A reference's ?query or #fragment, kept on the rewritten one."""
    match = re.search(r"[?#].*$", ref)
    return match.group(0) if match else ""


def unescape_attr(value: str) -> str:
    return value.replace("&amp;", "&").replace("&quot;", '"').replace("&#39;", "'")
