"""Provenance: figkit notes which lines saved each figure and number, and the build
lists, for every figure and number of the deck, where it came from.

The fixture script tests/fixtures/provenance/scripts/demo.py runs in this process
with figkit writing to a temporary folder, as the figure pipeline would run it.
"""

import html
import json
import re
import runpy
import subprocess
from pathlib import Path

import pytest
from deck_fixtures import FIXTURES

import figkit
import figkit.plot
from talkbuild import provenance
from talkbuild.build import PROJECT, BuildConfig, render
from talkbuild.markdown import PLACEHOLDER
from talkbuild.results import Results

DEMO = FIXTURES / "provenance" / "scripts" / "demo.py"
DEMO_FILE = DEMO.relative_to(PROJECT).as_posix()


def lines_of(pattern: str, end: str | None = None) -> list[int]:
    """1-based line range in demo.py: from the line matching `pattern` to the one matching
    `end` (or the end of that def/entry: the next line at the same or lower indent)."""
    text = DEMO.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(text, 1) if re.search(pattern, line))
    if end is not None:
        return [first, next(i for i, line in enumerate(text, 1) if i > first and end in line)]
    indent = len(text[first - 1]) - len(text[first - 1].lstrip())
    last = first
    for i in range(first, len(text)):
        line = text[i]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        if line.strip():
            last = i + 1
    return [first, last]


@pytest.fixture
def figures(tmp_path, monkeypatch) -> Path:
    """figures/ of a run of demo.py: its figure, results and provenance file."""
    out = tmp_path / "figures"
    monkeypatch.setattr(figkit, "FIGURES", out)
    monkeypatch.setattr(figkit, "PROVENANCE", out / "provenance")
    monkeypatch.setattr(figkit.plot, "FIGURES", out)
    monkeypatch.setattr(figkit, "_PROVENANCE", {})
    runpy.run_path(str(DEMO), run_name="__main__")
    return out


def deck(tmp_path: Path, figures: Path, front_matter: str = "") -> tuple:
    """Render a deck quoting demo.py's figure and numbers; (page, provenance data)."""
    source = tmp_path / "deck.md"
    source.write_text(
        f"---\ntitle: Demo\n{front_matter}---\n\n"
        "# Slope {{ demo.fit.slope:.2f }}\n\n"
        "![the fit](figures/demo-figure.svg)\n\n"
        f"```python include={DEMO.as_posix()}#fit\n```\n\n"
        "Points: {{ demo.points }}, spread `{{ demo.spread:.3f }}`\n\n"
        "Note: the intercept is {{ demo.fit.intercept:.1f }}\n\n"
        "---\n\n# Nothing from a script\n",
        encoding="utf-8",
    )
    config = BuildConfig(
        source=source, results=figures, figures=False, allow_outside=(DEMO.parent,)
    )
    rendered = render(config)  # the include names demo.py, outside tmp_path
    assert not [d for d in rendered.diagnostics if d.is_error], rendered.diagnostics
    files = {asset.dest: asset for asset in rendered.assets}
    data = json.loads(files["provenance.json"].data) if "provenance.json" in files else None
    return rendered.page, data


def test_figkit_notes_the_lines_that_saved_each_figure_and_result(figures):
    record = json.loads((figures / "provenance" / "demo.json").read_text(encoding="utf-8"))
    assert record["script"] == DEMO_FILE
    figure = record["figures"]["demo-figure.svg"]
    assert figure["drawn_by"] == {"name": "plot", "lines": lines_of(r"^def plot\(")}
    assert figure["function"]["name"] == "main"
    assert figure["call"] == lines_of(r"save_figure\(plot")
    keys = record["results"]["demo.json"]["keys"]
    assert keys["fit.slope"]["lines"] == lines_of(r'"slope"')
    assert keys["points"]["lines"] == lines_of(r'"points"')
    assert keys["*"]["computed_by"] == {"name": "spread", "lines": lines_of(r"^def spread\(")}
    assert record["seeds"] == {"SEED": 3}
    assert record["parameters"] == {"POINTS": 11}


