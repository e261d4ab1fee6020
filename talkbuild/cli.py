"""The command line: read the options, run the build, print each diagnostic once.

    python build.py [PATH] [-o OUTDIR] [--force] [--no-figures] [--strict]
    python build.py [PATH] --self-contained [-o FILE.html] ...
    python build.py [PATH] --serve [--port 8000] ...   (live preview: talkbuild/serve.py)

Exit status: 0 when the deck was written (warnings may be printed), 1 when there
were errors (the previous deck is left as it was), 2 for bad options.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import PROJECT, BuildConfig, build
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
        "--port",
        type=int,
        default=8000,
        help="the port for --serve (default: 8000; 0: any free port)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        metavar="DIR",
        help="where {{ name.key }} placeholders find name.json "
        "(default: front matter 'results:', else the project's figures/)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
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
        progress=sys.stderr,
        early=early,
    )
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
    report([d for d in built.diagnostics if d not in shown])
    page = built.output if config.self_contained else built.output / "index.html"
    print(f"{display_path(page)}: {built.slides} slides")
    return 0
