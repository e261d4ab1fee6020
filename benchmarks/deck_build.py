"""Benchmark: build a realistic ~45-slide deck with `python build.py` and time it.

Writes a deck into a temporary folder (headings, lists, code fences with line
highlights, an include, inline and display math, placeholders, images, notes,
vertical stacks), then runs `python build.py DECK -o OUT --no-figures` as a
subprocess N times, so Python's start-up is included, and reports the median,
min, max and spread, next to the same statistics for a bare `python -c pass`.
It also checks that two builds give byte-identical folders.

Math is typeset at build time by KaTeX under Node (talkbuild/tex.py), with a cache
of typeset formulas: "warm" builds find every formula there (a rebuild), "cold"
ones start Node (the deck's project's build/.cache/katex.json, talkbuild/tex.py's
cache, is removed before each: the deck's folder holds scripts/, so it is its project).
`python build.py` hands the build to the resident builder (talkbuild/resident.py)
when one is running, as it is after a first build: the first two rows time that
(their CPU time is the caller's alone: the build's is the server's), the next two
set TALKBUILD_RESIDENT=0 and build in their own process.
When `pandoc` is on the PATH, `pandoc -s -t revealjs` on the same deck runs in the
same loop, for issue 10's target: a build at most 0.7x pandoc's median.

    .venv/bin/python benchmarks/deck_build.py [--runs 30] [--slides 45]

The target is a median under 0.25 s on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 0.25  # median wall time of one build, start-up included
PANDOC_RATIO = 0.7  # issue 10: a build's median at most this times pandoc's
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300">'
    '<rect width="400" height="300" fill="#eee"/><circle cx="{x}" cy="150" r="80"/></svg>\n'
)
CODE = '''"""A stand-in experiment script."""
import numpy as np


def fit(x, y, degree):
    # region fit
    A = np.vander(x, N=degree, increasing=True)
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    return coef
    # endregion fit
'''


def slide(i: int) -> str:
    """One slide's Markdown; the kinds rotate so the deck mixes every feature."""
    kind = i % 5
    body = [f"## Slide {i}: a realistic title", ""]
    if kind == 0:
        body += [
            "- a first point with *emphasis* and `inline code`",
            '  - a nested point <!-- .element: class="fragment" -->',
            "- a second point with a [link](https://example.org)",
            "",
            f"![Figure {i}](figures/figure-{i % 7}.svg)",
        ]
    elif kind == 1:
        body += [
            "```python [|2|3-4]",
            "import torch",
            "model = torch.nn.Sequential(",
            "    torch.nn.Linear(1, 1000), torch.nn.ReLU(),",
            "    torch.nn.Linear(1000, 1))",
            "loss = torch.nn.MSELoss(reduction='sum')",
            "```",
        ]
    elif kind == 2:
        body += [
            "$$",
            r"L(w) = \sum_i (y_i - f(x_i; w))^2 + \alpha \sum_j w_j^2",
            "$$",
            "",
            r"The gradient of the penalty is $2 \alpha w_j$ for each weight $w_j$.",
            "",
            "The error was {{ bench.error:.2e }} after {{ bench.steps }} steps.",
        ]
    elif kind == 3:
        body += [
            "```python [17: 1|3]  include=scripts/fit.py#fit",
            "```",
            "",
            "| alpha | loss |",
            "| --- | --- |",
            "| 0 | 3.6e-14 |",
            "| 0.08 | 0.0213 |",
        ]
    else:
        body += [
            "> A quote about regularization,\\",
            "> over two lines.",
            "",
            f'<img src="figures/figure-{i % 7}.svg" alt="raw" style="height: 30vh">',
            "<!-- a comment nobody sees -->",
        ]
    body += [
        "",
        "Note:",
        f"Speaker notes for slide {i}: say what the figure shows, and mention $\\alpha$.",
    ]
    return "\n".join(body)


def write_deck(folder: Path, slides: int) -> Path:
    (folder / "figures").mkdir()
    (folder / "scripts").mkdir()
    for k in range(7):
        (folder / "figures" / f"figure-{k}.svg").write_text(SVG.format(x=100 + 30 * k))
    (folder / "figures" / "bench.json").write_text(json.dumps({"error": 3.6e-14, "steps": 4000}))
    (folder / "scripts" / "fit.py").write_text(CODE)
    parts = [
        "---\ntitle: Benchmark deck\nauthor: Bench\ndate: 2025-03-10\nresults: figures\n"
        "reveal:\n  slideNumber: true\n---\n\n# Benchmark deck"
    ]
    for i in range(1, slides):
        parts.append(("\n\n-v-\n\n" if i % 4 == 0 else "\n\n---\n\n") + slide(i))
    deck = folder / "deck.md"
    deck.write_text("".join(parts) + "\n")
    return deck


