"""Export a built deck to PowerPoint: every slide a full-slide picture, notes as text.

    python -m talkbuild.powerpoint [PAGE] [-o build/deck.pptx] [--fragments]

Conferences often want the talk as a .pptx. PowerPoint cannot show what the deck
is made of (KaTeX's math, reveal.js's layout and themes, highlighted code,
SVG figures), so each slide goes in as a picture of the deck as reveal.js shows
it, taken by headless Chromium at 1920x1080 (sharp on a full-HD projector). The
pictures are not editable; the speaker notes are, as plain text in each slide's
notes pane. The deck's title and author go into the document properties.

PAGE is the built deck's page (default build/deck/index.html; the one-file deck
works too). Slides are taken in reveal.js's order (Reveal.getSlides(): vertical
stacks top to bottom), each with all its fragments shown. With --fragments,
every fragment step (and code line-highlight step) is a slide of its own, with
the notes of its slide. reveal.js's controls and progress bar are hidden and
every transition is off, so each picture is the settled slide.

The file is written beside the output and renamed over it; an existing output
is only replaced when it is a PowerPoint file this module wrote (its
`last_modified_by` property is "talkbuild": a file saved by PowerPoint since is
the user's).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .build import PROJECT
from .pdf import CHROMIUM, CHROMIUM_ARGS

VIEWPORT = {"width": 1920, "height": 1080}  # the picture of every slide, in pixels
# A 16:9 PowerPoint slide (13.333 x 7.5 inches), in EMU (914400 per inch).
SLIDE_WIDTH, SLIDE_HEIGHT = 12_192_000, 6_858_000
READY_TIMEOUT_MS = 30_000  # for reveal.js and its plugins (KaTeX, highlighting) to start
GENERATOR = "talkbuild"  # last_modified_by of the files written here

# Every picture shows the slide at rest: no transitions, no animations, no
# navigation controls or progress bar (PowerPoint has its own).
STILL_CSS = """
*, *::before, *::after { transition: none !important; animation: none !important; }
.reveal .controls, .reveal .progress { display: none !important; }
"""
STILL_CONFIG = (
    "Reveal.configure({controls: false, progress: false, transition: 'none',"
    " backgroundTransition: 'none', hash: false, history: false})"
)
# Each slide: its indices, the text of its first heading (the picture's alt
# text) and its notes as plain text. Notes are read from a visible copy so that
# innerText keeps paragraphs and line breaks; list items get a bullet (or their
# number) and math its TeX source, which reads better as plain text than
# KaTeX's MathML flattened.
SLIDES_JS = """() => Reveal.getSlides().map((slide) => {
  const heading = slide.querySelector("h1, h2, h3, h4, h5, h6");
  const aside = slide.querySelector("aside.notes");
  let notes = "";
  if (aside) {
    const copy = aside.cloneNode(true);
    copy.querySelectorAll(".math-inline, .math-display").forEach((math) => {
      const tex = math.querySelector('annotation[encoding="application/x-tex"]');
      const source = (tex ? tex.textContent : math.textContent).trim();
      const display = math.classList.contains("math-display");
      math.replaceWith(display ? "$$" + source + "$$" : "$" + source + "$");
    });
    copy.querySelectorAll("li").forEach((item) => {
      const list = item.parentElement;
      const number = list && list.tagName === "OL"
        ? (Number(list.getAttribute("start") || 1)
           + [...list.children].indexOf(item)) + ". "
        : "\u2022 ";
      item.prepend(number);
    });
    copy.className = "";
    copy.style.cssText = "display: block; position: absolute; left: -100000px; width: 60em;"
      + " white-space: normal; text-transform: none;";
    document.body.append(copy);
    notes = copy.innerText.trim();
    copy.remove();
  }
  return {
    indices: Reveal.getIndices(slide),
    heading: heading ? heading.textContent.replace(/\\s+/g, " ").trim() : "",
    notes: notes,
  };
})"""
# Resolves once the images of the current slide have loaded and decoded.
IMAGES_READY_JS = """() => Promise.all(
  [...Reveal.getCurrentSlide().querySelectorAll("img")].map((img) =>
    img.complete ? img.decode().catch(() => null)
                 : new Promise((done) => { img.onload = img.onerror = done; }))
).then(() => document.fonts.ready).then(() => true)"""


class ExportError(Exception):
    """Why the deck cannot be exported; the message names the file."""


@dataclass
class Picture:
    png: bytes
    alt: str  # the slide's heading, or "Slide N"
    notes: str  # plain text, possibly empty


@dataclass
class DeckInfo:
    title: str
    author: str


def export(page: Path, out: Path, fragments: bool = False) -> int:
    """Write the deck at `page` to the PowerPoint file `out`; return its slide count."""
    out = out.absolute()
    check_output(out)
    info, pictures = take_pictures(page, fragments)
    data = presentation(info, pictures)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.new-", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(pictures)


def check_output(out: Path) -> None:
    """Raise ExportError when `out` must not be written."""
    if out.suffix.lower() != ".pptx":
        raise ExportError(f"{out}: the output must be a .pptx file")
    if out.is_dir():
        raise ExportError(f"{out}: the output is a folder")
    if out.exists() and not written_here(out):
        raise ExportError(
            f"{out}: exists and was not written by talkbuild.powerpoint; refusing to replace it"
        )


def written_here(path: Path) -> bool:
    """Whether `path` is a PowerPoint file this module wrote (and nobody saved since)."""
    from pptx import Presentation

    try:
        return Presentation(str(path)).core_properties.last_modified_by == GENERATOR
    except Exception:  # not a zip, not a presentation: python-pptx raises many kinds
        return False


def take_pictures(page: Path, fragments: bool) -> tuple[DeckInfo, list[Picture]]:
    """A 1920x1080 picture of every slide (or fragment step) of the deck at `page`."""
    if not page.is_file():
        raise ExportError(f"{page}: not found: build the deck first (`make deck`)")
    if not CHROMIUM.exists():
        raise ExportError(f"{CHROMIUM} is missing: `make setup` installs it")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    pictures: list[Picture] = []
    with tempfile.TemporaryDirectory(prefix="talkbuild-pptx-") as profile:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                args=CHROMIUM_ARGS,
                headless=True,
                viewport=VIEWPORT,
                device_scale_factor=1,
            )
            try:
                tab = context.new_page()
                tab.goto(page.absolute().as_uri())
                if not tab.evaluate("!!document.querySelector('.reveal .slides')"):
                    raise ExportError(f"{page}: not a reveal.js deck (no .reveal .slides)")
                try:
                    tab.wait_for_function(
                        "window.Reveal && Reveal.isReady()", timeout=READY_TIMEOUT_MS
                    )
                except PlaywrightError:
                    raise ExportError(
                        f"{page}: not a reveal.js deck (reveal.js did not start "
                        f"within {READY_TIMEOUT_MS // 1000} s)"
                    ) from None
                tab.add_style_tag(content=STILL_CSS)
                tab.evaluate(STILL_CONFIG)
                info = DeckInfo(
                    title=tab.title(),
                    author=tab.evaluate(
                        "document.querySelector('meta[name=author]')?.content || ''"
                    ),
                )
                for number, slide in enumerate(tab.evaluate(SLIDES_JS), start=1):
                    alt = slide["heading"] or f"Slide {number}"
                    h, v = slide["indices"]["h"], slide["indices"]["v"]
                    tab.evaluate("([h, v]) => Reveal.slide(h, v, -1)", [h, v])
                    while True:
                        if fragments:
                            pictures.append(Picture(_shot(tab), alt, slide["notes"]))
                        if not tab.evaluate("Reveal.nextFragment()"):
                            break
                    if not fragments:
                        pictures.append(Picture(_shot(tab), alt, slide["notes"]))
            finally:
                context.close()
    return info, pictures


def _shot(tab) -> bytes:
    tab.evaluate(IMAGES_READY_JS)
    return tab.screenshot(type="png", animations="disabled", caret="hide")


def presentation(info: DeckInfo, pictures: list[Picture]) -> bytes:
    """The .pptx file: one 16:9 slide per picture, the picture covering it."""
    from pptx import Presentation

    deck = Presentation()
    deck.slide_width, deck.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    blank = next(layout for layout in deck.slide_layouts if layout.name == "Blank")
    for number, picture in enumerate(pictures, start=1):
        slide = deck.slides.add_slide(blank)
        shape = slide.shapes.add_picture(
            io.BytesIO(picture.png), 0, 0, width=SLIDE_WIDTH, height=SLIDE_HEIGHT
        )
        shape.name = f"Slide {number}"
        # Alt text: python-pptx has no property for it; it is the picture's `descr`.
        shape._element.nvPicPr.cNvPr.set("descr", picture.alt)
        if picture.notes:
            slide.notes_slide.notes_text_frame.text = picture.notes
    properties = deck.core_properties
    properties.title = info.title
    properties.author = info.author
    properties.last_modified_by = GENERATOR
    properties.comments = (
        "Each slide is a picture of the reveal.js deck at 1920x1080, taken by headless "
        "Chromium; the speaker notes are text."
    )
    now = time.gmtime()
    properties.created = properties.modified = _datetime(now)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def _datetime(moment: time.struct_time):
    from datetime import datetime

    return datetime(*moment[:6])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m talkbuild.powerpoint",
        description="Export a built deck to PowerPoint, one picture per slide.",
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
        default=PROJECT / "build" / "deck.pptx",
        help="the PowerPoint file to write (default: build/deck.pptx)",
    )
    parser.add_argument(
        "--fragments",
        action="store_true",
        help="one slide per fragment step instead of one per slide",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        count = export(args.page, args.output, fragments=args.fragments)
    except ExportError as error:
        print(error, file=sys.stderr)
        return 1
    except Exception as error:  # Playwright's errors: a timeout, a browser that won't start
        print(f"{args.page}: cannot export to PowerPoint: {error}", file=sys.stderr)
        return 1
    size = args.output.stat().st_size / 1e6
    print(f"{args.output}: {count} slides, {size:.1f} MB, in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
