"""The README's "Adding a figure" example works as written, and passes the deck check.

The script and the slides are taken from the README, put into a scratch copy of
scripts/ (figkit included), run, built into a deck and checked in Chromium
(`build.py --check`): no finding.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> tuple[str, str]:
    """The Python script and the Markdown slides of README's "Adding a figure"."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Adding a figure\n", 1)[1].split("\n### ", 1)[0]
    script = re.search(r"^```python\n(.*?)^```$", section, re.S | re.M)
    slides = re.search(r"^````markdown\n(.*?)^````$", section, re.S | re.M)
    assert script and slides, "the README's example is not a ```python and a ````markdown block"
    return script.group(1), slides.group(1)


def test_the_example_names_the_script_it_is_saved_as():
    script, slides = readme_example()
    assert "include=../scripts/sine_wave.py#" in slides
    assert "# region sine-samples" in script and "# endregion sine-samples" in script


@pytest.mark.browser
def test_the_example_runs_builds_and_passes_the_check(tmp_path):
    script, slides = readme_example()
    root = tmp_path / "repo"
    shutil.copytree(
        ROOT / "scripts" / "figkit",
        root / "scripts" / "figkit",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (root / "scripts" / "sine_wave.py").write_text(script, encoding="utf-8")
    (root / "slides").mkdir()
    (root / "slides" / "deck.md").write_text(slides, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(root / "scripts" / "sine_wave.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert (root / "figures" / "sine-wave.svg").is_file()
    checked = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), str(root / "slides" / "deck.md")]
        + ["-o", str(tmp_path / "deck"), "--no-figures", "--results", str(root / "figures")]
        + ["--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "checked 2 slides" in checked.stdout
