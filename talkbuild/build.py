"""The build pipeline: parse, regenerate figures, render, then write.

Like MkDocs's build: every stage runs and collects its diagnostics; nothing is
written until everything has rendered, and a build with errors writes nothing
(the previous deck stays). `build()` raises `BuildFailed` with every diagnostic
found, or returns a report (with the warnings) after swapping the new deck in.
The Markdown is parsed first; before figure scripts run, its errors go to
`config.early`: stale scripts can take minutes, a typo should not wait for them.

The figures belong to the deck: its project is the nearest folder holding
scripts/ from the deck's folder up (never above the repository's root), and
only that project's scripts run and its figures/ fill the placeholders.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from . import assets, external, markdown, onefile, output, results, slides
from .diagnostics import BuildFailed, Diagnostic
from .files import display_path

PROJECT = Path(__file__).resolve().parent.parent  # the repository: build.py, talkbuild/


@dataclass
class BuildConfig:
    source: Path = PROJECT / "slides"  # a Markdown file, or a folder of them
    output: Path = PROJECT / "build" / "deck"
    project: Path = PROJECT  # the builder's own: node_modules/
    # Where {{ name.key }} placeholders find name.json. None: the front matter's
    # `results:` (relative to the Markdown file), else the deck's figures/ (figures_project).
    results: Path | None = None
    figures: bool = True  # regenerate the deck's stale figures first (figures_project)
    force: bool = False  # regenerate every figure, stale or not
    strict: bool = False  # a missing external image (external.py) is an error, not a warning
    # Write one HTML file with everything inlined (onefile.py) instead of a folder.
    self_contained: bool = False
    progress: TextIO | None = field(default=None, repr=False)  # figure progress goes here
    # Called with the Markdown's diagnostics as soon as it is parsed, before any figure.
    early: Callable[[list[Diagnostic]], None] | None = field(default=None, repr=False)


@dataclass
class BuildReport:
    output: Path
    slides: int
    diagnostics: list[Diagnostic]  # warnings only: errors raise BuildFailed


@dataclass
class RenderedDeck:
    """Everything a build writes, before it is written."""

    deck: slides.Deck | None  # None when there is no Markdown to read
    page: str  # index.html
    assets: list[assets.Asset]  # every other file of the deck folder
    diagnostics: list[Diagnostic]  # errors and warnings


def figures_project(source: Path) -> Path | None:
    """The nearest folder holding scripts/, from the deck's folder up to its repository's root."""
    folder = Path(source).resolve()
    folder = folder if folder.is_dir() else folder.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "scripts").is_dir():
            return candidate
        if (candidate / ".git").exists():
            return None
    return None


def build(config: BuildConfig) -> BuildReport:
    """Parse, regenerate figures, render the deck, and only then write it (if error-free)."""
    loaded = load(config)
    diagnostics: list[Diagnostic] = []
    project = figures_project(config.source)
    if config.figures and project is not None:
        if config.early and loaded[2]:  # scripts may take minutes: show the slides' errors now
            config.early(loaded[2])
        diagnostics += regenerate_figures(config, project)
    rendered = render(config, loaded)
    diagnostics += rendered.diagnostics
    check_output = onefile.check_output_file if config.self_contained else output.check_output
    if rendered.deck is not None:
        diagnostics += check_output(config.output, rendered.deck.sources)
    if rendered.deck is None or any(d.is_error for d in diagnostics):
        raise BuildFailed(diagnostics)
    try:
        if config.self_contained:
            page = onefile.inline_page(
                rendered.page, rendered.assets, onefile.katex_fonts(rendered.deck)
            )
            onefile.write_file(config.output, page)
        else:
            output.write_deck(config.output, rendered.page, rendered.assets)
    except OSError as error:  # permissions, a file where a folder should be, a full disk
        where = error.filename or config.output
        raise BuildFailed(
            diagnostics
            + [
                Diagnostic(
                    display_path(Path(where)),
                    None,
                    f"cannot write the deck: {error.strerror or error}",
                )
            ]
        ) from error
    return BuildReport(config.output, len(rendered.deck.slides), diagnostics)


def load(config: BuildConfig) -> tuple:
    """Read and parse the Markdown: (deck or None, parser, diagnostics)."""
    sources, diagnostics = slides.deck_sources(config.source)
    if not sources:
        return None, None, diagnostics
    md = markdown.create_parser()
    deck, errors = slides.load_deck(sources, md)
    return deck, md, diagnostics + errors


def render(config: BuildConfig, loaded: tuple | None = None) -> RenderedDeck:
    """Render the deck (parsed by `load` unless given); writes nothing, raises nothing."""
    deck, md, diagnostics = loaded or load(config)
    diagnostics = list(diagnostics)
    if deck is None:
        return RenderedDeck(None, "", [], diagnostics)

    folder = Path(config.source) if Path(config.source).is_dir() else Path(config.source).parent
    default = (figures_project(config.source) or folder) / "figures"
    results_folder = config.results or deck.meta.results or default
    found = results.Results(results_folder)
    for slide in deck.slides:
        for part in (slide.tokens, slide.notes):
            diagnostics += results.resolve_includes(part, slide.source.parent, slide.path)
            diagnostics += results.substitute(part, found, slide.path)
        slide.attrs = slides.slide_attributes(slide)  # again: placeholders are filled now
    diagnostics += external.resolve(deck, config.project, strict=config.strict)
    media, errors = assets.collect_media(deck)
    diagnostics += errors

    for slide in deck.slides:
        slide.html = markdown.render(md, slide.tokens)
        slide.notes_html = markdown.render(md, slide.notes) if slide.notes else ""
    uses_code, uses_math = assets.uses(deck)
    framework, errors = assets.framework(
        config.project / "node_modules", deck, uses_code, uses_math
    )
    diagnostics += errors
    if framework is None:
        return RenderedDeck(deck, "", [], diagnostics)
    page = output.render_page(deck, framework)
    return RenderedDeck(deck, page, framework.assets + media, diagnostics)


def regenerate_figures(config: BuildConfig, project: Path) -> list[Diagnostic]:
    """Bring the project's figures and results files up to date; script failures are errors."""
    from .figures import regenerate  # only needed when figures are built

    return regenerate(project, force=config.force, progress=config.progress or sys.stderr)
