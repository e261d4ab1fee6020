"""The Node set-up: `npm ci` installs nothing that refuses the Node version the repository needs.

npm warns EBADENGINE when a locked package's `engines.node` range excludes the
running Node. package.json's `engines.node` states what the repository needs;
every package in package-lock.json must accept its lowest version, and CI must
run one it accepts. Ranges are read with the semver package bundled with npm,
the same code npm checks them with.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
LOCK = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
NEEDED = PACKAGE["engines"]["node"]


def node(script: str, *args: str) -> str:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed (see README)", pytrace=False)
    return subprocess.run(
        ["node", "-e", script, *args], capture_output=True, text=True, check=True, timeout=60
    ).stdout


def npm_semver(*calls: tuple[str, ...]) -> list:
    """Each call `(name, *args)` of npm's own semver package, in one Node process: the
    results as JSON (a version object as its string)."""
    npm = subprocess.run(
        ["npm", "root", "-g"], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    script = (
        f"const semver = require({json.dumps(str(Path(npm) / 'npm' / 'node_modules' / 'semver'))});"
        "const results = JSON.parse(process.argv[1]).map(([name, ...args]) => {"
        "  const result = semver[name](...args);"
        "  return result instanceof semver.SemVer ? result.version : result; });"
        "console.log(JSON.stringify(results));"
    )
    return json.loads(node(script, json.dumps(calls)))


def test_every_locked_package_accepts_the_node_version_the_repository_needs():
    (lowest,) = npm_semver(("minVersion", NEEDED))
    ranges = {
        path: info["engines"]["node"]
        for path, info in LOCK["packages"].items()
        if path and "node" in info.get("engines", {})
    }
    accepted = npm_semver(*(("satisfies", lowest, wanted) for wanted in ranges.values()))
    refusing = {path: wanted for (path, wanted), ok in zip(ranges.items(), accepted) if not ok}
    assert refusing == {}, f"these want more than Node {lowest} ({NEEDED}): {refusing}"


def test_ci_and_this_machine_run_a_node_the_repository_accepts():
    workflow = yaml.safe_load((ROOT / ".github/workflows/deck.yml").read_text(encoding="utf-8"))
    versions = [
        str(step["with"]["node-version"])
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if step.get("uses", "").startswith("actions/setup-node@")
    ]
    assert versions
    versions.append(node("console.log(process.version)").strip())
    lowest = npm_semver(*(("coerce", version) for version in versions))
    assert npm_semver(*(("satisfies", version, NEEDED) for version in lowest)) == [True] * len(
        versions
    )


def test_katex_command_line_tool_runs_with_the_commander_it_is_given():
    # package.json overrides KaTeX's commander (15 wants Node >= 22.12) with 14, which
    # accepts Node 20; the build does not use KaTeX's CLI, but it must still work.
    result = subprocess.run(
        ["node", str(ROOT / "node_modules/katex/cli.js")],
        input="x^2",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('<span class="katex">')
