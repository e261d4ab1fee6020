"""The CI workflow (.github/workflows/deck.yml) does what the README says CI does."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "deck.yml"
COMMANDS = ["make test", "make deck", ".venv/bin/python build.py --self-contained", "make pdf"]
ON_MAIN = "github.ref == 'refs/heads/main'"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def _uses(workflow: dict, action: str) -> list[dict]:
    return [step for step in _steps(workflow) if step.get("uses", "").startswith(action + "@")]


def test_runs_on_every_push(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads the key `on` as true
    assert triggers == {"push": None} or triggers in ("push", ["push"])


def test_runs_the_readme_commands_in_order(workflow):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    runs = [step["run"].strip() for step in _steps(workflow) if "run" in step]
    for command in COMMANDS:
        assert command in readme, f"the README no longer documents {command!r}"
    assert [run for run in runs if run in COMMANDS] == COMMANDS


def test_every_action_is_pinned_to_a_version(workflow):
    for step in _steps(workflow):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", step["uses"]), (
                step["uses"]
            )


def test_uses_node_20_with_the_npm_cache(workflow):
    (node,) = _uses(workflow, "actions/setup-node")
    assert node["with"] == {"node-version": 20, "cache": "npm"}


def test_builds_with_python_3_11_and_caches_pip_on_pyproject(workflow):
    assert workflow["jobs"]["build"]["container"]["image"].startswith("python:3.11-")
    pip = [step for step in _uses(workflow, "actions/cache") if "pip" in step["with"]["path"]]
    assert "hashFiles('pyproject.toml')" in pip[0]["with"]["key"]


def test_installs_debian_chromium_and_poppler(workflow):
    installs = [
        step["run"] for step in _steps(workflow) if "apt-get install" in step.get("run", "")
    ]
    assert installs and all(name in installs[0] for name in ("chromium", "poppler-utils"))


def test_restores_only_the_figures_cache_never_the_committed_figures(workflow):
    paths = [step["with"]["path"].rstrip("/") for step in _uses(workflow, "actions/cache")]
    assert "figures/.cache" in paths and "figures" not in paths


def test_checks_the_committed_figures_before_the_tests(workflow):
    runs = [step.get("run", "") for step in _steps(workflow)]
    assert runs.index("make figures-check") < runs.index("make test")


def test_uploads_the_three_decks(workflow):
    paths = {
        step["with"]["path"].rstrip("/") for step in _uses(workflow, "actions/upload-artifact")
    }
    assert paths == {"build/deck", "build/deck.html", "build/deck.pdf"}


def test_pages_deploy_only_from_main(workflow):
    (upload,) = _uses(workflow, "actions/upload-pages-artifact")
    assert upload["if"] == ON_MAIN and upload["with"]["path"].rstrip("/") == "build/deck"
    (job,) = [
        job
        for job in workflow["jobs"].values()
        if any(step.get("uses", "").startswith("actions/deploy-pages@") for step in job["steps"])
    ]
    assert job["if"] == ON_MAIN
    assert job["permissions"] == {"pages": "write", "id-token": "write"}
    assert job["environment"]["name"] == "github-pages"
    assert workflow["permissions"] == {"contents": "read"}


@pytest.mark.skipif(shutil.which("actionlint") is None, reason="actionlint is not installed")
def test_actionlint_finds_nothing():
    result = subprocess.run(
        ["actionlint", str(WORKFLOW)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
