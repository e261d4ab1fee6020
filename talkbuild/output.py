"""Output: index.html from the Jinja template, and the deck folder swapped into place.

The new deck is written to a temporary folder beside the output folder and then
renamed over it, so a failed or interrupted build leaves the previous deck as it
was. An existing output folder is only replaced when it is empty or holds a deck
this builder wrote (its index.html names talkbuild as generator).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from markdown_it.common.utils import escapeHtml

from .assets import Asset, Framework
from .diagnostics import Diagnostic
from .slides import Deck, Slide, display_path

TEMPLATES = Path(__file__).parent / "templates"
GENERATOR = '<meta name="generator" content="talkbuild">'
DEFAULT_REVEAL_OPTIONS = {
    "hash": True,  # a reload stays on the current slide
}


@dataclass(frozen=True)
class SlideView:
    source: str  # "talk.md:12": the slide's file (by name) and line, for the deck check
    attrs_html: str
    html: str
    notes_html: str


def render_page(deck: Deck, framework: Framework) -> str:
    """index.html for the deck (slides already rendered to HTML)."""
    import jinja2  # the template engine is needed only once per build

    try:
        # The compiled template is kept in the system's temporary folder (keyed by
        # the template's checksum), which saves compiling it on every build.
        cache = jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):  # no usable temporary folder: compile every time
        cache = None
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        bytecode_cache=cache,
    )
    stacks = [
        [
            SlideView(
                source_line(slide),
                attrs_html(slide.attrs),
                slide.html.strip("\n"),
                slide.notes_html.strip("\n"),
            )
            for slide in stack
        ]
        for stack in deck.stacks
    ]
    return environment.get_template("deck.html.j2").render(
        meta=deck.meta,
        stacks=stacks,
        framework=framework,
        plugins=framework.plugins,
        config={**DEFAULT_REVEAL_OPTIONS, **deck.meta.reveal},
    )


def source_line(slide: Slide) -> str:
    """`talk.md:12`: where the slide starts, by the file's name (the files of a deck
    share one folder), so the page does not depend on where the build ran."""
    return f"{slide.source.name}:{slide.line}"


def attrs_html(attrs: dict[str, str]) -> str:
    """` name="value"` for each attribute; a bare ` name` when the value is empty."""
    return "".join(
        f' {escapeHtml(name)}="{escapeHtml(value)}"' if value else f" {escapeHtml(name)}"
        for name, value in attrs.items()
    )


def check_output(out: Path, sources: list[Path]) -> list[Diagnostic]:
    """Why the output folder must not be written, if it must not."""
    shown = display_path(out)
    if out.exists() and not out.is_dir():
        return [Diagnostic(shown, None, "output exists and is not a folder")]
    resolved = out.resolve()
    for source in sources:
        if resolved == source.resolve() or resolved in source.resolve().parents:
            return [
                Diagnostic(
                    shown,
                    None,
                    "output folder would replace the slides "
                    f"({display_path(source)}); choose another",
                )
            ]
    if out.is_dir() and any(out.iterdir()) and not is_deck_page(out / "index.html"):
        return [
            Diagnostic(
                shown,
                None,
                "output folder exists and is not a deck built by build.py; refusing to replace it",
            )
        ]
    return []


def is_deck_page(page: Path) -> bool:
    """Whether `page` is an HTML page build.py wrote (so it may be replaced)."""
    try:
        with open(page, encoding="utf-8", errors="replace") as index:
            return GENERATOR in index.read(2048)
    except OSError:
        return False


def write_deck(out: Path, index_html: str, assets: list[Asset]) -> None:
    """Write the deck to a temporary folder, then swap it in for `out`."""
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        made: set[Path] = {new}
        for asset in assets:
            dest = new / asset.dest
            if dest.parent not in made:
                dest.parent.mkdir(parents=True, exist_ok=True)
                made.add(dest.parent)
            if asset.data is not None:
                dest.write_bytes(asset.data)
            elif not (asset.link and _hard_link(asset.source, dest)):
                shutil.copyfile(asset.source, dest)
        (new / "index.html").write_text(index_html, encoding="utf-8")
        os.chmod(new, 0o755)  # mkdtemp makes it private
        _swap(new, out)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise


def _hard_link(source: Path, dest: Path) -> bool:
    """Link instead of copying when source and deck share a file system (faster)."""
    try:
        os.link(source, dest)
        return True
    except OSError:  # another file system, or links not allowed
        return False


def _swap(new: Path, out: Path) -> None:
    if not out.exists():
        os.rename(new, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rename(out, old / out.name)
    try:
        os.rename(new, out)
    except BaseException:
        os.rename(old / out.name, out)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
