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

    def regenerate(project, *, force=False, jobs=None, progress=None):
        calls.append((project, force))
        return list(fake.errors)

    fake.regenerate, fake.errors, fake.calls = regenerate, [], calls
    monkeypatch.setitem(sys.modules, "talkbuild.figures", fake)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "slides").mkdir()
    (tmp_path / "slides" / "deck.md").write_text("# slide\n")
    return tmp_path, fake


def config(root: Path, **options) -> BuildConfig:
    return BuildConfig(source=root / "slides" / "deck.md", output=root / "out", **options)


def test_the_figures_of_the_project_above_the_deck_are_regenerated_first(project):
    root, fake = project
    build(config(root, force=True))
    assert fake.calls == [(root, True)]


def test_no_figures_skips_the_scripts(project):
    root, fake = project
    build(config(root, figures=False))
    assert fake.calls == []


def test_a_project_without_scripts_runs_none_and_prints_nothing_about_figures(project, capsys):
    root, fake = project
    (root / "scripts").rmdir()
    build(config(root))
    assert fake.calls == []
    assert "figures" not in capsys.readouterr().err


def test_the_search_for_scripts_stops_at_the_repository_root(project):
    root, fake = project
    (root / "talk" / ".git").mkdir(parents=True)
    (root / "talk" / "deck.md").write_text("# slide\n")
    build(BuildConfig(source=root / "talk" / "deck.md", output=root / "out"))
    assert fake.calls == []


def test_a_failed_script_fails_the_build_and_writes_nothing(project):
    root, fake = project
    fake.errors = [Diagnostic("scripts/x.py", None, "exited with status 1")]
    with pytest.raises(BuildFailed) as failure:
        build(config(root))
    assert [str(d) for d in failure.value.diagnostics] == ["scripts/x.py: exited with status 1"]
    assert not (root / "out").exists()


def test_an_unrelated_deck_runs_no_script_and_uses_none_of_the_talks_results(tmp_path):
    """From another folder, a deck outside this repository: nothing of it is run or touched."""
    stamps = PROJECT / "figures" / "stamps.json"
    before = stamps.stat().st_mtime_ns if stamps.exists() else None
    (tmp_path / "other.md").write_text("# Other\n\n{{ least_squares.e1.max_error_at_samples }}\n")
    result = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "other.md", "-o", str(tmp_path / "out")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "other.md:3: results file 'figures/least_squares.json' not found" in result.stderr
    assert "figures:" not in result.stderr
    assert (stamps.stat().st_mtime_ns if stamps.exists() else None) == before


def test_a_slide_error_is_printed_before_the_stale_scripts_finish(tmp_path):
    """The script waits until the test has seen the slide error (a handshake): were the
    error printed only after the scripts, the script would time out and fail."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "slow.py").write_text(
        "import pathlib, sys, time\n"
        "go = pathlib.Path(__file__).parents[1] / 'go'\n"
        "deadline = time.monotonic() + 60\n"
        "while not go.exists():\n"
        "    if time.monotonic() > deadline:\n"
        "        sys.exit('the slide error was not printed first')\n"
        "    time.sleep(0.01)\n"
    )
    (tmp_path / "deck.md").write_text("---\nbogus: 1\n---\n# A slide\n")
    with subprocess.Popen(
        [sys.executable, str(PROJECT / "build.py"), "deck.md", "-o", "out"],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    ) as build_py:
        first = build_py.stderr.readline()
        (tmp_path / "go").write_text("")
        rest = build_py.stderr.read()
    assert build_py.returncode == 1
    assert first.startswith("deck.md:2: ") and "bogus" in first
    assert "figures: ok slow" in rest
    assert "deck.md:2" not in rest  # printed once


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
