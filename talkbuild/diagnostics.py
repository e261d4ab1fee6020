"""Errors and warnings that point at a file and line.

Every stage of the build reports problems as `Diagnostic`s instead of raising at
the first one, so a single run lists everything that is wrong. A stage that
cannot go on raises `BuildFailed` with all diagnostics collected so far.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: Path | str
    line: int | None  # 1-based; None when the problem concerns the whole file
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{where}: {prefix}{self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class BuildFailed(Exception):
    """Raised once, after a stage has collected every error it could find."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def in_order(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Each diagnostic once, by file and line (a stage's own order within a line)."""
    return sorted(dict.fromkeys(diagnostics), key=lambda d: (str(d.path), d.line or 0))


def report(diagnostics: list[Diagnostic], stream: TextIO | None = None) -> int:
    """Print every diagnostic once, in order; return how many are errors."""
    shown = in_order(diagnostics)
    for diagnostic in shown:
        print(diagnostic, file=stream or sys.stderr)
    return sum(d.is_error for d in shown)
