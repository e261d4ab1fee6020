"""Every slide of the talk as the audience sees it: 1280x720 headless Chromium.

Builds slides/ (whatever it holds now) with the figures the session brought up to
date, then visits every slide, every slide of every vertical stack and every
fragment step (code line-highlight steps are fragments too), and checks at each:

- nothing overflows the slide frame (reveal.js's `.slides` box, scaled to the
  window), and no code block needs scrolling (`pre code` taller than its box);
- every image has loaded (the placeholders of missing external images hold no
  <img>, so they do not count);
- all math is typeset (each `.math-inline`/`.math-display` holds a `.katex`);
- the console shows no errors.

TALK_SCREENSHOTS=/some/folder saves a PNG of every step (HH-VV-F.png) to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from headless_chromium import chromium, open_deck

from talkbuild.build import PROJECT, BuildConfig, build

pytestmark = pytest.mark.browser

SLIDES = PROJECT / "slides"
TOLERANCE = 2  # CSS pixels an element may stick out of the frame (rounding, borders)
SCREENSHOTS = os.environ.get("TALK_SCREENSHOTS")  # a folder for one PNG per step

# What the page reports for the current slide and fragment step. Overflow is
# measured in the slide's own pixels (reveal.js scales the frame to the window).
CHECK_STEP = """(tolerance) => {
  const slide = Reveal.getCurrentSlide();
  const frame = Reveal.getSlidesElement().getBoundingClientRect();
  const scale = Reveal.getScale() || 1;
  const heading = slide.querySelector("h1, h2, h3, h4, h5, h6");
  const describe = (el) => {
    const text = (el.getAttribute("alt") || el.textContent || "").trim().replace(/\\s+/g, " ");
    const classes = typeof el.className === "string" && el.className.trim()
      ? "." + el.className.trim().split(/\\s+/).join(".") : "";
    return `<${el.tagName.toLowerCase()}${classes}> "${text.slice(0, 50)}"`;
  };
  // Elements laid out on the slide, without what reveal.js or KaTeX position on
  // purpose: speaker notes, the insides of typeset math, code and SVG.
  const skip = "aside.notes, aside.notes *, .katex *, pre *, svg *, script, style, br";
  const outside = (el) => {
    if (el.matches(skip)) return null;
    const style = getComputedStyle(el);
    if (style.display === "none" || style.position === "fixed") return null;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) return null;
    const sides = {
      top: frame.top - box.top, bottom: box.bottom - frame.bottom,
      left: frame.left - box.left, right: box.right - frame.right};
    const over = Object.entries(sides).filter(([, px]) => px > tolerance)
      .map(([side, px]) => `${Math.round(px / scale)}px past the ${side}`);
    return over.length ? over.join(", ") : null;
  };
  const overflow = [];
  for (const el of slide.querySelectorAll("*")) {
    const where = outside(el);
    // Report the outermost element that sticks out, not each of its descendants.
    if (where && !(el.parentElement !== slide && outside(el.parentElement))) {
      overflow.push(`${describe(el)} overflows: ${where}`);
    }
  }
  for (const code of slide.querySelectorAll("pre code")) {
    if (code.scrollHeight > code.clientHeight + tolerance) {
      overflow.push(`${describe(code.parentElement)} needs scrolling: ` +
        `${code.scrollHeight - code.clientHeight}px of code hidden`);
    }
  }
  const images = [...slide.querySelectorAll("img")]
    .filter((img) => !img.closest("aside.notes"))
    .filter((img) => !(img.complete && img.naturalWidth > 0))
    .map((img) => `image ${img.getAttribute("src")} did not load`);
  const math = [...slide.querySelectorAll(".math-inline, .math-display")]
    .filter((el) => !el.querySelector(".katex"))
    .map((el) => `math not typeset: ${el.textContent.slice(0, 50)}`);
  return {heading: heading ? heading.textContent.trim() : "(no heading)",
          overflow: [...new Set(overflow)], images, math};
}"""


@pytest.fixture(scope="module")
def talk(regenerated_figures, tmp_path_factory) -> Path:
    """The talk, built into a temporary folder (missing external images only warn)."""
    out = tmp_path_factory.mktemp("talk") / "deck"
    build(BuildConfig(source=SLIDES, output=out, figures=False))
    return out / "index.html"


@pytest.fixture(scope="module")
def walk(talk, tmp_path_factory) -> dict:
    """Visit every slide and fragment step; what each step showed, and the console."""
    shots = Path(SCREENSHOTS) if SCREENSHOTS else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    with chromium(tmp_path_factory.mktemp("profile")) as context:
        page = open_deck(context, talk)
        # No transitions: each step is measured where it ends, not halfway there.
        page.evaluate("Reveal.configure({transition: 'none', backgroundTransition: 'none'})")
        page.wait_for_function("[...document.images].every(img => img.complete)", timeout=10_000)
        stacks = page.evaluate("""Reveal.getHorizontalSlides().map(
            h => Math.max(1, h.querySelectorAll(':scope > section').length))""")
        steps = []
        for h, height in enumerate(stacks):
            for v in range(height):
                page.evaluate(f"Reveal.slide({h}, {v}, -1)")
                f = -1
                while True:
                    step = page.evaluate(CHECK_STEP, TOLERANCE)
                    step.update(h=h, v=v, f=f)
                    steps.append(step)
                    if shots:
                        page.screenshot(path=shots / f"{h:02d}-{v:02d}-{f + 1:02d}.png")
                    if not page.evaluate("Reveal.availableFragments().next"):
                        break
                    page.evaluate("Reveal.nextFragment()")
                    f += 1
        total = page.evaluate("Reveal.getTotalSlides()")
    return {"steps": steps, "total": total, "errors": list(context.errors)}


def problems(walk: dict, kind: str) -> str:
    """One line per problem of a slide: where it is (the first fragment step that
    shows it), its heading, and what is wrong."""
    first: dict[tuple, str] = {}
    for step in walk["steps"]:
        for problem in step[kind]:
            fragment = "" if step["f"] < 0 else f", fragment {step['f'] + 1}"
            first.setdefault(
                (step["h"], step["v"], problem),
                f"slide h={step['h']} v={step['v']}{fragment} ({step['heading']}): {problem}",
            )
    return "\n".join(first.values())


def test_every_slide_is_visited(walk):
    visited = {(step["h"], step["v"]) for step in walk["steps"]}
    assert len(visited) == walk["total"] > 0


def test_nothing_overflows_the_slide_frame(walk):
    found = problems(walk, "overflow")
    assert not found, "content outside the slide:\n" + found


def test_every_image_loads(walk):
    found = problems(walk, "images")
    assert not found, "images that did not load:\n" + found


def test_all_math_is_typeset(walk):
    found = problems(walk, "math")
    assert not found, "math left as TeX:\n" + found


def test_the_console_shows_no_errors(walk):
    assert walk["errors"] == []
