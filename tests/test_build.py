"""End to end: `python build.py PATH -o OUT` writes a complete, offline deck folder."""

import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from deck_fixtures import FIXTURES

from talkbuild import build as build_module
from talkbuild import cli
from talkbuild.build import PROJECT, BuildConfig, BuildReport, build
from talkbuild.diagnostics import BuildFailed, Diagnostic

DECK = FIXTURES / "browser" / "deck.md"


def run_build(source: Path, out: Path, *options: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "build.py"),
            str(source),
            "-o",
            str(out),
            "--no-figures",
            *options,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def deck(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "deck"
    result = run_build(DECK, out)
    assert result.stdout.endswith("index.html: 5 slides\n")
    return out


def test_the_folder_holds_exactly_what_the_deck_uses(deck):
    katex_fonts = {name for name in files(deck) if name.startswith("katex/fonts/")}
    assert set(files(deck)) - katex_fonts == {
        "index.html",
        "media/dot.svg",
        "reveal/reset.css",
        "reveal/reveal.css",
        "reveal/reveal.js",
        "reveal/theme/black.css",
        "reveal/plugin/notes.js",
        "reveal/plugin/highlight.js",
        "reveal/plugin/highlight/monokai.css",
        "katex/katex.min.css",
    }
    css = (deck / "katex" / "katex.min.css").read_text()
    referenced = set(re.findall(r"url\((fonts/[^)]+)\)", css))
    assert {f"katex/{font}" for font in referenced} == katex_fonts
    # The fonts of the typeset math, and no other: the variables, \\mathcal, the
    # display \\sum, the digits.
    assert katex_fonts == {
        "katex/fonts/KaTeX_Main-Regular.woff2",
        "katex/fonts/KaTeX_Math-Italic.woff2",
        "katex/fonts/KaTeX_Caligraphic-Regular.woff2",
        "katex/fonts/KaTeX_Size2-Regular.woff2",
    }


def test_nothing_in_the_deck_points_to_the_network(deck):
    for name, data in files(deck).items():
        if name.endswith((".css", ".html")):
            text = data.decode("utf-8")
            assert not re.search(r"""url\(\s*["']?(https?:)?//""", text), name
            assert "@import" not in text, name
    page = (deck / "index.html").read_text()
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page)


def test_two_builds_are_byte_identical(deck, tmp_path):
    run_build(DECK, tmp_path / "again")
    assert files(tmp_path / "again") == files(deck)


def test_a_deck_without_code_or_math_gets_neither_highlight_nor_katex(tmp_path):
    (tmp_path / "plain.md").write_text("# Plain\n\ntext\n")
    run_build(tmp_path / "plain.md", tmp_path / "out")
    assert set(files(tmp_path / "out")) == {
        "index.html",
        "reveal/reset.css",
        "reveal/reveal.css",
        "reveal/reveal.js",
        "reveal/theme/white.css",
        "reveal/plugin/notes.js",
    }


def test_a_theme_that_imports_web_fonts_is_made_offline_with_a_warning(tmp_path):
    (tmp_path / "sky.md").write_text("---\ntheme: sky\n---\n# Sky\n")
    result = run_build(tmp_path / "sky.md", tmp_path / "out")
    assert "sky.md:2: warning: theme 'sky' loads web fonts from the network" in result.stderr
    assert b"@import" not in (tmp_path / "out" / "reveal/theme/sky.css").read_bytes()


