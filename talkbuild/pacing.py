"""Pacing: how long each slide takes to say, estimated from its speaker notes.

The model, per slide:

    estimate = max(words / rate, MIN_SLIDE + steps * MIN_STEP)

- `words`: the words of the slide's speaker notes (placeholders filled in, so a
  number is one word), spoken at `rate` words per minute: the front matter's
  `speaking_rate`, else SPEAKING_RATE;
- `steps`: the slide's fragment steps, code line-highlight steps included (each
  is one key press, and something is said about it);
- MIN_SLIDE: the least time any slide is shown (the audience reads it), and
  MIN_STEP more for each step.

So a slide takes as long as its notes take to say, but never less than the time
to show it and step through it. Estimates are whole seconds (reveal.js reads
`data-timing` with parseInt).

With `duration:` (minutes) or `speaking_rate:` in the front matter, every slide
gets `data-timing` (seconds) and reveal.js's `totalTime` is set (the duration, else
the estimated total), so the speaker view (S) shows the pacing timer: whether the
presenter is ahead or behind the estimate of the slides so far. A `data-timing`
given by hand (`<!-- .slide: data-timing="90" -->`) wins over the estimate. The
build warns when the total is over the duration; `python build.py --timing`
prints the table.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from .diagnostics import Diagnostic
from .slides import Deck, Slide, display_path, slide_attribute_tokens

SPEAKING_RATE = 130.0  # words per minute: a calm conference pace (most speakers: 120-160)
MIN_SLIDE = 20  # seconds: the least any slide is on screen
MIN_STEP = 5  # seconds more for each fragment or line-highlight step

TAG = re.compile(r"<[^<>]*>")  # no `<` inside: linear on a run of `<` (raw HTML may have one)
WORD = re.compile(r"\S+")
CLASS_ATTRIBUTE = re.compile(r"""\sclass\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
LINE_STEPS = re.compile(r"""\sdata-line-numbers\s*=\s*"([^"]*)\"""")


@dataclass
class SlideTime:
    """One slide's row of the timing table."""

    number: str  # "7" for a horizontal slide, "7.2" for the second of its stack
    title: str
    source: str  # path:line of the slide
    words: int
    steps: int
    seconds: int  # what the speaker view uses: the estimate, or the hand-written data-timing
    by_hand: bool  # the seconds are a hand-written data-timing


@dataclass
class Pacing:
    slides: list[SlideTime]
    rate: float  # words per minute
    duration: float | None  # minutes, from the front matter

    @property
    def total(self) -> int:
        return sum(slide.seconds for slide in self.slides)

    @property
    def over(self) -> bool:
        return self.duration is not None and self.total > self.duration * 60


def words(text_html: str) -> int:
    """The number of words in rendered HTML (tags dropped, entities decoded)."""
    return len(WORD.findall(html.unescape(TAG.sub(" ", text_html))))


def steps(slide_html: str) -> int:
    """Key presses the slide takes before the next slide: fragments and code steps."""
    fragments = sum(
        "fragment" in (match.group(1) or match.group(2) or "").split()
        for match in CLASS_ATTRIBUTE.finditer(slide_html)
    )
    highlights = sum(value.count("|") for value in LINE_STEPS.findall(slide_html))
    return fragments + highlights


def estimate(word_count: int, step_count: int, rate: float = SPEAKING_RATE) -> int:
    """Seconds for a slide: its notes at `rate`, at least the minimum for its steps."""
    speaking = word_count * 60.0 / rate
    return round(max(speaking, MIN_SLIDE + step_count * MIN_STEP))


def title(slide: Slide) -> str:
    """The slide's first heading, as text; else the start of its first paragraph."""
    tokens = slide.tokens
    for wanted in ("heading_open", "paragraph_open"):
        for i, token in enumerate(tokens[:-1]):
            if token.type == wanted and tokens[i + 1].type == "inline":
                children = tokens[i + 1].children or []
                text = "".join(
                    html.unescape(TAG.sub("", child.content))
                    if child.type == "html_inline"
                    else child.content
                    for child in children
                    if child.type in ("text", "code_inline", "placeholder", "html_inline")
                )
                return " ".join(text.split()) or "(untitled)"
    return "(untitled)"


