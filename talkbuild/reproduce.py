"""Do the project's figures and results reproduce? Regenerate them from nothing and compare.

    python -m talkbuild.reproduce [--slides PATH] [--figures DIR] [--reproduced DIR] [--keep]

1. Copy `scripts/` into a scratch folder and run every script there from nothing
   (the figures stage with `force`: no stamps, no memoised networks), so the
   project's own `figures/` is never touched. `--reproduced DIR` skips this and
   compares with a folder regenerated elsewhere.
2. Every number the deck shows must match: each placeholder `{{ name.key:spec }}`
   of the slides is formatted with its spec from the project's results and from
   the reproduced ones, exactly as the build does (talkbuild.results), and the
   two texts must be equal. A placeholder without a spec shows the value as
   saved, so it must match to the last digit. A mismatch is an error at the
   slide's `path:line` naming the placeholder and both values; the exit status
   is then 1.
3. Every output is reported: byte-identical; differing only below what the deck
   shows (a results file whose placeholders all match; an SVG whose drawing is
   the same with every coordinate within SVG_TOLERANCE); or differing. A figure
   that differs more is listed but is not an error: what the slides quote are
   the placeholders, and a drawing can move by a rounding step on another CPU.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import markdown, results, slides
from .build import PROJECT
from .diagnostics import Diagnostic

# SVG coordinates are in points (1/72 in). The talk's figures are at most a
# slide wide, about 2 pixels per point on a 1920x1080 screen, so a hundredth of
# a point is well under a pixel.
SVG_TOLERANCE = 0.01
# A number standing alone in SVG text (path data, attributes), not part of a
# name, an id or a colour such as `p3e8f1c2a9b` or `#1f77b4`.
SVG_NUMBER = re.compile(r"(?<![\w#.-])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")


@dataclass
class Output:
    name: str  # path relative to the figures folder
    status: str  # "identical", "below" (differs only below what the deck shows), "differs"
    detail: str = ""  # why, for the last two


@dataclass
class Comparison:
    outputs: list[Output] = field(default_factory=list)
    committed_only: list[str] = field(default_factory=list)  # not written by any script
    reproduced_only: list[str] = field(default_factory=list)  # missing from the project
    placeholders: int = 0  # placeholders compared
    diagnostics: list[Diagnostic] = field(default_factory=list)  # mismatches and errors

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def named(self, status: str) -> list[Output]:
        return [output for output in self.outputs if output.status == status]


class _Compared:
    """Stands in for talkbuild.results.Results: each placeholder is formatted from
    both folders; a difference is a ResultError, which results.substitute turns
    into a diagnostic at the placeholder's line."""

    def __init__(self, committed: Path, reproduced: Path):
        self.committed = results.Results(committed)
        self.reproduced = results.Results(reproduced)
        self.shown_by: Counter[str] = Counter()  # results file name: placeholders that matched
        self.mismatched: set[str] = set()
        self.compared = 0

    def value(self, dotted: str, spec: str | None = None) -> str:
        placeholder = "{{ " + dotted + (f":{spec}" if spec else "") + " }}"
        name = dotted.split(".")[0]
        committed = self.committed.value(dotted, spec)  # a ResultError names what is missing
        self.compared += 1
        try:
            reproduced = self.reproduced.value(dotted, spec)
        except results.ResultError as error:
            self.mismatched.add(name)
            raise results.ResultError(
                f"{placeholder}: committed {committed}, not reproduced: {error}"
            ) from None
        if reproduced != committed:
            self.mismatched.add(name)
            raise results.ResultError(
                f"{placeholder}: committed {committed}, reproduced {reproduced}"
            )
        self.shown_by[name] += 1
        return committed


def compare(source: Path, committed: Path, reproduced: Path) -> Comparison:
    """Compare the committed figures folder with a reproduced one, as the deck at
    `source` (a Markdown file or folder) shows them."""
    comparison = Comparison()
    if not committed.is_dir():
        comparison.diagnostics.append(
            Diagnostic(slides.display_path(committed), None, "no such folder: nothing to compare")
        )
        return comparison
    sources, errors = slides.deck_sources(source)
    comparison.diagnostics += errors
    compared = _Compared(committed, reproduced)
    if sources:
        deck, errors = slides.load_deck(sources, markdown.create_parser())
        comparison.diagnostics += errors
        for slide in deck.slides:
            for part in (slide.tokens, slide.notes):
                comparison.diagnostics += results.substitute(part, compared, slide.path)
    comparison.placeholders = compared.compared

    ours, theirs = _files(committed), _files(reproduced)
    comparison.committed_only = sorted(ours - theirs)
    comparison.reproduced_only = sorted(theirs - ours)
    for name in sorted(ours & theirs):
        comparison.outputs.append(
            _output(
                name, (committed / name).read_bytes(), (reproduced / name).read_bytes(), compared
            )
        )
    return comparison


def _files(folder: Path) -> set[str]:
    """The outputs in a figures folder: every file, except hidden ones (.cache/)."""
    if not folder.is_dir():
        return set()
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(folder).parts)
    }


