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

import dataclasses
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from . import (
    assets,
    external,
    markdown,
    onefile,
    output,
    pacing,
    paths,
    provenance,
    results,
    slides,
    tex,
)
from .diagnostics import BuildFailed, Diagnostic
from .files import display_path

PROJECT = Path(__file__).resolve().parent.parent  # the repository: build.py, talkbuild/
CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")  # what would break a message's line


@dataclass
class BuildConfig:
    source: Path = PROJECT / "slides"  # a Markdown file, or a folder of them
    output: Path = PROJECT / "build" / "deck"
    project: Path = PROJECT  # the builder's own: node_modules/
    # Typeset formulas kept between builds (tex.py); None: build/.cache in the deck's project
    # folder (paths.project_root).
    cache: Path | None = None
    # A Node process kept between builds (the live preview's); None: one per build.
    katex: tex.WarmKatex | None = field(default=None, repr=False)
    # Where {{ name.key }} placeholders find name.json. None: the front matter's
    # `results:` (relative to the Markdown file), else the deck's figures/ (figures_project).
    results: Path | None = None
    figures: bool = True  # regenerate the deck's stale figures first (figures_project)
    force: bool = False  # regenerate every figure, stale or not
    strict: bool = False  # a missing external image (external.py) is an error, not a warning
    # Folders besides the deck's project folder whose files the deck may copy or
    # include (paths.py): anything outside is an error unless it is in one of these.
    allow_outside: tuple[Path, ...] = ()
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
    # Each slide's estimated time, when the front matter asks for pacing (pacing.py).
    timing: pacing.Pacing | None = None


def figures_project(source: Path) -> Path | None:
    """The deck's project folder (paths.project_root) when it holds figure scripts
    (scripts/), else None: a deck without scripts runs none."""
    try:
        project = paths.project_root(source)
    except paths.PathProblem:
        return None  # deck_sources reports the path
    return project if (project / "scripts").is_dir() else None


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
        try:
            paths.check(config.output)
            diagnostics += check_output(config.output, rendered.deck.sources)
        except paths.PathProblem as problem:
            diagnostics.append(
                Diagnostic(slides.display_path(config.output), None, f"output: {problem}")
            )
    if rendered.deck is None or any(d.is_error for d in diagnostics):
        raise BuildFailed(diagnostics)
    try:
        if config.self_contained:
            page = onefile.inline_page(rendered.page, rendered.assets)
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
    roots, errors = allowed_folders(config)
    diagnostics += errors
    found = results.Results(results_folder)
    quoted = provenance.quotes(deck)  # the placeholders as written, before they are filled
    for slide in deck.slides:
        for part in (slide.tokens, slide.notes):
            diagnostics += results.resolve_includes(part, slide.source.parent, slide.path, roots)
            diagnostics += results.substitute(part, found, slide.path)
            diagnostics += markdown.fence_diagnostics(part, slide.path)
        slide.attrs = slides.slide_attributes(slide)  # again: placeholders are filled now
    # Node typesets the math while the images are collected.
    node_modules = config.project / "node_modules"
    formulas = tex.collect(deck.slides)
    cache = config.cache or (roots[0] / "build" / ".cache")  # roots[0]: the deck's project
    typesetting = tex.start(formulas, node_modules, cache, config.katex)
    diagnostics += external.resolve(deck, config.project, strict=config.strict)
    # figkit records script paths relative to the folder holding scripts/.
    script_root = figures_project(config.source) or config.project
    sources, errors = provenance.collect(deck, quoted, found, script_root)
    diagnostics += errors
    media, errors = assets.collect_media(deck, roots)
    diagnostics += errors
    diagnostics += tex.finish(typesetting)

    for slide in deck.slides:
        slide.html = markdown.render(md, slide.tokens)
        slide.notes_html = markdown.render(md, slide.notes) if slide.notes else ""
    timing, errors = pacing.apply(deck)  # data-timing and totalTime, from the notes
    diagnostics += errors
    uses_code, uses_math = assets.uses(deck)
    framework, errors = assets.framework(
        node_modules,
        deck,
        uses_code,
        uses_math,
        [f.token.meta.get("html", "") for f in formulas if not f.mathml],
    )
    diagnostics += errors
    if framework is None:
        return RenderedDeck(deck, "", [], one_line(diagnostics), timing)
    if sources is not None:
        framework = provenance.framework(framework, sources)
    page = output.render_page(deck, framework)
    return RenderedDeck(deck, page, framework.assets + media, one_line(diagnostics), timing)


def one_line(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics with control characters of the deck's text (a newline in a
    theme name, a path, a YAML key) escaped, so that each prints as one line."""
    return [
        dataclasses.replace(d, message=CONTROL.sub(lambda m: repr(m.group(0))[1:-1], d.message))
        if CONTROL.search(d.message)
        else d
        for d in diagnostics
    ]


def allowed_folders(config: BuildConfig) -> tuple[list[Path], list[Diagnostic]]:
    """The folders whose files a deck may copy or include: its project folder (paths.py)
    and the ones allowed with --allow-outside."""
    roots, errors = [paths.project_root(config.source)], []
    for folder in config.allow_outside:
        try:
            roots.append(paths.resolve(folder))
        except paths.PathProblem as problem:
            errors.append(Diagnostic(str(folder), None, f"--allow-outside: {problem}"))
    return roots, errors


def regenerate_figures(config: BuildConfig, project: Path) -> list[Diagnostic]:
    """Bring the project's figures and results files up to date; script failures are errors."""
    from .figures import regenerate  # only needed when figures are built

    return regenerate(project, force=config.force, progress=config.progress or sys.stderr)