def test_rebuilding_replaces_the_previous_deck(tmp_path):
    (tmp_path / "a.md").write_text("![x](x.svg)\n")
    (tmp_path / "x.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    run_build(tmp_path / "a.md", tmp_path / "out")
    (tmp_path / "a.md").write_text("# no image now\n")
    run_build(tmp_path / "a.md", tmp_path / "out")
    assert "media/x.svg" not in files(tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "out", "x.svg"]


def configured(monkeypatch, argv: list[str]) -> BuildConfig:
    """The BuildConfig that `build.py ARGV` passes to the build."""
    seen = []

    def fake_build(config: BuildConfig) -> BuildReport:
        seen.append(config)
        return BuildReport(config.output, 0, [])

    monkeypatch.setattr(cli, "build", fake_build)
    assert cli.main(argv) == 0
    return seen[0]


def test_without_arguments_the_cli_builds_slides_into_build_deck(monkeypatch):
    config = configured(monkeypatch, [])
    assert (config.source, config.output) == (PROJECT / "slides", PROJECT / "build" / "deck")
    assert (config.figures, config.force, config.strict) == (True, False, False)


def test_cli_flags_reach_the_build_config(monkeypatch):
    config = configured(
        monkeypatch,
        ["deck.md", "-o", "out", "--force", "--no-figures", "--strict", "--results", "res"],
    )
    assert (config.source, config.output, config.results) == (
        Path("deck.md"),
        Path("out"),
        Path("res"),
    )
    assert (config.figures, config.force, config.strict) == (False, True, True)


# --- The figures hook ----------------------------------------------------------------


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project with scripts/ and a fake talkbuild.figures that records its calls."""
    calls = []
    fake = types.ModuleType("talkbuild.figures")

    def regenerate(scripts_dir, figures_dir, *, force=False, jobs=None, progress=None):
        calls.append((scripts_dir, figures_dir, force))
        return list(fake.errors)

    fake.regenerate, fake.errors, fake.calls = regenerate, [], calls
    monkeypatch.setitem(sys.modules, "talkbuild.figures", fake)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "deck.md").write_text("# slide\n")
    (tmp_path / "node_modules").symlink_to(PROJECT / "node_modules")
    return tmp_path, fake


def config(root: Path, **options) -> BuildConfig:
    return BuildConfig(source=root / "deck.md", output=root / "out", project=root, **options)


def test_figures_are_regenerated_before_the_build(project):
    root, fake = project
    build(config(root, force=True))
    assert fake.calls == [(root / "scripts", root / "figures", True)]


def test_no_figures_skips_the_scripts(project):
    root, fake = project
    build(config(root, figures=False))
    assert fake.calls == []


def test_a_project_without_scripts_runs_none(project):
    root, fake = project
    (root / "scripts").rmdir()
    build(config(root))
    assert fake.calls == []


def test_a_failed_script_fails_the_build_and_writes_nothing(project):
    root, fake = project
    fake.errors = [Diagnostic("scripts/x.py", None, "exited with status 1")]
    with pytest.raises(BuildFailed) as failure:
        build(config(root))
    assert [str(d) for d in failure.value.diagnostics] == ["scripts/x.py: exited with status 1"]
    assert not (root / "out").exists()


def test_the_builder_does_not_import_heavy_libraries():
    code = (
        "import sys, talkbuild.build as b; "
        "b.render(b.BuildConfig(source=b.Path(sys.argv[1]), figures=False)); "
        "print(sorted({'torch', 'numpy', 'matplotlib'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(DECK)], capture_output=True, text=True, cwd=PROJECT
    )
    assert result.stdout == "[]\n", result.stderr


# --- The project's own deck ----------------------------------------------------------


def test_the_project_deck_builds_from_fresh_figures(regenerated_figures, tmp_path):
    report = build(BuildConfig(output=tmp_path / "deck", figures=False))
    assert report.slides > 0
    assert [d for d in report.diagnostics if d.is_error] == []
    assert (tmp_path / "deck" / "index.html").is_file()


def test_build_module_keeps_the_project_root():
    assert (build_module.PROJECT / "build.py").is_file()


def test_an_output_that_cannot_be_written_is_an_error_not_a_traceback(tmp_path):
    (tmp_path / "deck.md").write_text("# One\n")
    (tmp_path / "blocker").write_text("a file where the deck's parent folder should be\n")
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "build.py"),
            str(tmp_path / "deck.md"),
            "-o",
            str(tmp_path / "blocker" / "deck"),
            "--no-figures",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot write the deck" in result.stderr
