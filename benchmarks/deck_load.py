"""Load time and size of the deck folder against the one-file deck (issue #6).

Builds the talk both ways (figures as they are), then opens each page from
file:// in headless Chromium several times, each time in a fresh page, and
times it until reveal.js is ready, KaTeX has typeset every math element and the
fonts have loaded. Also lists the KaTeX fonts the folder deck actually loads
when every slide is laid out (print view), to check that the one-file deck
kept them all. Writes build/bench/deck_load.json.

    .venv/bin/python benchmarks/deck_load.py [LOADS]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from headless_chromium import chromium  # noqa: E402

LOADS = int(sys.argv[1]) if len(sys.argv) > 1 else 9
FOLDER = ROOT / "build" / "deck"
ONE_FILE = ROOT / "build" / "deck.html"
DONE = """() => window.Reveal && Reveal.isReady() && document.fonts.status === 'loaded'
    && [...document.querySelectorAll('.math-inline, .math-display')]
       .every(el => el.querySelector('.katex'))"""
KATEX_FONTS_LOADED = """() => [...document.fonts].filter(f => f.status === 'loaded'
    && f.family.replace(/"/g, '').startsWith('KaTeX_'))
    .map(f => `${f.family.replace(/"/g, '')} ${f.style} ${f.weight}`).sort()"""


def size(path: Path) -> int:
    return (
        sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        if path.is_dir()
        else path.stat().st_size
    )


def load_times(context, page_path: Path) -> list[float]:
    times = []
    for _ in range(LOADS):
        page = context.new_page()
        start = time.perf_counter()
        page.goto(page_path.as_uri())
        page.wait_for_function(DONE, timeout=30_000, polling=5)
        times.append((time.perf_counter() - start) * 1000)
        page.close()
    return times


def fonts_in_print_view(context, page_path: Path) -> list[str]:
    page = context.new_page()
    page.goto(page_path.as_uri() + "?print-pdf")
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=30_000)
    page.evaluate("document.fonts.ready")
    fonts = page.evaluate(KATEX_FONTS_LOADED)
    page.close()
    return fonts


def main() -> None:
    for options in ([], ["--self-contained"]):
        subprocess.run(
            [sys.executable, str(ROOT / "build.py"), "--no-figures", *options],
            check=True,
            capture_output=True,
        )
    results = {}
    with tempfile.TemporaryDirectory() as profile, chromium(Path(profile)) as context:
        for name, page_path in (("folder", FOLDER / "index.html"), ("one-file", ONE_FILE)):
            load_times(context, page_path)  # warm the disk cache, not the browser's
            times = load_times(context, page_path)
            results[name] = {
                "bytes": size(page_path.parent if name == "folder" else page_path),
                "load_ms": times,
                "median_ms": statistics.median(times),
                "katex_fonts_loaded": fonts_in_print_view(context, page_path),
            }
    missing = sorted(
        set(results["folder"]["katex_fonts_loaded"])
        - set(results["one-file"]["katex_fonts_loaded"])
    )
    results["katex_fonts_missing_from_one_file"] = missing
    out = ROOT / "build" / "bench" / "deck_load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for name in ("folder", "one-file"):
        r = results[name]
        print(
            f"{name:9} {r['bytes'] / 1e6:6.2f} MB  median load {r['median_ms']:6.0f} ms "
            f"(min {min(r['load_ms']):.0f}, max {max(r['load_ms']):.0f}, {LOADS} loads)"
        )
    print("KaTeX fonts the folder deck loads:", ", ".join(results["folder"]["katex_fonts_loaded"]))
    print("missing from the one-file deck:", ", ".join(missing) or "none")


if __name__ == "__main__":
    main()
