"""Hostile and broken input: every deck gets a deck or `path:line` messages, in
bounded time and memory, and nothing it has no business copying is copied.

Each fixture in tests/fixtures/hostile is one class of input that once crashed,
hung or rendered wrongly (issue 11): NAME.md gives exactly the diagnostics of
NAME.txt and the slides of NAME.html. What git cannot hold (a FIFO, a device) is
made here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deck_fixtures import (
    FIXTURES,
    RESULTS,
    assert_matches,
    cases,
    check_diagnostics,
    slides_markup,
)

from talkbuild import assets, cli, markdown, pacing, paths, results, slides
from talkbuild.build import BuildConfig, build, render
from talkbuild.diagnostics import BuildFailed

HOSTILE = FIXTURES / "hostile"
ROOT = FIXTURES.parents[1]
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a2c9a36a0000000049454e44ae426082"
)
# A run this long takes a quadratic pattern seconds, a linear one milliseconds.
RUN = 20_000


@pytest.mark.parametrize("source", cases("hostile"))
def test_hostile_fixture_gives_expected_diagnostics_and_slides(source, monkeypatch):
    rendered = check_diagnostics(source, HOSTILE, monkeypatch)
    assert_matches(
        slides_markup(rendered.page) if rendered.page else "", source.with_suffix(".html")
    )


def render_text(tmp_path: Path, text: str, **config):
    deck = tmp_path / "deck.md"
    deck.write_text(text, encoding="utf-8")
    return render(BuildConfig(**{"source": deck, "results": RESULTS, "figures": False, **config}))


def messages(tmp_path: Path, text: str, **config) -> list[str]:
    """The diagnostics' messages, without the path and line."""
    return [d.message for d in render_text(tmp_path, text, **config).diagnostics]


# --- Files that are not regular files ----------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.py"
    os.mkfifo(path)
    return path


