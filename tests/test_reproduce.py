"""`python -m talkbuild.reproduce`: committed and reproduced results, as the deck shows them.

Each test writes a small deck and two made-up figures folders (the committed one
and a reproduced one); only the last runs the figures stage, on a one-line script.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from talkbuild.reproduce import SVG_TOLERANCE, compare, main, regenerate_from_nothing

DECK = """# Results

The loss is {{ exp.loss:.3f }} after {{ exp.steps:, }} steps.

Note: Exactly {{ exp.loss }}.
"""
RESULTS = {"loss": 0.123412, "steps": 4000, "unused": 1.0}
SVG = '<svg><path id="p3e8f1c2a9b" d="M 57.6 41.472 L 60 {y}" style="fill: #1f77b4"/></svg>\n'


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path, Path]:
    """deck.md, the committed figures and an identical reproduction of them."""
    deck = tmp_path / "deck.md"
    deck.write_text(DECK, encoding="utf-8")
    committed, reproduced = tmp_path / "figures", tmp_path / "reproduced"
    for folder in (committed, reproduced):
        folder.mkdir()
        write(folder, RESULTS)
        (folder / "plot.svg").write_text(SVG.format(y=40), encoding="utf-8")
        (folder / ".cache").mkdir()
        (folder / ".cache" / "stamps.json").write_text(str(folder), encoding="utf-8")
    return deck, committed, reproduced


def write(folder: Path, values: dict, name: str = "exp") -> None:
    (folder / f"{name}.json").write_text(json.dumps(values, indent=2), encoding="utf-8")


def statuses(comparison) -> dict[str, str]:
    return {output.name: output.status for output in comparison.outputs}


def test_identical_outputs_are_byte_identical_and_hidden_files_are_left_out(folders):
    comparison = compare(*folders)
    assert comparison.ok and comparison.placeholders == 3
    assert statuses(comparison) == {"exp.json": "identical", "plot.svg": "identical"}


def test_a_difference_below_every_format_spec_passes(folders):
    deck, committed, reproduced = folders
    DECK_WITHOUT_EXACT = DECK.replace("Exactly {{ exp.loss }}.", "Roughly.")
    deck.write_text(DECK_WITHOUT_EXACT, encoding="utf-8")
    write(reproduced, {**RESULTS, "loss": 0.1234119999})
    comparison = compare(deck, committed, reproduced)
    assert comparison.ok
    (output,) = comparison.named("below")
    assert output.name == "exp.json" and "2 placeholder(s)" in output.detail


def test_a_placeholder_without_spec_must_match_to_the_last_digit(folders):
    deck, committed, reproduced = folders
    write(reproduced, {**RESULTS, "loss": 0.1234119999})
    comparison = compare(deck, committed, reproduced)
    assert not comparison.ok
    (error,) = comparison.diagnostics
    assert error.line == 5
    assert error.message == "{{ exp.loss }}: committed 0.123412, reproduced 0.1234119999"
    assert statuses(comparison)["exp.json"] == "differs"


def test_a_mismatch_names_the_slide_line_placeholder_and_both_values(folders, capsys):
    deck, committed, reproduced = folders
    write(reproduced, {**RESULTS, "loss": 0.1244, "steps": 4000})
    assert (
        main(["--slides", str(deck), "--figures", str(committed), "--reproduced", str(reproduced)])
        == 1
    )
    err = capsys.readouterr().err
    assert f"{deck.name}:3: {{{{ exp.loss:.3f }}}}: committed 0.123, reproduced 0.124" in err
    assert f"{deck.name}:5: {{{{ exp.loss }}}}: committed 0.123412, reproduced 0.1244" in err


def test_a_value_the_reproduction_lacks_is_a_mismatch(folders):
    deck, committed, reproduced = folders
    write(reproduced, {"loss": RESULTS["loss"]})
    comparison = compare(deck, committed, reproduced)
    (error,) = comparison.diagnostics
    assert error.line == 3 and error.message.startswith(
        "{{ exp.steps:, }}: committed 4,000, not reproduced:"
    )


def test_a_results_file_no_slide_quotes_may_differ(folders):
    deck, committed, reproduced = folders
    write(committed, {"x": 1.0}, name="other")
    write(reproduced, {"x": 1.5}, name="other")
    comparison = compare(deck, committed, reproduced)
    assert comparison.ok
    assert [(o.name, o.detail) for o in comparison.named("below")] == [
        ("other.json", "no slide quotes it")
    ]


def test_an_svg_whose_coordinates_move_below_the_tolerance_differs_only_below_the_deck(folders):
    deck, committed, reproduced = folders
    (reproduced / "plot.svg").write_text(SVG.format(y=40 + SVG_TOLERANCE / 2), encoding="utf-8")
    comparison = compare(deck, committed, reproduced)
    assert statuses(comparison)["plot.svg"] == "below"
    (reproduced / "plot.svg").write_text(SVG.format(y=41), encoding="utf-8")
    comparison = compare(deck, committed, reproduced)
    assert statuses(comparison)["plot.svg"] == "differs"
    assert comparison.ok  # figures are reported; the numbers the slides quote decide


def test_an_svg_with_another_drawing_differs(folders):
    deck, committed, reproduced = folders
    (reproduced / "plot.svg").write_text(SVG.format(y=40).replace("#1f77b4", "#ff7f0e"))
    assert statuses(compare(deck, committed, reproduced))["plot.svg"] == "differs"


def test_outputs_on_one_side_only_are_listed(folders, capsys):
    deck, committed, reproduced = folders
    (committed / "old.svg").write_text("<svg/>", encoding="utf-8")
    (reproduced / "new.svg").write_text("<svg/>", encoding="utf-8")
    comparison = compare(deck, committed, reproduced)
    assert (comparison.committed_only, comparison.reproduced_only) == (["old.svg"], ["new.svg"])
    assert (
        main(["--slides", str(deck), "--figures", str(committed), "--reproduced", str(reproduced)])
        == 0
    )
    out = capsys.readouterr().out
    assert "written by no script: old.svg" in out and "not in" in out and "new.svg" in out
    assert "2 outputs: 2 byte-identical" in out


def test_a_missing_committed_results_file_is_an_error_at_its_line(folders):
    deck, committed, reproduced = folders
    (committed / "exp.json").unlink()
    comparison = compare(deck, committed, reproduced)
    assert not comparison.ok
    assert {d.line for d in comparison.diagnostics} == {3, 5}
    assert all("not found" in d.message for d in comparison.diagnostics)


def test_a_missing_figures_folder_is_an_error(tmp_path, capsys):
    (tmp_path / "deck.md").write_text(DECK, encoding="utf-8")
    (tmp_path / "reproduced").mkdir()
    argv = ["--slides", str(tmp_path / "deck.md"), "--figures", str(tmp_path / "figures")]
    assert main([*argv, "--reproduced", str(tmp_path / "reproduced")]) == 1
    assert "no such folder" in capsys.readouterr().err


def test_regenerating_runs_a_copy_of_the_scripts_and_leaves_the_project_alone(tmp_path):
    project, scratch = tmp_path / "project", tmp_path / "scratch"
    (project / "scripts").mkdir(parents=True)
    (project / "scripts" / "exp.py").write_text(
        "import json, pathlib\n"
        "out = pathlib.Path(__file__).resolve().parents[1] / 'figures'\n"
        "out.mkdir(exist_ok=True)\n"
        "(out / 'exp.json').write_text(json.dumps({'loss': 0.5}))\n",
        encoding="utf-8",
    )
    scratch.mkdir()
    assert regenerate_from_nothing(project, scratch) == []
    assert json.loads((scratch / "figures" / "exp.json").read_text()) == {"loss": 0.5}
    assert not (project / "figures").exists()