def pace(deck: Deck) -> tuple[Pacing, list[Diagnostic]]:
    """Every slide's time; slides must be rendered (their HTML is read)."""
    meta = deck.meta
    rate = meta.speaking_rate or SPEAKING_RATE
    rows: list[SlideTime] = []
    errors: list[Diagnostic] = []
    for h, stack in enumerate(deck.stacks, 1):
        for v, slide in enumerate(stack, 1):
            word_count, step_count = words(slide.notes_html), steps(slide.html)
            seconds, by_hand = estimate(word_count, step_count, rate), False
            given = slide.attrs.get("data-timing")
            if given is not None:
                try:
                    seconds, by_hand = int(given.strip()), True
                    if seconds < 0:
                        raise ValueError
                except ValueError:
                    errors.append(
                        Diagnostic(
                            slide.path,
                            _timing_line(slide),
                            f"data-timing '{given}' must be a whole number of seconds",
                        )
                    )
            rows.append(
                SlideTime(
                    f"{h}" if len(stack) == 1 and v == 1 else f"{h}.{v}",
                    title(slide),
                    f"{slide.path}:{slide.line}",
                    word_count,
                    step_count,
                    seconds,
                    by_hand,
                )
            )
    return Pacing(rows, rate, meta.duration), errors


def apply(deck: Deck) -> tuple[Pacing | None, list[Diagnostic]]:
    """With `duration:` or `speaking_rate:` in the front matter: write each slide's
    data-timing and reveal.js's totalTime; warn when the total is over the duration."""
    meta = deck.meta
    if meta.duration is None and meta.speaking_rate is None:
        return None, []
    pacing, diagnostics = pace(deck)
    if any(d.is_error for d in diagnostics):
        return pacing, diagnostics
    for slide, row in zip(deck.slides, pacing.slides):
        slide.attrs.setdefault("data-timing", str(row.seconds))
    total_time = round(meta.duration * 60) if meta.duration is not None else pacing.total
    meta.reveal["totalTime"] = total_time
    if pacing.over:
        diagnostics.append(
            Diagnostic(
                display_path(deck.sources[0]),
                meta.lines.get("duration"),
                f"the slides' estimated time, {clock(pacing.total)}, is over the duration of "
                f"{clock(meta.duration * 60)} (`python build.py --timing` shows each slide's)",
                "warning",
            )
        )
    return pacing, diagnostics


def _timing_line(slide: Slide) -> int:
    for token in reversed(slide_attribute_tokens(slide)):  # the last one wins
        if "data-timing" in token.meta["slide_attrs"]:
            return token.map[0] + 1 if token.map else slide.line
    return slide.line


def clock(seconds: float) -> str:
    """Seconds as m:ss (h:mm:ss from an hour)."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def table(pacing: Pacing, width: int = 44) -> str:
    """The --timing table: slide, title, estimate, cumulative time, and the total."""
    lines = [f"{'slide':<6} {'title':<{width}} {'words':>5} {'steps':>5} {'time':>6} {'total':>7}"]
    cumulative = 0
    for row in pacing.slides:
        cumulative += row.seconds
        name = row.title if len(row.title) <= width else row.title[: width - 1] + "…"
        time = clock(row.seconds) + ("*" if row.by_hand else " ")
        lines.append(
            f"{row.number:<6} {name:<{width}} {row.words:>5} {row.steps:>5} "
            f"{time:>6} {clock(cumulative):>7}"
        )
    total = f"total {clock(pacing.total)} for {len(pacing.slides)} slides"
    if pacing.duration is not None:
        left = pacing.duration * 60 - pacing.total
        total += f" of a {clock(pacing.duration * 60)} duration: " + (
            f"{clock(left)} to spare" if left >= 0 else f"{clock(-left)} OVER"
        )
    model = (
        f"estimate: max(notes' words at {pacing.rate:g} words/min, "
        f"{MIN_SLIDE} s + {MIN_STEP} s per step)"
    )
    if any(row.by_hand for row in pacing.slides):
        model += "; * a data-timing given by hand"
    return "\n".join(lines + [total, model])
