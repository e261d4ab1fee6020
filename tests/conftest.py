"""Shared fixtures.

`results` gives the numbers an experiment script wrote (figures/<name>.json),
after bringing every figure up to date through the same pipeline the build
uses. Expensive experiments are therefore run once per session, and not at all
when the figures are already fresh (the build and the tests share the cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
FIGURES = ROOT / "figures"

if str(SCRIPTS) not in sys.path:  # tests import experiment code as the scripts do
    sys.path.insert(0, str(SCRIPTS))

# Every `python build.py` of the tests builds in its own process and leaves no resident
# builder behind (talkbuild/resident.py); tests/test_resident.py turns it on for its own.
os.environ["TALKBUILD_RESIDENT"] = "0"


def pytest_collection_modifyitems(items):
    """Tests that run experiment scripts are marked `figures`: `pytest -m "not figures"`
    is the quick loop."""
    for item in items:
        if {"regenerated_figures", "results"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.figures)


@pytest.fixture(scope="session")
def regenerated_figures() -> Path:
    """Bring every figure and results file up to date; fail with the scripts' errors."""
    from talkbuild.figures import regenerate

    errors = regenerate(ROOT)
    if errors:
        pytest.fail("\n".join(str(e) for e in errors), pytrace=False)
    return FIGURES


@pytest.fixture(scope="session")
def results(regenerated_figures):
    """results("least_squares") -> the dict that scripts/least_squares.py saved."""

    def load(name: str) -> dict:
        return json.loads((regenerated_figures / f"{name}.json").read_text(encoding="utf-8"))

    return load


def run_script(name: str) -> subprocess.CompletedProcess:
    """Run one experiment script on its own, as a presenter would."""
    return subprocess.run(
        [sys.executable, str(SCRIPTS / f"{name}.py")], capture_output=True, text=True, check=False
    )
