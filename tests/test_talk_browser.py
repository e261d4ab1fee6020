"""Every slide of the talk as the audience sees it: the deck check, on the talk.

Builds slides/ (whatever it holds now) with the figures the session brought up to
date, then runs the same check as `make check` (talkbuild/check.py): every slide,
every slide of every vertical stack and every fragment step (code line-highlight
steps are fragments too) in headless Chromium at the deck's size, for overflow,
content under the controls, images that do not load, console errors, requests
leaving the deck, text too small (figures included), math left as TeX, contrast
below WCAG AA and images without alternative text. The talk has no finding.

TALK_SCREENSHOTS=/some/folder saves a PNG of every step (HH-VV-FF.png) to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from talkbuild.build import PROJECT, BuildConfig, build
from talkbuild.check import Walk, check

pytestmark = pytest.mark.browser

SLIDES = PROJECT / "slides"
SCREENSHOTS = os.environ.get("TALK_SCREENSHOTS")  # a folder for one PNG per step


@pytest.fixture(scope="module")
def talk(regenerated_figures, tmp_path_factory) -> Path:
    """The talk, built into a temporary folder (missing external images only warn)."""
    out = tmp_path_factory.mktemp("talk") / "deck"
    build(BuildConfig(source=SLIDES, output=out, figures=False))
    return out / "index.html"


@pytest.fixture(scope="module")
def walk(talk) -> Walk:
    return check(talk, SLIDES, PROJECT / "node_modules", Path(SCREENSHOTS) if SCREENSHOTS else None)


def test_every_slide_and_step_is_visited(walk, talk):
    sections = talk.read_text(encoding="utf-8").count("<section data-source-line=")
    assert walk.slides == sections > 0
    assert walk.steps > walk.slides  # the fragment and highlight steps too


def test_the_talk_has_no_finding(walk):
    assert walk.findings == [], "\n".join(str(finding) for finding in walk.findings)
