"""When is a figure stale? Content hashes of everything its script runs: the script,
the project modules it imports (by `ast`, resolved as Python would) and their data
files. figures/stamps.json holds their SHA-256, the outputs', and library versions,
by relative path: the same in every clone, on every machine, so it is committed."""

from __future__ import annotations

import ast
import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

from ..files import write_atomically

FORMAT = 2  # bump when the recipe changes: every figure becomes stale once
LIBRARIES = ("numpy", "torch", "matplotlib")


def find_scripts(scripts_dir: Path) -> list[Path]:
    """Every experiment: scripts/*.py, except private helpers named _*.py."""
    return sorted(p for p in scripts_dir.glob("*.py") if not p.name.startswith("_"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def environment() -> dict[str, str]:
    found = {"python": "%d.%d" % sys.version_info[:2]}
    for lib in LIBRARIES:  # importlib.metadata: importing torch here would cost a second
        try:
            found[lib] = metadata.version(lib).split("+")[0]  # 2.13.0+cpu as 2.13.0
        except metadata.PackageNotFoundError:
            found[lib] = "absent"
    return found


class Scanner:
    """A script's inputs; parses and hashes each file once per build."""

    def __init__(self, root: Path):
        self.root, self.scripts = root, root / "scripts"
        self._parsed: dict[Path, tuple[list[str], bool]] = {}
        self._hashes: dict[Path, str] = {}

    def module_file(self, name: str) -> Path | None:
        """The file `import name` runs, a package before a module, as Python finds it."""
        base = self.scripts.joinpath(*name.split("."))
        for candidate in (base / "__init__.py", base.with_name(base.name + ".py")):
            if candidate.is_file():
                return candidate
        return None

    def module_name(self, path: Path) -> str:
        parts = path.relative_to(self.scripts).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    def parse(self, path: Path) -> tuple[list[str], bool]:
        """(the modules the file imports, whether it declares build jobs)."""
        if path not in self._parsed:
            try:
                tree = ast.parse(path.read_bytes(), filename=str(path))
            except (SyntaxError, ValueError):  # it fails when run, and says why
                tree = ast.Module(body=[], type_ignores=[])
            package = self.module_name(path).split(".")
            if path.name != "__init__.py":
                package = package[:-1]
            found = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
            for node in (n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                found += [module, *(f"{module}.{a.name}" for a in node.names)]
            jobs = any(isinstance(n, ast.FunctionDef) and n.name == "build_jobs" for n in tree.body)
            self._parsed[path] = (found, jobs)
        return self._parsed[path]

    def dependencies(self, script: Path) -> list[Path]:
        """The script and every project file it runs or reads, in a stable order."""
        files: set[Path] = set()
        todo = [script]
        while todo:
            path = todo.pop()
            if path in files:
                continue
            files.add(path)
            if path.name == "__init__.py":
                files.update(_data_files(path.parent))
            if path.suffix != ".py":
                continue
            for module in self.parse(path)[0]:
                parts = module.split(".")  # importing a.b.c runs a, a.b and a.b.c
                for i in range(1, len(parts) + 1):
                    target = self.module_file(".".join(parts[:i]))
                    if target is not None and target not in files:
                        todo.append(target)
        return sorted(files)

    def inputs(self, files: list[Path]) -> dict[str, str]:
        for path in set(files) - set(self._hashes):
            self._hashes[path] = sha256(path)
        return {p.relative_to(self.root).as_posix(): self._hashes[p] for p in files}


def _data_files(package: Path) -> list[Path]:
    """Files in a package folder that are not Python: styles, tables, ..."""
    found = [p for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")]
    return [p for p in found if not any(part.startswith((".", "__")) for part in p.parts[-2:])]


class Stamps:
    """figures/stamps.json: from which inputs each script made which outputs."""

    def __init__(self, path: Path, root: Path):
        self.path, self.root = path, root
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            self.scripts = dict(data["scripts"]) if data.get("format") == FORMAT else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.scripts = {}  # missing or unreadable: everything is stale

    def why_stale(self, name: str, inputs: dict[str, str], env: dict[str, str]) -> list[str]:
        """What differs from the stamp: [] when the script's outputs are fresh."""
        stamp = self.scripts.get(name)
        if stamp is None:
            return ["no stamp: never generated"]
        reasons = [
            f"{lib} {was} -> {env.get(lib)}"
            for lib, was in sorted(stamp.get("environment", {}).items())
            if env.get(lib) != was
        ]
        was = stamp.get("inputs", {})
        for rel in sorted(set(was) | set(inputs)):
            if was.get(rel) != inputs.get(rel):
                change = "changed" if rel in was and rel in inputs else "added" * (rel in inputs)
                reasons.append(f"{rel} {change or 'no longer read'}")
        for rel, digest in sorted(stamp.get("outputs", {}).items()):
            try:
                if sha256(self.root / rel) != digest:
                    reasons.append(f"output {rel} changed")
            except OSError:
                reasons.append(f"output {rel} missing")
        return reasons

    def record(self, name: str, inputs: dict, env: dict, outputs: list[Path]) -> None:
        written = {}
        for path in outputs:
            try:
                written[path.resolve().relative_to(self.root).as_posix()] = sha256(path)
            except (OSError, ValueError):  # removed again by the script, or outside the project
                pass
        self.scripts[name] = {"environment": env, "inputs": inputs, "outputs": written}

    def save(self) -> None:
        data = {"format": FORMAT, "scripts": dict(sorted(self.scripts.items()))}
        write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True) + "\n")