def test_every_figure_and_number_has_an_entry_with_its_script_and_lines(tmp_path, figures):
    _, data = deck(tmp_path, figures)
    by_source = {(e["source"], e["in"]): e for e in data["entries"]}
    assert set(by_source) == {
        ("demo-figure.svg", "slide"),
        ("demo.fit.slope", "slide"),
        ("demo.points", "slide"),
        ("demo.spread", "slide"),
        ("demo.fit.intercept", "notes"),
    }
    figure = by_source["demo-figure.svg", "slide"]
    assert (figure["kind"], figure["file"], figure["lines"], figure["function"]) == (
        "figure",
        DEMO_FILE,
        lines_of(r"^def plot\("),
        "plot",
    )
    slope = by_source["demo.fit.slope", "slide"]
    assert slope["lines"] == lines_of(r'"slope"')
    assert (slope["slide"], slope["h"], slope["v"], slope["title"]) == (
        1,
        0,
        0,
        "Slope " + (slope["shown"]),
    )
    # A key saved through **spread(y) points at that entry and the function.
    assert by_source["demo.spread", "slide"]["computed_by"]["name"] == "spread"
    # The slide shows the script's region `fit`: every entry of the slide names it.
    assert slope["region"] == {"name": "fit", "lines": lines_of(r"# region fit", "# endregion")}


def test_every_value_equals_what_the_slide_shows(tmp_path, figures):
    page, data = deck(tmp_path, figures)
    results = json.loads((figures / "demo.json").read_text(encoding="utf-8"))
    for entry in data["entries"]:
        if entry["kind"] != "number":
            continue
        value = results
        for key in entry["source"].split(".")[1:]:
            value = value[key]
        assert entry["value"] == value
        assert entry["shown"] == format(value, entry["spec"] or "")
        assert entry["shown"] in page


def test_a_number_in_the_text_names_its_source_and_exact_value(tmp_path, figures):
    page, _ = deck(tmp_path, figures)
    slope = json.loads((figures / "demo.json").read_text(encoding="utf-8"))["fit"]["slope"]
    assert (
        f'<span class="talk-value" data-source="demo.fit.slope" data-value="{slope!r}">'
        f"{slope:.2f}</span>" in page
    )


