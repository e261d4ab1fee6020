"""The one-file deck: index.html with every file it links to inlined.

Stylesheets become <style> elements, scripts inline <script> elements, and what
they and the slides point at (KaTeX's fonts, the figures under media/) data:
URIs, so the single HTML file opens by double-click without network or folder
and can be sent by email. reveal.js's speaker view needs nothing more: the notes
plugin writes it into an about:blank window and shows the slides by loading this
same file in iframes.

KaTeX's fonts are most of the weight that is not the deck's own; the folder deck
already has only those its typeset math uses (assets.py), and so has this file.
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
from .slides import display_path

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
# An attribute whose value is a file of the deck folder's media/ (assets.py puts
# every local image there and points the slides at it).
MEDIA_ATTRIBUTE = re.compile(r'(\s[\w:-]+=")(media/[^"?#]*)(?:\?[^"#]*)?(#[^"]*)?"')
# The HTML spec's advice for script contents: escape these three sequences, which
# would end the <script> element or switch the parser into its "double escaped"
# state; "\x3C" is "<" in JavaScript strings, regular expressions and templates.
SCRIPT_HAZARD = re.compile(r"<(!--|/?script)", re.IGNORECASE)


def inline_page(page: str, assets: list[Asset]) -> str:
    """index.html as one file."""
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
