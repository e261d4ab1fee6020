"""Print a built deck to PDF with headless Chromium, one page per slide.

    python -m talkbuild.pdf [PAGE] [-o build/deck.pdf] [--fragments] [--notes]

PAGE is the deck's page (default build/deck/index.html; the one-file deck works
too). reveal.js lays every slide out as a page of the slide's size when the URL
has `?print-pdf`, and its other query parameters override the deck's config:
`pdfSeparateFragments` (one page per fragment step) and `showNotes`
(`separate-page`: a notes page after each slide with notes; the deck's page
template keeps the last one from ending the PDF in a blank page). The page is
printed once reveal.js fires `pdf-ready` and the fonts have loaded, with
Chromium's header and footer off and the page size reveal.js's @page rule sets.
The PDF is written beside the output and renamed over it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from .build import PROJECT
from .files import write_atomically

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright drives it (no `playwright install`)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 60_000  # for reveal.js to lay out every slide of a long deck
# Set before the deck's scripts run: reveal.js's events bubble up to the document.
PDF_READY_LISTENER = (
    "document.addEventListener('pdf-ready', () => { window.talkPdfReady = true; });"
)


def print_url(page: Path, fragments: bool = False, notes: bool = False) -> str:
    query = {"print-pdf": "", "pdfSeparateFragments": str(fragments).lower()}
    if notes:
        query["showNotes"] = "separate-page"
    return page.absolute().as_uri() + "?" + urlencode(query).replace("print-pdf=", "print-pdf")


def print_pdf(page: Path, out: Path, fragments: bool = False, notes: bool = False) -> None:
    """Print the deck at `page` to `out` (atomically)."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make setup` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            tab = browser.new_page()
            tab.add_init_script(PDF_READY_LISTENER)
            tab.goto(print_url(page, fragments, notes))
            tab.wait_for_function("window.talkPdfReady === true", timeout=TIMEOUT_MS)
            tab.evaluate("document.fonts.ready.then(() => true)")
            pdf = tab.pdf(
                display_header_footer=False, print_background=True, prefer_css_page_size=True
            )
        finally:
            browser.close()
    write_atomically(out, pdf)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m talkbuild.pdf", description="Print a built deck to PDF."
    )
    parser.add_argument(
        "page",
        nargs="?",
        type=Path,
        metavar="PAGE",
        default=PROJECT / "build" / "deck" / "index.html",
        help="the deck's page (default: build/deck/index.html)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        default=PROJECT / "build" / "deck.pdf",
        help="the PDF to write (default: build/deck.pdf)",
    )
    parser.add_argument(
        "--fragments",
        action="store_true",
        help="one page per fragment step instead of one per slide",
    )
    parser.add_argument(
        "--notes",
        action="store_true",
        help="a page of speaker notes after each slide that has notes",
    )
    args = parser.parse_args(argv)
    if not args.page.is_file():
        print(f"{args.page}: not found: build the deck first (`make deck`)", file=sys.stderr)
        return 1
    start = time.perf_counter()
    try:
        print_pdf(args.page, args.output, fragments=args.fragments, notes=args.notes)
    except Exception as error:  # Playwright's errors: a timeout, a browser that won't start
        print(f"{args.page}: cannot print to PDF: {error}", file=sys.stderr)
        return 1
    print(f"{args.output}: printed in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
