"""The command line: read the options, run the build, print each diagnostic once.

    python build.py [PATH] [-o OUTDIR] [--force] [--no-figures] [--strict]
    python build.py [PATH] --self-contained [-o FILE.html] ...
    python build.py [PATH] --serve [--port 8000] ...   (live preview: talkbuild/serve.py)
    python build.py [PATH] --timing   (each slide's estimated time: talkbuild/pacing.py)
    python build.py [PATH] --check ...   (build, then check in Chromium: talkbuild/check.py)

Exit status: 0 when the deck was written (warnings may be printed), 1 when there
were errors (the previous deck is left as it was) or, with --check, findings;
2 for bad options.
"""

from __future__ import annotations

import argparse
import signal
import sys
import traceback
from pathlib import Path

from .build import PROJECT, BuildConfig, build, render
from .diagnostics import BuildFailed, Diagnostic, report
from .files import display_path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="build.py", description="Build an offline reveal.js deck from Markdown."
    )
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        metavar="PATH",
        help="a Markdown file, or a folder whose *.md files make one deck "
        "in name order (default: the project's slides/)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="OUTDIR",
        help="the deck folder to write (default: the project's build/deck); "
        "with --self-contained, the HTML file (default: build/deck.html)",
    )
    parser.add_argument(
        "--self-contained",
        action="store_true",
        help="write the deck as one HTML file with everything inlined",
    )
    parser.add_argument(
        "--force", action="store_true", help="regenerate every figure, not only the stale ones"
    )
    parser.add_argument(
        "--no-figures",
        action="store_true",
        help="do not run the figure scripts; use the figures as they are",
    )
    parser.add_argument(
        "--strict", action="store_true", help="treat missing external assets as errors"
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="serve the deck on 127.0.0.1, rebuild on every change and "
        "reload the browser (Ctrl-C stops)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="after building, open the deck in headless Chromium, visit every slide and "
        "fragment step, and report what the audience would not see right",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="the port for --serve (default: 8000; 0: any free port)",
    )
    parser.add_argument(
        "--timing",
        action="store_true",
        help="print each slide's estimated time from its notes, and the total "
        "against the front matter's duration; writes nothing",
    )
    parser.add_argument(
        "--results",
        type=Path,
        metavar="DIR",
        help="where {{ name.key }} placeholders find name.json "
        "(default: front matter 'results:', else the project's figures/)",
    )
    parser.add_argument(
        "--allow-outside",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="let the deck copy or include files from DIR, outside its project folder (repeatable)",
    )
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of an internal error"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, katex=None) -> int:
    """katex: a warm typesetter (tex.WarmKatex's `typeset`), as the resident builder has."""
    args = parse_args(argv)
    # A stopped build (SIGTERM: a CI timeout, `kill`) unwinds like Ctrl-C, so the
    # figure pipeline's `finally` stops the scripts it started instead of leaving them.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    shown: set[Diagnostic] = set()  # printed as soon as the Markdown was parsed

    def early(diagnostics: list[Diagnostic]) -> None:
        report(diagnostics)
        shown.update(diagnostics)

    config = BuildConfig(
        source=args.path or PROJECT / "slides",
        output=args.output or PROJECT / "build" / ("deck.html" if args.self_contained else "deck"),
        self_contained=args.self_contained,
        results=args.results,
        figures=not args.no_figures,
        force=args.force,
        strict=args.strict,
        allow_outside=tuple(args.allow_outside),
        progress=sys.stderr,
        early=early,
        katex=katex,
    )
    if args.timing:
        return timing(config)
    if args.serve and args.check:
        print("build.py: --check and --serve do not go together", file=sys.stderr)
        return 2
    if args.serve:
        from .serve import serve  # the HTTP server is only needed here

        return serve(config, args.port)
    try:
        built = build(config)
    except BuildFailed as failure:
        report([d for d in failure.diagnostics if d not in shown])
        errors = sum(d.is_error for d in set(failure.diagnostics))
        print(
            f"build failed: {errors} error{'s' * (errors != 1)}; the previous deck is unchanged",
            file=sys.stderr,
        )
        return 1
    except Exception as error:  # a bug of the builder: one line, the traceback on request
        if args.debug:
            traceback.print_exc()
        print(
            f"{display_path(config.source)}: internal error: {type(error).__name__}: "
            + " ".join(str(error).split())
            + ("" if args.debug else " (run with --debug for the traceback)"),
            file=sys.stderr,
        )
        return 1
    report([d for d in built.diagnostics if d not in shown])
    page = built.output if config.self_contained else built.output / "index.html"
    print(f"{display_path(page)}: {built.slides} slides")
    if args.check:
        return check(page, config)
    return 0


def timing(config: BuildConfig) -> int:
    """--timing: render the deck (without running scripts) and print the pacing table."""
    from .pacing import pace, table

    rendered = render(config)
    report(rendered.diagnostics)
    if rendered.deck is None or any(d.is_error for d in rendered.diagnostics):
        return 1
    print(table(rendered.timing or pace(rendered.deck)[0]))
    return 0


def check(page: Path, config: BuildConfig) -> int:
    """Check the deck just built in Chromium; 1 when there are findings."""
    import time

    from .check import check as check_deck  # Playwright is only needed here

    started = time.perf_counter()
    walk = check_deck(page, config.source, config.project / "node_modules")
    report(walk.findings)
    seconds = time.perf_counter() - started
    count = len(walk.findings)
    print(
        f"{display_path(page)}: checked {walk.slides} slides, {walk.steps} steps in "
        f"{seconds:.1f} s: {count or 'no'} finding{'s' * (count != 1)}",
        file=sys.stderr if count else sys.stdout,
    )
    return 1 if count else 0
