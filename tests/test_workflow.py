"""The CI workflow (.github/workflows/deck.yml): one GitHub accepts, running what the README says.

The workflow is validated against GitHub's workflow schema as SchemaStore
publishes it, vendored in check-jsonschema (`vendor.github-workflows`), with
every socket refused: the check must not fetch anything.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
import yaml
from check_jsonschema import main as check_jsonschema
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "deck.yml"
# What the README says CI runs, in this order.
COMMANDS = [
    "make test",
    "make deck",
    ".venv/bin/python build.py --self-contained",
    "make pdf",
    "make pptx",
]


@pytest.fixture
def no_network(monkeypatch) -> list:
    """Every attempt to reach the network fails, and is recorded."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("the network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


def validate(path: Path):
    return CliRunner().invoke(
        check_jsonschema, ["--builtin-schema", "vendor.github-workflows", str(path)]
    )


def test_validates_against_githubs_workflow_schema_offline(no_network):
    result = validate(WORKFLOW)
    assert result.exit_code == 0, result.output
    assert no_network == []


def test_the_schema_check_rejects_a_broken_workflow(no_network, tmp_path):
    broken = tmp_path / "deck.yml"
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "runs-on:" in text
    broken.write_text(text.replace("runs-on:", "runs_on:", 1), encoding="utf-8")
    result = validate(broken)
    assert result.exit_code == 1
    assert "runs-on" in result.output  # names the missing key
    assert no_network == []


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_runs_the_readme_commands_in_order():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    runs = [step["run"].strip() for step in _steps(workflow) if "run" in step]
    for command in [*COMMANDS, "make reproduce"]:
        assert command in readme, f"the README no longer documents {command!r}"
    assert [run for run in runs if run in COMMANDS] == COMMANDS
    assert "make reproduce" in runs


def test_every_action_is_pinned_to_a_version():
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    for step in _steps(workflow):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", step["uses"]), (
                step["uses"]
            )


def _uses(workflow: dict, action: str) -> list[dict]:
    return [step for step in _steps(workflow) if step.get("uses", "").startswith(action + "@")]


@pytest.fixture
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def test_restores_only_the_figures_cache_never_the_committed_figures(workflow):
    paths = [step["with"]["path"].rstrip("/") for step in _uses(workflow, "actions/cache")]
    assert "figures/.cache" in paths and "figures" not in paths


def test_checks_the_committed_figures_before_the_tests(workflow):
    runs = [step.get("run", "") for step in _steps(workflow)]
    assert runs.index("make figures-check") < runs.index("make test")


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint is not installed")
def test_actionlint_finds_nothing():
    result = subprocess.run(
        ["actionlint", str(WORKFLOW)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
