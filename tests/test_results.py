"""Placeholders and code includes (talkbuild/results.py)."""

import json
from pathlib import Path

import pytest

from talkbuild.markdown import create_parser
from talkbuild.results import INCLUDE, REGION_MARKER, ResultError, Results, include


@pytest.fixture
def results(tmp_path):
    (tmp_path / "exp.json").write_text(
        json.dumps(
            {
                "loss": 0.0213,
                "steps": 4000,
                "nested": {"deep": {"x": 1.5}},
                "list": [1, 2],
                "text": "line 1\nline 2",
                "flag": False,
                "nothing": None,
            }
        )
    )
    return Results(tmp_path)


@pytest.mark.parametrize(
    "dotted, spec, text",
    [
        ("exp.loss", None, "0.0213"),
        ("exp.loss", ".1e", "2.1e-02"),
        ("exp.steps", ",d", "4,000"),
        ("exp.nested.deep.x", None, "1.5"),
        ("exp.list.1", None, "2"),
        ("exp.list", None, "[1, 2]"),
        ("exp.text", None, "line 1\nline 2"),
        ("exp.flag", None, "false"),
        ("exp.nothing", None, "null"),
    ],
)
def test_values_are_formatted(results, dotted, spec, text):
    assert results.value(dotted, spec) == text


@pytest.mark.parametrize(
    "dotted, spec, message",
    [
        ("nofile.x", None, "results file"),
        ("exp.missing", None, "no key 'missing'"),
        ("exp.nested.deep.y", None, "no key 'nested.deep.y'"),
        ("exp.list.2", None, "has only 2 items"),
        ("exp.nested", None, "is an object"),
        ("exp.text", ".2f", "cannot format"),
    ],
)
def test_missing_things_are_named(results, dotted, spec, message):
    with pytest.raises(ResultError, match=message):
        results.value(dotted, spec)


def test_invalid_json_is_reported_with_its_line(tmp_path):
    (tmp_path / "bad.json").write_text('{\n"a": }\n')
    with pytest.raises(ResultError, match="not valid JSON \\(line 2"):
        Results(tmp_path).value("bad.a")


SCRIPT = """def f():
    # region outer
    a = 1
    # region inner
    b = 2
    # endregion inner
    return a + b
    # endregion outer
"""


def test_include_region_drops_inner_markers_and_dedents(tmp_path):
    (tmp_path / "s.py").write_text(SCRIPT)
    assert include(tmp_path / "s.py", "outer") == "a = 1\nb = 2\nreturn a + b\n"
    assert include(tmp_path / "s.py", "inner") == "b = 2\n"


def test_include_whole_file_without_region(tmp_path):
    (tmp_path / "s.py").write_text(SCRIPT)
    assert include(tmp_path / "s.py") == "def f():\n    a = 1\n    b = 2\n    return a + b\n"


def test_include_region_markers_with_double_slash(tmp_path):
    (tmp_path / "s.js").write_text("// region r\nlet x = 1;\n// endregion r\n")
    assert include(tmp_path / "s.js", "r") == "let x = 1;\n"


@pytest.mark.parametrize(
    "text, region, message",
    [
        (SCRIPT, "absent", "no '# region absent'"),
        ("# region open\nx = 1\n", "open", "has no '# endregion open'"),
    ],
)
def test_include_errors_name_the_region(tmp_path, text, region, message):
    (tmp_path / "s.py").write_text(text)
    with pytest.raises(ResultError, match=message):
        include(tmp_path / "s.py", region)


def test_every_region_marked_in_the_scripts_is_shown_on_a_slide():
    """A `# region` marker says "a slide shows this code": one that no slide includes
    misleads whoever edits the script."""
    repo = Path(__file__).resolve().parents[1]
    md = create_parser()
    shown = set()
    for source in sorted((repo / "slides").glob("*.md")):
        for token in md.parse(source.read_text(encoding="utf-8")):
            match = INCLUDE.search(token.info) if token.type == "fence" else None
            if match:
                file_name, _, region = match.group(1).partition("#")
                shown.add(((source.parent / file_name).resolve(), region))
    assert shown, "no slide includes code: the test is looking in the wrong place"
    marked = {
        (script.resolve(), match.group(2))
        for script in (repo / "scripts").rglob("*.py")
        for match in map(REGION_MARKER.match, script.read_text().splitlines())
        if match and match.group(1) == "region"
    }
    unused = sorted(f"{path.relative_to(repo)}#{region}" for path, region in marked - shown)
    assert unused == []