def _output(name: str, ours: bytes, theirs: bytes, compared: _Compared) -> Output:
    if ours == theirs:
        return Output(name, "identical")
    if name.endswith(".json") and "/" not in name:
        stem = name[: -len(".json")]
        if stem in compared.mismatched:
            return Output(name, "differs", "a number the deck shows differs")
        shown = compared.shown_by[stem]
        if not _is_json(ours) or not _is_json(theirs):
            return Output(name, "differs", "not valid JSON")
        if shown:
            return Output(name, "below", f"the {shown} placeholder(s) reading it match")
        return Output(name, "below", "no slide quotes it")
    if name.endswith(".svg"):
        return _svg(name, ours.decode("utf-8", "replace"), theirs.decode("utf-8", "replace"))
    return Output(name, "differs", f"{len(ours)} against {len(theirs)} bytes")


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


def _svg(name: str, ours: str, theirs: str) -> Output:
    """Same drawing with every coordinate within SVG_TOLERANCE: below what the deck shows."""
    our_parts, their_parts = SVG_NUMBER.split(ours), SVG_NUMBER.split(theirs)
    our_numbers, their_numbers = SVG_NUMBER.findall(ours), SVG_NUMBER.findall(theirs)
    if our_parts != their_parts or len(our_numbers) != len(their_numbers):
        return Output(name, "differs", "the drawing differs (other elements or text)")
    largest = max(abs(float(a) - float(b)) for a, b in zip(our_numbers, their_numbers))
    moved = sum(a != b for a, b in zip(our_numbers, their_numbers))
    detail = f"{moved} coordinate(s) moved, by at most {largest:.2g} pt"
    return Output(name, "below" if largest <= SVG_TOLERANCE else "differs", detail)


def regenerate_from_nothing(project: Path, scratch: Path, progress=None) -> list[Diagnostic]:
    """Copy the project's scripts into `scratch` and run them all there; outputs land in
    `scratch/figures` (figkit writes next to its scripts folder)."""
    from .figures import regenerate

    shutil.copytree(
        project / "scripts",
        scratch / "scripts",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return regenerate(scratch, force=True, progress=progress or sys.stderr)


def report(comparison: Comparison, committed: str, out=None) -> None:
    """Print what matched and what did not (mismatches go to stderr as path:line)."""
    out = out or sys.stdout
    identical, below, differs = (comparison.named(s) for s in ("identical", "below", "differs"))
    print(
        f"reproduce: {len(comparison.outputs)} outputs: {len(identical)} byte-identical, "
        f"{len(below)} differ only below what the deck shows, {len(differs)} differ",
        file=out,
    )
    if identical:
        print("  byte-identical: " + ", ".join(o.name for o in identical), file=out)
    for output in below:
        print(f"  below what the deck shows: {output.name} ({output.detail})", file=out)
    for output in differs:
        print(f"  differs: {output.name} ({output.detail})", file=out)
    for name in comparison.committed_only:
        print(f"  in {committed} but written by no script: {name}", file=out)
    for name in comparison.reproduced_only:
        print(f"  reproduced but not in {committed}: {name}", file=out)
    for diagnostic in sorted(
        dict.fromkeys(comparison.diagnostics), key=lambda d: (str(d.path), d.line or 0)
    ):
        print(diagnostic, file=sys.stderr)
    errors = sum(d.is_error for d in comparison.diagnostics)
    verdict = "all match" if not errors else f"{errors} error{'s' * (errors != 1)}"
    print(
        f"reproduce: {comparison.placeholders} placeholders compared: {verdict}",
        file=out if not errors else sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m talkbuild.reproduce",
        description="Regenerate every figure from nothing in a scratch copy and compare "
        "the numbers the deck shows with the project's figures/.",
    )
    parser.add_argument(
        "--slides",
        type=Path,
        default=PROJECT / "slides",
        metavar="PATH",
        help="the deck whose placeholders are compared (default: slides/)",
    )
    parser.add_argument(
        "--figures",
        type=Path,
        default=PROJECT / "figures",
        metavar="DIR",
        help="the project's figures and results (default: figures/)",
    )
    parser.add_argument(
        "--reproduced",
        type=Path,
        metavar="DIR",
        help="compare with this regenerated figures folder instead of regenerating",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch copy (its path is printed)"
    )
    args = parser.parse_args(argv)
    shown = slides.display_path(args.figures)
    if args.reproduced is not None:
        if not args.reproduced.is_dir():
            print(f"{args.reproduced}: no such folder", file=sys.stderr)
            return 1
        comparison = compare(args.slides, args.figures, args.reproduced)
        report(comparison, shown)
        return 0 if comparison.ok else 1

    scratch = Path(tempfile.mkdtemp(prefix="talk-reproduce-"))
    try:
        print(f"reproduce: regenerating every figure from nothing in {scratch}", file=sys.stderr)
        start = time.monotonic()
        failures = regenerate_from_nothing(PROJECT, scratch)
        print(f"reproduce: regenerated in {time.monotonic() - start:.0f} s", file=sys.stderr)
        comparison = compare(args.slides, args.figures, scratch / "figures")
        comparison.diagnostics += failures
        report(comparison, shown)
    finally:
        if args.keep:
            print(f"reproduce: the scratch copy is kept in {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0 if comparison.ok else 1


if __name__ == "__main__":
    sys.exit(main())