def test_the_scripts_seeds_parameters_commit_and_stamp_are_listed(tmp_path, figures):
    (figures / "stamps.json").write_text(
        json.dumps({"format": 2, "scripts": {"demo": {"inputs": {}, "environment": {}}}}),
        encoding="utf-8",
    )
    (figures / ".cache").mkdir()
    (figures / ".cache" / "durations.json").write_text('{"demo": 1.25}', encoding="utf-8")
    _, data = deck(tmp_path, figures)
    head = subprocess.run(
        ["git", "-C", str(PROJECT), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert data["commit"] == head
    script = data["scripts"]["demo"]
    assert script["file"] == DEMO_FILE
    stamp = provenance.read_stamps(figures)["demo"]
    assert (script["inputs"], script["duration"]) == (stamp["inputs"], 1.25)
    assert (script["seeds"], script["parameters"]) == ({"SEED": 3}, {"POINTS": 11})


def test_with_a_repository_scripts_link_to_the_file_at_the_commit(tmp_path, figures):
    _, data = deck(tmp_path, figures, "repository: https://github.com/someone/talk/\n")
    figure = next(e for e in data["entries"] if e["kind"] == "figure")
    first, last = lines_of(r"^def plot\(")
    assert figure["url"] == (
        f"https://github.com/someone/talk/blob/{data['commit']}/{DEMO_FILE}#L{first}-L{last}"
    )


def test_the_page_gets_the_panel_and_its_data(tmp_path, figures):
    page, data = deck(tmp_path, figures)
    assert '<script src="talk/provenance-data.js"></script>' in page
    assert '<script src="talk/provenance.js"></script>' in page
    assert '<link rel="stylesheet" href="talk/provenance.css">' in page
    assert "TalkProvenance]" in page.replace(" ", "")


def test_a_deck_with_nothing_from_a_script_gets_nothing(tmp_path):
    source = tmp_path / "deck.md"
    source.write_text("# A slide\n\n![dot](dot.svg)\n", encoding="utf-8")
    (tmp_path / "dot.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    rendered = render(BuildConfig(source=source, results=FIXTURES / "results", figures=False))
    assert not [a for a in rendered.assets if "provenance" in a.dest]
    assert "provenance" not in rendered.page.lower()


def test_a_script_changed_since_its_run_is_a_warning(tmp_path, figures):
    record_file = figures / "provenance" / "demo.json"
    record = json.loads(record_file.read_text(encoding="utf-8"))
    record["script_sha256"] = "0" * 64
    record_file.write_text(json.dumps(record), encoding="utf-8")
    source = tmp_path / "deck.md"
    source.write_text("# {{ demo.points }}\n", encoding="utf-8")
    config = BuildConfig(
        source=source, results=figures, figures=False, allow_outside=(DEMO.parent,)
    )
    rendered = render(config)  # the include names demo.py, outside tmp_path
    warnings = [d for d in rendered.diagnostics if not d.is_error]
    assert [d.path.endswith("demo.py") and "changed since" in d.message for d in warnings] == [True]


def test_read_stamps_gives_inputs_and_duration_and_nothing_when_missing(tmp_path):
    assert provenance.read_stamps(tmp_path) == {}
    stamp = {"inputs": {"scripts/x.py": "ab"}, "environment": {"numpy": "2"}, "outputs": {}}
    (tmp_path / "stamps.json").write_text(json.dumps({"format": 2, "scripts": {"x": stamp}}))
    found = provenance.read_stamps(tmp_path)
    assert set(found) == {"x"} and found["x"]["duration"] is None
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "durations.json").write_text('{"x": 2.0}')
    assert provenance.read_stamps(tmp_path) == {"x": {**found["x"], "duration": 2.0}}
    stamp["inputs"]["scripts/x.py"] = "cd"  # another input: another hash
    (tmp_path / "stamps.json").write_text(json.dumps({"format": 2, "scripts": {"x": stamp}}))
    assert provenance.read_stamps(tmp_path)["x"]["inputs"] != found["x"]["inputs"]


def test_every_figure_and_number_of_the_talk_has_its_source(regenerated_figures):
    """The bar: each figure and each placeholder of the talk has an entry naming an
    existing script and a line range inside it, and each value is what the slide shows."""
    talk = (PROJECT / "slides" / "talk.md").read_text(encoding="utf-8")
    figures = re.findall(r"\]\(\.\./figures/([^)]+)\)", talk)
    placeholders = [m.group(1) for m in re.finditer(PLACEHOLDER, talk)]
    rendered = render(BuildConfig(source=PROJECT / "slides", figures=False))
    data = json.loads(next(a.data for a in rendered.assets if a.dest == "provenance.json"))
    entries = data["entries"]
    assert sorted(e["source"] for e in entries if e["kind"] == "figure") == sorted(figures)
    assert sorted(e["source"] for e in entries if e["kind"] == "number") == sorted(placeholders)
    results = Results(regenerated_figures)
    for entry in entries:
        script = PROJECT / entry["file"]
        length = len(script.read_text(encoding="utf-8").splitlines())
        first, last = entry["lines"]
        assert 1 <= first <= last <= length, entry
        if entry["kind"] == "number":
            assert entry["value"] == results.lookup(entry["source"])
            assert entry["shown"] == results.value(entry["source"], entry["spec"])
            assert html.escape(entry["shown"], quote=False) in rendered.page, entry


def test_git_gives_the_commit_and_the_files_changed_since(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.py").write_text("a = 1\n")
    (tmp_path / "b.py").write_text("b = 1\n")
    git("add", "a.py", "b.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    (tmp_path / "b.py").write_text("b = 2\n")
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert provenance._git(tmp_path, ["a.py", "b.py"]) == (head, {"b.py"})
    assert provenance._git(tmp_path / "not-a-repository", ["a.py"]) == (None, set())
