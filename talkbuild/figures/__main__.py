"""`python -m talkbuild.figures [PROJECT] [--check] [--force]` (make figures, figures-check).

Without --check: regenerate the stale figures (all with --force); exit 1 when a
script failed. With --check: run nothing; exit 1 naming each stale script and
which of its inputs or outputs differ from its stamp.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..diagnostics import report
from . import regenerate, stale

PROJECT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m talkbuild.figures", description=__doc__)
    parser.add_argument("project", nargs="?", type=Path, default=PROJECT, help="holds scripts/")
    parser.add_argument("--check", action="store_true", help="only say what is stale, and why")
    parser.add_argument("--force", action="store_true", help="regenerate every figure")
    args = parser.parse_args(argv)
    if not (args.project / "scripts").is_dir():
        print(f"{args.project}: no scripts/ folder", file=sys.stderr)
        return 2
    if not args.check:
        return 1 if report(regenerate(args.project, force=args.force)) else 0
    found = stale(args.project)
    for script, reasons in found.items():
        print(f"{script}: stale: {'; '.join(reasons)}", file=sys.stderr)
    if found:
        print(
            f"figures: {len(found)} stale; run `make figures` (python -m talkbuild.figures) "
            "and commit figures/",
            file=sys.stderr,
        )
        return 1
    print("figures: every stamp matches its inputs", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
