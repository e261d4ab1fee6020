"""The deck check (`python build.py --check`, `make check`): the deck as the audience sees it.

Opens a built deck in headless Chromium (Debian's /usr/bin/chromium through
Playwright) at the deck's size, visits every slide and every fragment step (code
line-highlight steps are fragments too) and reports, by the slide's file and line:

- content that overflows the slide, code that needs scrolling, and content under
  the navigation controls or the slide number;
- images that do not load, console errors, and any request that leaves the deck
  (anything but file:, data:, blob:, about:; such requests are blocked);
- text smaller than MIN_TEXT_FRACTION of the slide's height (20 px of 720): HTML
  text and code by their computed font size, the text inside figures by the font
  sizes figkit recorded in the figure file, scaled by how large the figure is drawn;
- TeX errors and TeX left as text;
- contrast below WCAG AA and images without alternative text, by axe-core (from
  node_modules, injected into the page: nothing is downloaded).

All of them are errors. One browser: in one page reveal.js's API steps through the
deck and check.js measures each step in a single call; meanwhile, in a second
page, axe runs once on reveal.js's print view, where every fragment step of every
slide has a page of its own (check_axe.js). Findings name the slide by the
`data-source-line` attribute the build writes on each <section>.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from . import markdown, slides
from .diagnostics import Diagnostic
from .pdf import CHROMIUM, CHROMIUM_ARGS

# The smallest text a slide may show, in slide pixels (of a 1280x720 slide; scaled
# with the deck's height). The audiovisual "8H rule" asks text at least 1/50 of the
# screen height for a back row at 8 screen heights: 14.4 px. That is a bare minimum
# for a sharp image; 1/36 (20 px, 15 pt on a 540 pt PowerPoint slide) keeps a 40 %
# margin for a dim or soft projector, or a back row at 11 screen heights.
MIN_TEXT_FRACTION = 1 / 36
DEFAULT_SIZE = (1280, 720)  # the window when the deck does not set reveal's width/height
TOLERANCE = 2  # slide pixels an element may stick out (rounding, borders)
OFFLINE = ("file:", "data:", "blob:", "about:")
# axe-core rules: WCAG AA contrast, and alternative text of images.
AXE_RULES = ["color-contrast", "image-alt", "role-img-alt", "svg-img-alt", "object-alt"]
AXE = Path("axe-core/axe.min.js")
READY_TIMEOUT = 20_000  # ms for reveal.js and its plugins to start, and images to load
STEP_SCRIPT = Path(__file__).with_name("check.js")
AXE_SCRIPT = Path(__file__).with_name("check_axe.js")

# Before the deck's own scripts: every transition off (fragments, highlighted code
# lines and slides are measured where they end, not halfway), and images with an
# empty alt="" that do not say they are decorative (role="presentation") lose it,
# so that axe's image-alt reports them: on a slide, a picture nearly always carries
# content, and Markdown's ![](x.svg) writes alt="".
SETUP_SCRIPT = """
document.addEventListener("DOMContentLoaded", () => {
  const style = document.createElement("style");
  style.textContent = "*, *::before, *::after { transition: none !important; " +
    "animation: none !important; }";
  document.head.appendChild(style);
  for (const img of document.querySelectorAll(".reveal .slides img[alt='']")) {
    if (!["presentation", "none"].includes(img.getAttribute("role"))) img.removeAttribute("alt");
  }
});
"""


@dataclass
class Walk:
    """What the check saw: its findings, and how many steps it visited."""

    findings: list[Diagnostic] = field(default_factory=list)
    slides: int = 0
    steps: int = 0


def deck_slides(source: Path) -> tuple[dict[str, slides.Slide], slides.FrontMatter]:
    """The deck's slides by their `data-source-line` in the page (talk.md:12), and
    its settings (parsed, not rendered: the page has the rest)."""
    sources, _ = slides.deck_sources(source)
    deck, _ = slides.load_deck(sources, markdown.create_parser())
    return {f"{slide.source.name}:{slide.line}": slide for slide in deck.slides}, deck.meta


def slide_size(meta: slides.FrontMatter) -> tuple[int, int]:
    width, height = meta.reveal.get("width"), meta.reveal.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return width, height
    return DEFAULT_SIZE


class Findings:
    """Findings by slide, each reported once, in the order found."""

    def __init__(self, by_source: dict[str, slides.Slide], deck_path: str):
        self.by_source = by_source
        self.deck_path = deck_path
        self.found: list[Diagnostic] = []
        self.keys: set = set()

    def add(self, source: str | None, message: str, key=None) -> None:
        """Report `message` at the slide whose data-source-line is `source` (None: the
        deck as a whole); with `key`, only the first message of that key per slide."""
        slide = self.by_source.get(source or "")
        finding = (
            Diagnostic(slide.path, slide.line, message)
            if slide
            else Diagnostic(self.deck_path, None, message)
        )
        unique = (finding.path, finding.line, key) if key else finding
        if unique not in self.keys:
            self.keys.add(unique)
            self.found.append(finding)


def check(page: Path, source: Path, node_modules: Path, screenshots: Path | None = None) -> Walk:
    """Visit every slide and step of the deck at `page` (index.html or a one-file
    deck) built from `source`, and report what the audience would not see right."""
    by_source, meta = deck_slides(source)
    width, height = slide_size(meta)
    deck_path = next(iter(by_source.values())).path if by_source else slides.display_path(source)
    findings = Findings(by_source, deck_path)
    walk = Walk(findings.found)
    axe = node_modules / AXE
    if not axe.is_file():
        findings.add(None, f"{slides.display_path(axe)} not found: `npm ci` installs axe-core")
        return walk
    if not CHROMIUM.exists():
        findings.add(None, f"{CHROMIUM} not found: `make setup` installs Chromium")
        return walk
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        findings.add(None, "Playwright is not installed: `make setup` installs it (group test)")
        return walk

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            # axe works on the print view in a page of its own while the walk steps
            # through the deck in another: two renderer processes, two cores.
            printed = browser.new_page(viewport={"width": width, "height": height})
            start_axe(printed, page, axe)
            tab = browser.new_page(viewport={"width": width, "height": height})
            visit(tab, page, findings, walk, height, screenshots)
            for found in axe_findings(printed):
                findings.add(found["source"], axe_message(found))
        finally:
            browser.close()
    return walk


def open_page(
    tab, url: str, findings: Findings | None, current: list, wait_until: str = "load"
) -> list[tuple]:
    """Load `url`, blocking every request that leaves the deck and, unless `findings`
    is None (the print view: the walk has seen all of it), reporting console errors;
    returns the list the blocked requests go to, as (slide source, url)."""
    leaving: list[tuple[str | None, str]] = []
    blocked: set[str] = set()

    def block(route) -> None:
        leaving.append((current[0], route.request.url))
        blocked.add(route.request.url)
        route.abort()

    tab.route(lambda url: not url.startswith(OFFLINE), block)
    tab.add_init_script(SETUP_SCRIPT)
    if findings is None:
        tab.goto(url, wait_until=wait_until)
        return leaving

    def console(message) -> None:
        if message.type != "error":
            return
        if message.location.get("url") in blocked or any(url in message.text for url in blocked):
            return  # a request this check blocked: reported as such
        findings.add(current[0], f"console error: {message.text}")

    tab.on("console", console)
    tab.on("pageerror", lambda error: findings.add(current[0], f"uncaught error: {error}"))
    tab.goto(url)
    return leaving


def visit(tab, page: Path, findings: Findings, walk: Walk, height: int, screenshots) -> None:
    """Step through every slide and fragment with reveal.js's API, measuring each step."""
    min_text = MIN_TEXT_FRACTION * height
    current: list[str | None] = [None]  # the data-source-line of the slide shown now
    leaving = open_page(tab, page.absolute().as_uri(), findings, current)
    tab.wait_for_function("window.Reveal && Reveal.isReady()", timeout=READY_TIMEOUT)
    tab.evaluate("Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
    tab.wait_for_function("[...document.images].every(img => img.complete)", timeout=READY_TIMEOUT)
    for asking, url in leaving:  # requested while loading: find the slide that asks
        findings.add(asking or owner(tab, url), f"request leaves the deck: {url}")
    leaving.clear()
    tab.evaluate("() => { window.talkCheckStep = " + STEP_SCRIPT.read_text("utf-8") + "\n}")
    sources = tab.evaluate(  # the data-source-line of each slide, by stack
        """Reveal.getHorizontalSlides().map((h) => {
            const stack = h.querySelectorAll(':scope > section');
            return (stack.length ? [...stack] : [h]).map((slide) => slide.dataset.sourceLine);
        })"""
    )
    figure_text: dict[str, FigureText | None] = {}
    for h, stack in enumerate(sources):
        for v, source in enumerate(stack):
            current[0] = source  # console errors from here on are this slide's
            walk.slides += 1
            smallest: dict | None = None
            options = {"tolerance": TOLERANCE, "go": [h, v], "advance": False}
            fragment = 0
            while True:
                walk.steps += 1
                step = tab.evaluate("(options) => talkCheckStep(options)", options)
                if screenshots:
                    screenshots.mkdir(parents=True, exist_ok=True)
                    tab.screenshot(path=screenshots / f"{h:02d}-{v:02d}-{fragment:02d}.png")
                for message in step["overflow"] + step["covered"] + step["broken"] + step["math"]:
                    findings.add(current[0], message)
                text = step["smallest"]
                if text and (smallest is None or text["px"] < smallest["px"]):
                    smallest = text
                for image in step["drawn"]:
                    message = figure_text_message(image, figure_text, min_text)
                    if message:
                        findings.add(current[0], message, key=("figure", image["shown"]))
                for asking, url in leaving:
                    findings.add(asking, f"request leaves the deck: {url}")
                leaving.clear()
                if not step["next"]:
                    break
                options = {"tolerance": TOLERANCE, "go": None, "advance": True}
                fragment += 1
            if smallest and smallest["px"] < min_text - 0.05:
                findings.add(
                    current[0],
                    f"text too small: {smallest['px']:.1f} px high (at least "
                    f"{min_text:.0f} px on this {height} px slide): {smallest['what']}",
                )


def start_axe(tab, page: Path, axe: Path) -> None:
    """Open reveal.js's print view, where axe-core's contrast and alternative-text
    rules run on every state of every slide as soon as it is laid out; the page's
    `window.talkAxe` then holds the promise of the findings. Returns at once."""
    tab.add_init_script(axe.read_text(encoding="utf-8"))
    tab.add_init_script(
        "document.addEventListener('pdf-ready', () => { window.talkAxe = ("
        + AXE_SCRIPT.read_text("utf-8")
        + f")({json.dumps(AXE_RULES)}); }});"
    )
    url = page.absolute().as_uri() + "?print-pdf&pdfSeparateFragments=true"
    open_page(tab, url, None, [None], wait_until="commit")


def axe_findings(tab) -> list[dict]:
    tab.wait_for_function("window.talkAxe !== undefined", timeout=READY_TIMEOUT)
    return tab.evaluate("window.talkAxe")


def owner(tab, url: str) -> str | None:
    """The data-source-line of the slide with an element naming `url` (src, href...)."""
    return tab.evaluate(
        """(url) => {
          for (const section of document.querySelectorAll('section[data-source-line]')) {
            for (const el of [section, ...section.querySelectorAll('*')]) {
              for (const name of ['src', 'href', 'poster', 'data', 'data-background-image',
                                  'data-background-video']) {
                const value = el.getAttribute(name);
                try {
                  if (value && new URL(value, document.baseURI).href === url) {
                    return section.dataset.sourceLine;
                  }
                } catch (error) {}  // not a URL
              }
            }
          }
          return null;
        }""",
        url,
    )


def axe_message(found: dict) -> str:
    """One finding per axe rule and slide: how many elements, and the first."""
    if found["rule"] in ("image-alt", "role-img-alt", "svg-img-alt", "object-alt"):
        what = f"image '{short_src(found['src'])}'" if found["src"] else found["what"]
        return f"{what} has no alternative text (axe {found['rule']})"
    count = found["count"]
    others = f" and {count - 1} more element{'s' * (count != 2)}" if count > 1 else ""
    if found["rule"] == "color-contrast":
        return f"contrast below WCAG AA: {found['what']}{others}: {found['detail']}"
    return f"{found['help']} (axe {found['rule']}): {found['what']}{others}: {found['detail']}"


def short_src(src: str) -> str:
    """An image's src as a message shows it: an inlined one (the one-file deck) by its type."""
    if src.startswith("data:"):
        return src.split(",", 1)[0] + ",..."
    return src


# --- Text inside figures ------------------------------------------------------------


@dataclass(frozen=True)
class FigureText:
    """What figkit recorded in a figure file: its font sizes, and its width, in points."""

    sizes_pt: tuple[float, ...]
    width_pt: float


FIGKIT_SVG = re.compile(rb'<metadata id="figkit-text">([^<]*)</metadata>')
FIGKIT_PNG_KEY = "figkit-text"


def figure_text_message(image: dict, cache: dict, min_text: float) -> str | None:
    """A finding when the smallest font of a figkit figure is drawn too small."""
    url = image["src"]
    if url not in cache:
        cache[url] = read_figure_text(url)
    text = cache[url]
    if text is None or not text.sizes_pt or image["width"] <= 0:
        return None
    px_per_pt = image["width"] / text.width_pt
    smallest = min(text.sizes_pt)
    if smallest * px_per_pt >= min_text - 0.05:
        return None
    return (
        f"text too small in figure '{short_src(image['shown'])}': its {smallest:g} pt font "
        f"is drawn {smallest * px_per_pt:.1f} px high (at least {min_text:.0f} px); the figure is "
        f"{image['width']:.0f} px wide on the slide: draw it larger, or its text larger"
    )


def read_figure_text(url: str) -> FigureText | None:
    """The font record figkit wrote into an SVG or PNG figure; None without one."""
    data = read_url(url)
    if data is None:
        return None
    if data.lstrip()[:5] in (b"<?xml", b"<svg ") or b"<svg" in data[:400]:
        match = FIGKIT_SVG.search(data, 0, 4096)
        record = match and json.loads(match.group(1))
    elif data.startswith(b"\x89PNG"):
        import io

        from PIL import Image  # matplotlib's dependency

        with Image.open(io.BytesIO(data)) as png:
            raw = png.info.get(FIGKIT_PNG_KEY)
        record = raw and json.loads(raw)
    else:
        return None
    if not record:
        return None
    return FigureText(tuple(record["font_sizes_pt"]), float(record["width_pt"]))


def read_url(url: str) -> bytes | None:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        try:
            return Path(url2pathname(parsed.path)).read_bytes()
        except OSError:
            return None
    if parsed.scheme == "data":
        header, _, payload = url[5:].partition(",")
        if header.endswith(";base64"):
            return base64.b64decode(payload)
        return unquote(payload).encode("utf-8")
    return None