def test_an_included_fifo_is_refused_without_waiting_for_a_writer(tmp_path, fifo, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = messages(tmp_path, "```python include=pipe.py\n```\n")
    assert found == [
        "include=pipe.py: cannot read 'pipe.py': it is not a regular file (a device or a pipe?)"
    ]


def test_an_included_device_is_refused_when_its_folder_is_allowed(tmp_path):
    found = messages(tmp_path, "```text include=/dev/zero\n```\n", allow_outside=(Path("/dev"),))
    assert len(found) == 1 and "not a regular file" in found[0]


def test_a_fifo_as_image_results_or_deck_is_refused(tmp_path, fifo, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkfifo(tmp_path / "demo.json")
    found = messages(tmp_path, "![a](pipe.py)\n\n{{ demo.x }}\n", results=tmp_path)
    assert sorted(found) == [
        "cannot read results file 'demo.json': it is not a regular file (a device or a pipe?)",
        "image 'pipe.py' is not a file",
    ]
    assert slides.read_source(fifo, "pipe.py")[1][0].message == (
        "cannot read file: it is not a regular file (a device or a pipe?)"
    )


def test_an_include_larger_than_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(paths, "MAX_TEXT_BYTES", 1000)
    (tmp_path / "big.py").write_text("x = 1\n" * 1000)
    found = messages(tmp_path, "```python include=big.py\n```\n")
    assert found == [
        "include=big.py: cannot read 'big.py': it is larger than the limit of 1000 bytes"
    ]


# --- The project folder and media content ------------------------------------------


def test_an_image_outside_the_project_is_an_error_unless_its_folder_is_allowed(tmp_path):
    deck_folder, elsewhere = tmp_path / "talk", tmp_path / "shared"
    deck_folder.mkdir(), elsewhere.mkdir()
    (elsewhere / "logo.png").write_bytes(PNG)
    text = "![logo](../shared/logo.png)\n"
    found = messages(deck_folder, text)
    assert found == [f"image '../shared/logo.png' is {paths.OUTSIDE}"]
    assert messages(deck_folder, text, allow_outside=(elsewhere,)) == []


def test_a_symbolic_link_out_of_the_project_is_outside(tmp_path):
    (tmp_path / "secret.png").write_bytes(PNG)
    (tmp_path / "talk").mkdir()
    (tmp_path / "talk" / "innocent.png").symlink_to(tmp_path / "secret.png")
    assert messages(tmp_path / "talk", "![a](innocent.png)\n") == [
        f"image 'innocent.png' is {paths.OUTSIDE}"
    ]


def test_the_project_folder_is_the_nearest_with_git(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "slides").mkdir()
    assert paths.project_root(tmp_path / "slides" / "talk.md") == tmp_path.resolve()
    assert paths.project_root(tmp_path / "slides") == tmp_path.resolve()


def test_media_are_judged_by_content_not_name(tmp_path):
    (tmp_path / "photo.png").write_text("not a picture")
    (tmp_path / "picture.dat").write_bytes(PNG)
    (tmp_path / "drawing.svg").write_text('<?xml version="1.0"?>\n<!-- x -->\n<svg></svg>\n')
    found = messages(tmp_path, "![a](photo.png)\n\n![b](picture.dat)\n\n![c](drawing.svg)\n")
    assert found == [
        "image 'photo.png' is not an image, a video or audio (judged by its content, not its name)"
    ]


def test_an_included_file_outside_the_project_is_an_error(tmp_path, monkeypatch):
    (tmp_path / "talk").mkdir()
    monkeypatch.chdir(tmp_path / "talk")
    (tmp_path / "code.py").write_text("x = 1\n")
    found = messages(tmp_path / "talk", "```python include=../code.py\n```\n")
    assert found == [f"include=../code.py: '../code.py' is {paths.OUTSIDE}"]


# --- Bounded work ------------------------------------------------------------------

# The patterns that see text from the deck, and how the builder applies them.
PATTERNS = {
    "markdown.ATTRIBUTE": (markdown.ATTRIBUTE, "finditer"),
    "markdown.ELEMENT_ATTRIBUTES": (markdown.ELEMENT_ATTRIBUTES, "search"),
    "markdown.SLIDE_ATTRIBUTES": (markdown.SLIDE_ATTRIBUTES, "search"),
    "markdown.TAG": (markdown.TAG, "finditer"),
    "markdown.TODO": (markdown.TODO, "search"),
    "markdown.ATTRIBUTE_NAME": (markdown.ATTRIBUTE_NAME, "fullmatch"),
    "markdown.LEADING_BACKSLASHES": (markdown.LEADING_BACKSLASHES, "match"),
    "markdown.PLACEHOLDER": (markdown.PLACEHOLDER, "finditer"),
    "pacing.TAG": (pacing.TAG, "finditer"),
    "results.INCLUDE": (results.INCLUDE, "search"),
    "results.REGION_MARKER": (results.REGION_MARKER, "match"),
    "results.FORMAT_NUMBER": (results.FORMAT_NUMBER, "findall"),
    "assets.MEDIA_TAG": (assets.MEDIA_TAG, "finditer"),
    "assets.SRC_ATTRIBUTE": (assets.SRC_ATTRIBUTE, "finditer"),
    "assets.URL_SCHEME": (assets.URL_SCHEME, "match"),
}
# Long runs of what these patterns look for: a quadratic pattern takes seconds on them.
FRAGMENTS = [
    " ", "\n", "a", "-", "<", "<a ", "<a b", "<a b=", '"', "=", '="', "<!--", "-->",
    ".element", ".element: ", ".slide: ", "data-", "data-a", "{{", "{{ a", "{{ a:",
    "{{ a.b:", "[", "[1", "[ ", "[1:", ":", "a.", "\t", "include=", "# region ", "src=",
    "<img ", "<img src=", '<img src="', "$", "\\", 'a="b" ', "data-a ", "0", "1:", "|",
]  # fmt: skip


# Texts of `length` characters on which a backtracking pattern is slowest: a
# fragment repeated, or a fragment followed by a long run of one character.
RUN_CHARACTERS = ' a\n"=<-0'


def texts(length: int):
    for fragment in FRAGMENTS:
        for tail in ("", " ", "a", "\n", ">"):
            unit = fragment + tail
            yield f"({unit!r})*", unit * (length // len(unit))
        for character in RUN_CHARACTERS:
            yield f"{fragment!r}+({character!r})*", fragment + character * length


def run_time(pattern: re.Pattern, method: str, text: str, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = getattr(pattern, method)(text)
        if method == "finditer":
            list(result)
        best = min(best, time.perf_counter() - start)
    return best


def quadratic_on(pattern: re.Pattern, method: str) -> str | None:
    """The text on which the pattern is superlinear, or None. Fast patterns pass at
    once; a slower one must scale linearly from RUN / 10 to RUN characters (best of
    three, so that a busy machine is not taken for a slow pattern)."""
    seconds, name = max((run_time(pattern, method, text), name) for name, text in texts(RUN))
    if seconds < 0.05:
        return None
    small = run_time(pattern, method, dict(texts(RUN // 10))[name], repeat=3)
    large = run_time(pattern, method, dict(texts(RUN))[name], repeat=3)
    ratio = large / max(small, 1e-6)
    if ratio > 30 and large > 0.05:
        return f"{large:.2f} s on {RUN} characters of {name}, {ratio:.0f} times {RUN // 10}'s"
    return None


@pytest.mark.parametrize("name", PATTERNS)
def test_pattern_runs_in_linear_time_on_long_runs(name):
    problem = quadratic_on(*PATTERNS[name])
    assert problem is None, f"{name} is not linear: {problem}"


def test_code_fence_info_strings_are_read_in_linear_time():
    # Highlight specs are read without a regular expression (markdown.parse_fence_info).
    for name, text in texts(RUN):
        start = time.perf_counter()
        markdown.parse_fence_info(f"python [{text}] include={text}")
        assert time.perf_counter() - start < 0.1, f"fence info {name}"


def test_html_comments_are_found_in_one_pass():
    text = "<!--" * RUN + " <!-- a --> <!-- b"
    start = time.perf_counter()
    found = list(markdown.html_comments(text))
    assert time.perf_counter() - start < 0.1
    assert [body for _, _, body in found] == ["<!--" * (RUN - 1) + " <!-- a "]


LONG_RUNS = [
    "<!-- .element:" + " " * RUN + "-->",
    '<!-- .element: class="a"' + " x" * RUN + " -->",
    "<div>\n" + "<a " * RUN + "\n</div>",
    "<div>\n<p>a</p>\n<!-- .element:" + ' a="b"' * (RUN // 6) + " -->\n</div>",
    "<img " * RUN,
    "<!--" * RUN,
    "$" * RUN + "\\",
    "x " * RUN + "\\",
    "- " * RUN,
    "<!-- .slide: " + "data-" * (RUN // 5) + " -->",
]


@pytest.mark.parametrize("text", LONG_RUNS, ids=range(len(LONG_RUNS)))
def test_a_deck_of_long_runs_builds_quickly(tmp_path, text):
    start = time.monotonic()
    render_text(tmp_path, text + "\n")
    assert time.monotonic() - start < 2


def test_yaml_larger_than_the_limit_is_refused(tmp_path):
    found = messages(tmp_path, "---\ntitle: " + "x" * slides.MAX_YAML_CHARS + "\n---\n# a\n")
    assert len(found) == 1 and found[0].startswith("invalid front matter: ")
    assert f"the limit is {slides.MAX_YAML_CHARS}" in found[0]


# --- The command line --------------------------------------------------------------


def test_an_internal_error_is_one_line_naming_the_deck(tmp_path, monkeypatch, capsys):
    deck = tmp_path / "deck.md"
    deck.write_text("# a\n")

    def broken(config):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "build", broken)
    assert cli.main([str(deck), "--no-figures"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"{slides.display_path(deck)}: internal error: ZeroDivisionError: division by zero "
        "(run with --debug for the traceback)"
    ]
    assert cli.main([str(deck), "--no-figures", "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert err.splitlines()[-1].endswith("internal error: ZeroDivisionError: division by zero")


def test_the_command_line_reports_paths_the_file_system_rejects(tmp_path):
    long = "x" * 300
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), f"{long}.md", "--no-figures", "-o", long],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{long}.md: the path is too long for the file system",
        "build failed: 1 error; the previous deck is unchanged",
    ]


def test_allow_outside_on_the_command_line_lets_the_deck_copy_the_file(tmp_path):
    (tmp_path / "talk").mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "logo.png").write_bytes(PNG)
    (tmp_path / "talk" / "deck.md").write_text("![logo](../shared/logo.png)\n")
    command = [sys.executable, str(ROOT / "build.py"), "talk/deck.md", "--no-figures"]
    refused = subprocess.run([*command, "-o", "out"], capture_output=True, text=True, cwd=tmp_path)
    assert refused.returncode == 1 and "outside the deck's project folder" in refused.stderr
    allowed = subprocess.run(
        [*command, "-o", "out", "--allow-outside", "shared"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "out" / "media" / "logo.png").read_bytes() == PNG


def test_a_build_with_a_hostile_deck_raises_only_build_failed(tmp_path):
    deck = tmp_path / "deck.md"
    deck.write_text((HOSTILE / "reveal_alias_bomb.md").read_text(), encoding="utf-8")
    with pytest.raises(BuildFailed):
        build(BuildConfig(source=deck, output=tmp_path / "out", figures=False))
    assert not (tmp_path / "out").exists()
