"""Errors: each fixture in tests/fixtures/errors reports exactly the expected
`path:line: message` diagnostics, every one of them in a single run."""

import subprocess
import sys
from pathlib import Path

import pytest
from deck_fixtures import (
    FIXTURES,
    RESULTS,
    cases,
    check_diagnostics,
    render_fixture,
)

from talkbuild import paths
from talkbuild.build import BuildConfig, build
from talkbuild.diagnostics import BuildFailed
from talkbuild.slides import read_source

ROOT = FIXTURES.parents[1]
ERRORS = FIXTURES / "errors"


@pytest.mark.parametrize("source", cases("errors"))
def test_fixture_reports_expected_diagnostics(source, monkeypatch):
    check_diagnostics(source, ERRORS, monkeypatch)


def test_every_error_fixture_is_an_error_or_warning_with_a_line():
    expected_files = sorted(ERRORS.glob("*.txt"))
    assert expected_files
    for expected in expected_files:
        for line in expected.read_text(encoding="utf-8").splitlines():
            path, number, message = line.split(":", 2)
            assert path.endswith(".md") and number.isdigit() and message.strip(), line


def test_an_unreadable_file_is_reported_with_its_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "locked.md"
    source.write_text("# slide\n")
    read_bytes = paths.read_bytes

    def refuse(path, *args):  # as root, chmod 000 would not stop the read
        if path == source:
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path, *args)

    monkeypatch.setattr(paths, "read_bytes", refuse)
    rendered = render_fixture(source)
    assert [str(d) for d in rendered.diagnostics] == [
        "locked.md:1: cannot read file: Permission denied"
    ]


def test_a_folder_named_like_markdown_cannot_be_read(tmp_path):
    (tmp_path / "folder.md").mkdir()
    assert (
        read_source(tmp_path / "folder.md", "folder.md")[1][0].message
        == "cannot read file: it is a folder"
    )


def test_a_missing_source_is_an_error(tmp_path):
    rendered = render_fixture(tmp_path / "nothing.md")
    assert [d.message for d in rendered.diagnostics] == ["no such file or folder"]


def test_a_build_with_errors_raises_once_with_every_error(tmp_path, monkeypatch):
    monkeypatch.chdir(ERRORS)
    with pytest.raises(BuildFailed) as failure:
        build(
            BuildConfig(
                source=ERRORS / "includes.md",
                output=tmp_path / "deck",
                figures=False,
                results=RESULTS,
            )
        )
    assert len([d for d in failure.value.diagnostics if d.is_error]) == 4
    assert not (tmp_path / "deck").exists()


def run_cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, str(ROOT / "build.py"), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def test_cli_prints_each_error_once_and_exits_non_zero(tmp_path):
    deck = tmp_path / "deck.md"
    deck.write_text("![a](missing.png)\n\n![a](missing.png)\n\n```\nopen\n")
    result = run_cli(deck.name, "-o", "out", "--no-figures", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines == [
        "deck.md:1: image 'missing.png' not found",
        "deck.md:3: image 'missing.png' not found",
        "deck.md:5: code fence '```' opened here is never closed",
        "build failed: 3 errors; the previous deck is unchanged",
    ]
    assert not (tmp_path / "out").exists()


def test_a_failed_build_leaves_the_previous_deck_intact(tmp_path):
    deck, out = tmp_path / "deck.md", tmp_path / "out"
    deck.write_text("# good\n")
    assert run_cli(deck, "-o", out, "--no-figures").returncode == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    deck.write_text("# bad\n\n![a](missing.png)\n")
    assert run_cli(deck, "-o", out, "--no-figures").returncode == 1
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.md", "out"]  # no leftovers


def test_an_output_folder_that_is_not_a_deck_is_not_replaced(tmp_path):
    deck, out = tmp_path / "deck.md", tmp_path / "precious"
    deck.write_text("# slide\n")
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    result = run_cli(deck, "-o", out, "--no-figures")
    assert result.returncode == 1
    assert "not a deck built by build.py; refusing to replace it" in result.stderr
    assert (out / "thesis.tex").read_text() == "years of work"


def test_todo_and_fixme_comments_are_warnings_that_do_not_fail_the_build(tmp_path):
    deck = tmp_path / "deck.md"
    deck.write_text("# a\n\n<!-- TODO: b -->\n")
    result = run_cli(deck.name, "-o", "out", "--no-figures", cwd=tmp_path)
    assert result.returncode == 0
    assert "deck.md:3: warning: TODO comment: TODO: b" in result.stderr


def _error_fixtures() -> list:
    """The error fixtures that report at least one error (not only warnings)."""

    def errors(source: Path) -> list[str]:
        expected = source.with_suffix(".txt")
        lines = expected.read_text(encoding="utf-8").splitlines() if expected.exists() else []
        return [line for line in lines if ": warning: " not in line]

    return [
        pytest.param(source, errors(source), id=source.stem)
        for source in sorted(ERRORS.glob("*.md"))
        if errors(source)
    ]


@pytest.mark.parametrize("source, expected", _error_fixtures())
def test_each_class_of_error_exits_1_and_keeps_the_previous_deck(source, expected, tmp_path):
    out = tmp_path / "out"
    good = tmp_path / "good.md"
    good.write_text("# good\n\n$x$\n")
    assert run_cli(good, "-o", out, "--no-figures").returncode == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    result = run_cli(source.name, "-o", out, "--no-figures", "--results", RESULTS, cwd=ERRORS)
    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if line in expected] == sorted(
        expected, key=lambda line: int(line.split(":")[1])
    )
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
