"""The one-file deck: index.html with every file it links to inlined.

Stylesheets become <style> elements, scripts inline <script> elements, and what
they and the slides point at (KaTeX's fonts, the figures under media/) data:
URIs, so the single HTML file opens by double-click without network or folder
and can be sent by email. reveal.js's speaker view needs nothing more: the notes
plugin writes it into an about:blank window and shows the slides by loading this
same file in iframes.

KaTeX's fonts are most of the weight that is not the deck's own, so only those
the deck's TeX can reach are kept (see `katex_fonts`).
"""

from __future__ import annotations

import base64
import mimetypes
import posixpath
import re
from html import unescape
from pathlib import Path
from urllib.parse import unquote

from .assets import Asset
from .diagnostics import Diagnostic
from .files import write_atomically
from .output import is_deck_page
from .slides import Deck, display_path, walk

# Media types mimetypes may not know (it reads the system's tables).
MEDIA_TYPES = {
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".svg": "image/svg+xml",
    ".js": "text/javascript",
    ".css": "text/css",
}
# What the page template writes for the deck folder's stylesheets and scripts.
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)">')
SCRIPT = re.compile(r'<script src="([^"]+)"></script>')
CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")
FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
# An attribute whose value is a file of the deck folder's media/ (assets.py puts
# every local image there and points the slides at it).
MEDIA_ATTRIBUTE = re.compile(r'(\s[\w:-]+=")(media/[^"?#]*)(?:\?[^"#]*)?(#[^"]*)?"')
# The HTML spec's advice for script contents: escape these three sequences, which
# would end the <script> element or switch the parser into its "double escaped"
# state; "\x3C" is "<" in JavaScript strings, regular expressions and templates.
SCRIPT_HAZARD = re.compile(r"<(!--|/?script)", re.IGNORECASE)

# KaTeX font files (katex/dist/fonts/<name>.woff2) every deck with math keeps:
# ordinary text and operators, variables, the AMS symbols and the big delimiters
# and operators (\sum, \left( ... \right)).
KATEX_CORE_FONTS = {
    "KaTeX_Main-Regular",
    "KaTeX_Main-Italic",
    "KaTeX_Math-Italic",
    "KaTeX_AMS-Regular",
    "KaTeX_Size1-Regular",
    "KaTeX_Size2-Regular",
    "KaTeX_Size3-Regular",
    "KaTeX_Size4-Regular",
}
# The others, kept only when the TeX uses a command that selects them.
KATEX_OPTIONAL_FONTS = {
    r"\\(?:mathbf|bf|textbf|boldsymbol|bm|bold|pmb|mathbfit)\b": {
        "KaTeX_Main-Bold",
        "KaTeX_Main-BoldItalic",
        "KaTeX_Math-BoldItalic",
    },
    r"\\(?:mathcal|cal)\b": {"KaTeX_Caligraphic-Regular", "KaTeX_Caligraphic-Bold"},
    r"\\(?:mathfrak|frak|textfrak)\b": {"KaTeX_Fraktur-Regular", "KaTeX_Fraktur-Bold"},
    r"\\mathscr\b": {"KaTeX_Script-Regular"},
    r"\\(?:mathsf|sf|textsf|mathsfit)\b": {
        "KaTeX_SansSerif-Regular",
        "KaTeX_SansSerif-Bold",
        "KaTeX_SansSerif-Italic",
    },
    r"\\(?:mathtt|tt|texttt|verb)\b": {"KaTeX_Typewriter-Regular"},
}


def katex_fonts(deck: Deck) -> set[str]:
    """The KaTeX font files (without extension) the deck's math can need."""
    tex = "\n".join(
        token.content
        for slide in deck.slides
        for token in walk(slide.tokens + slide.notes)
        if token.type.startswith("math_")
    )
    fonts = set(KATEX_CORE_FONTS)
    for command, names in KATEX_OPTIONAL_FONTS.items():
        if re.search(command, tex):
            fonts |= names
    return fonts


def inline_page(page: str, assets: list[Asset], fonts: set[str] | None = None) -> str:
    """index.html as one file; `fonts` limits KaTeX's fonts (None: keep them all)."""
    files = {asset.dest: asset for asset in assets}

    def data_uri(dest: str, fragment: str = "") -> str:
        suffix = posixpath.splitext(dest)[1].lower()
        media_type = (
            MEDIA_TYPES.get(suffix) or mimetypes.guess_type(dest)[0] or "application/octet-stream"
        )
        data = base64.b64encode(_read(files[dest])).decode("ascii")
        return f"data:{media_type};base64,{data}{fragment}"

    def stylesheet(match: re.Match) -> str:
        href = unescape(match.group(1))
        if href not in files:
            return match.group(0)
        css = _read(files[href]).decode("utf-8")
        if fonts is not None and href.startswith("katex/"):
            css = FONT_FACE.sub(
                lambda face: face.group(0) if _font_name(face.group(0)) in fonts else "", css
            )
        folder = posixpath.dirname(href)

        def url(ref: re.Match) -> str:
            dest = posixpath.normpath(posixpath.join(folder, ref.group(2).split("#")[0]))
            return f"url({data_uri(dest)})" if dest in files else ref.group(0)

        css = CSS_URL.sub(url, css).replace("</style", r"<\/style")
        return f"<style>\n{css}\n</style>"

    def script(match: re.Match) -> str:
        src = unescape(match.group(1))
        if src not in files:
            return match.group(0)
        code = SCRIPT_HAZARD.sub(r"\\x3C\1", _read(files[src]).decode("utf-8"))
        return f"<script>\n{code}\n</script>"

    def media(match: re.Match) -> str:
        dest = unquote(match.group(2))
        if dest not in files:
            return match.group(0)
        return f'{match.group(1)}{data_uri(dest, match.group(3) or "")}"'

    page = MEDIA_ATTRIBUTE.sub(media, page)  # first: the slides only, not the inlined code
    page = STYLESHEET.sub(stylesheet, page)
    return SCRIPT.sub(script, page)


def _read(asset: Asset) -> bytes:
    return asset.data if asset.data is not None else asset.source.read_bytes()


def _font_name(font_face: str) -> str | None:
    match = re.search(r"fonts/([\w-]+)\.woff2", font_face)
    return match.group(1) if match else None


def check_output_file(out: Path, sources: list[Path]) -> list[Diagnostic]:
    """Why the one-file deck must not be written to `out`, if it must not."""
    shown = display_path(out)
    if out.is_dir():
        return [
            Diagnostic(
                shown,
                None,
                "output is a folder; the one-file deck is a file (e.g. build/deck.html)",
            )
        ]
    if out.exists() and not is_deck_page(out):
        return [
            Diagnostic(
                shown,
                None,
                "output file exists and is not a deck built by build.py; refusing to replace it",
            )
        ]
    resolved = out.resolve()
    if any(resolved == source.resolve() for source in sources):
        return [Diagnostic(shown, None, "output file would replace the slides; choose another")]
    return []


def write_file(out: Path, page: str) -> None:
    """Write the page beside `out`, then rename it over `out` (atomic)."""
    write_atomically(out, page)