def timed(command: list[str], env: dict | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one run. CPU time (user + system) is steadier than wall
    time when other jobs share the machine's two cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command,
        check=True,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def stats(times: list[float]) -> str:
    spread = statistics.stdev(times) if len(times) > 1 else 0.0
    return (
        f"median {statistics.median(times):.3f} s  min {min(times):.3f}  "
        f"max {max(times):.3f}  stdev {spread:.3f}  (n={len(times)})"
    )


def identical(a: Path, b: Path) -> bool:
    """Same files with the same bytes in both folders."""

    def files(root: Path) -> dict[str, Path]:
        return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}

    fa, fb = files(a), files(b)
    return fa.keys() == fb.keys() and all(filecmp.cmp(fa[k], fb[k], shallow=False) for k in fa)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--slides", type=int, default=45)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        deck = write_deck(tmp, args.slides)
        math_cache = tmp / "build" / ".cache" / "katex.json"
        out = tmp / "out"
        build = [python, str(ROOT / "build.py"), str(deck), "-o", str(out), "--no-figures"]
        here = {**os.environ, "TALKBUILD_RESIDENT": "0"}  # build in its own process
        first = subprocess.run(build, cwd=ROOT, env=here, capture_output=True, text=True)
        if first.returncode:
            print(first.stderr, file=sys.stderr)
            return 1
        print(first.stdout.strip())
        if not math_cache.exists():  # where talkbuild/tex.py keeps it for this deck
            print(f"no math cache at {math_cache}", file=sys.stderr)
            return 1
        copy = tmp / "first"
        out.rename(copy)
        subprocess.run(build, check=True, cwd=ROOT, capture_output=True)  # leaves a resident
        resident = [python, "-m", "talkbuild.resident", "status"]
        for _ in range(100):  # wait until it listens
            if subprocess.run(resident, cwd=ROOT, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        shutil.rmtree(out)
        subprocess.run(build, check=True, cwd=ROOT, capture_output=True)  # built by it
        same = identical(copy, out)
        print(f"a build in its own process and one by the resident byte-identical: {same}")
        pandoc = shutil.which("pandoc")
        pandoc_command = [pandoc, "-s", "-t", "revealjs", str(deck), "-o", str(tmp / "p.html")]
        # Interleave the baseline with the builds, so all see the same machine load.
        resident_runs, resident_cold, build_runs, cold_runs = [], [], [], []
        bare_runs, pandoc_runs = [], []
        for _ in range(args.runs):
            bare_runs.append(timed([python, "-c", "pass"]))
            resident_runs.append(timed(build))
            math_cache.unlink(missing_ok=True)
            resident_cold.append(timed(build))
            build_runs.append(timed(build, here))
            math_cache.unlink(missing_ok=True)
            cold_runs.append(timed(build, here))
            if pandoc:
                pandoc_runs.append(timed(pandoc_command))
    with open("/proc/loadavg") as load:
        print(f"load average: {' '.join(load.read().split()[:3])}")
    rows = [
        (f"build.py, {args.slides} slides", resident_runs),
        ("  same, math cache cold", resident_cold),
        ("  in its own process", build_runs),
        ("  same, math cache cold", cold_runs),
        ("python -c pass", bare_runs),
    ]
    if pandoc:
        rows.append(("pandoc -s -t revealjs", pandoc_runs))
    for label, runs in rows:
        print(f"{label:24s} wall: {stats([w for w, _ in runs])}")
        print(f"{'':24s} CPU:  {stats([c for _, c in runs])}")
    median = statistics.median(w for w, _ in resident_runs)
    bare = statistics.median(w for w, _ in bare_runs)
    print(
        f"ratio of wall medians: {median / bare:.1f}x bare start-up; "
        f"target {TARGET_SECONDS} s: {'met' if median < TARGET_SECONDS else 'NOT met'}"
    )
    if pandoc:
        reference = statistics.median(w for w, _ in pandoc_runs)
        for label, runs in (
            ("resident, warm math cache", resident_runs),
            ("resident, cold math cache", resident_cold),
            ("own process, warm math cache", build_runs),
            ("own process, cold math cache", cold_runs),
        ):
            ratio = statistics.median(w for w, _ in runs) / reference
            print(
                f"build ({label}) / pandoc, wall medians: {ratio:.2f}x; "
                f"target {PANDOC_RATIO}x: {'met' if ratio <= PANDOC_RATIO else 'NOT met'}"
            )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
