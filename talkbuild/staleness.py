"""When is a figure stale? Content hashes of everything its script runs.

A script's key is a SHA-256 over

- the bytes of the script and of every module of the repository it imports,
  transitively: `import x` and `from x import y` statements (anywhere in the
  file, found with `ast`) resolved against scripts/, the folder that
  `python scripts/<name>.py` puts first on sys.path; imports that do not
  resolve there (numpy, torch, ...) are outside the repository;
- the data files inside every imported package (scripts/figkit/talk.mplstyle
  and anything else in that folder that is not Python);
- the Python version and the versions of the libraries the results depend on
  (read with importlib.metadata: importing torch here would cost a second).

Parameters are module-level constants of the scripts and of figkit, so they are
part of the bytes above: changing one makes exactly the scripts that read it
stale. There is no separate parameter file.

Files enter the key by their path relative to the project root, so a fresh
clone, a copy or a restored CI cache keeps valid stamps. Timestamps play no
part.

Stamps (figures/.cache/stamps.json) record per script its key, the files it
wrote (figkit lists them in $FIGKIT_OUTPUTS) with their SHA-256, and how long
it took. A script is fresh when its key matches and every recorded output
still exists with the recorded hash.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

STAMP_FORMAT = 1  # bump when the key's recipe changes: every figure becomes stale once
LIBRARIES = ("numpy", "torch", "matplotlib")  # figures depend on their versions


def find_scripts(scripts_dir: Path) -> list[Path]:
    """Every experiment: scripts/*.py, except private helpers named _*.py."""
    return sorted(p for p in scripts_dir.glob("*.py") if not p.name.startswith("_"))


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def environment() -> dict:
    """What the key depends on beyond the repository's files."""
    versions = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    return {
        "format": STAMP_FORMAT,
        "python": ".".join(map(str, sys.version_info[:3])),
        "implementation": sys.implementation.name,
        "libraries": versions,
    }


@dataclass
class Dependencies:
    """What one script reads: repository files (script, modules, data) and outside modules."""

    files: set[Path] = field(default_factory=set)
    external: set[str] = field(default_factory=set)  # dotted names, e.g. "matplotlib.pyplot"


class Scanner:
    """Finds and hashes a script's dependencies; caches per file within one build."""

    def __init__(self, scripts_dir: Path, root: Path):
        self.scripts_dir = scripts_dir.resolve()
        self.root = root.resolve()
        self._imports: dict[Path, list[tuple[str, tuple[str, ...]]]] = {}
        self._digests: dict[Path, str] = {}
        self._env = json.dumps(environment(), sort_keys=True)

    # -- resolving imports -------------------------------------------------

    def module_file(self, name: str) -> Path | None:
        """The repository file that `import name` executes, as Python's path finder
        would find it with scripts/ first on sys.path (a package before a module)."""
        base = self.scripts_dir.joinpath(*name.split("."))
        for candidate in (base / "__init__.py", base.parent / f"{base.name}.py"):
            if candidate.is_file():
                return candidate
        return None

    def _module_name(self, path: Path) -> list[str]:
        """scripts/figkit/dnn.py -> ["figkit", "dnn"]; a package's __init__ -> its name."""
        parts = list(path.relative_to(self.scripts_dir).with_suffix("").parts)
        return parts[:-1] if parts[-1] == "__init__" else parts

    def imports(self, path: Path) -> list[tuple[str, tuple[str, ...]]]:
        """(module, names) for each import in the file, relative ones made absolute."""
        if path in self._imports:
            return self._imports[path]
        found: list[tuple[str, tuple[str, ...]]] = []
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError):
            tree = ast.Module(body=[], type_ignores=[])  # it will fail when run and say why
        package = self._module_name(path)
        if path.name != "__init__.py":
            package = package[:-1]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.extend((alias.name, ()) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                names = tuple(alias.name for alias in node.names if alias.name != "*")
                if node.level:  # from . import x / from .cache import memo
                    up = node.level - 1
                    if up > len(package):
                        continue
                    base = package[: len(package) - up]
                    module = ".".join([*base, *([node.module] if node.module else [])])
                    if not module:
                        continue
                else:
                    module = node.module or ""
                found.append((module, names))
            elif (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and _is_import_call(node.func)
            ):
                found.append((node.args[0].value, ()))  # importlib.import_module("figkit.x")
        self._imports[path] = found
        return found

    def dependencies(self, script: Path) -> Dependencies:
        deps = Dependencies()
        script = script.resolve()
        todo = [script]
        packages: set[Path] = set()
        while todo:
            path = todo.pop()
            if path in deps.files:
                continue
            deps.files.add(path)
            for module, names in self.imports(path):
                candidates = [module] + [f"{module}.{n}" for n in names]
                parts = module.split(".")
                # importing a.b.c runs a/__init__, a/b/__init__ and a/b/c
                prefixes = [".".join(parts[:i]) for i in range(1, len(parts))]
                in_repo = False
                for name in prefixes + candidates:
                    target = self.module_file(name)
                    if target is not None:
                        in_repo = True
                        if target.name == "__init__.py":
                            packages.add(target.parent)
                        if target not in deps.files:
                            todo.append(target)
                if not in_repo:
                    deps.external.update(candidates)
        for package in packages:
            deps.files.update(_data_files(package))
        return deps

    # -- the key -----------------------------------------------------------

    def digest(self, path: Path) -> str:
        if path not in self._digests:
            self._digests[path] = file_digest(path)
        return self._digests[path]

    def key(self, deps: Dependencies) -> str:
        """SHA-256 over the environment and every file (by relative path and content)."""
        h = hashlib.sha256(self._env.encode())
        for rel, path in sorted((self.relative(p), p) for p in deps.files):
            h.update(f"\n{rel}\0{self.digest(path)}".encode())
        return h.hexdigest()

    def relative(self, path: Path) -> str:
        """A path as stamps store it: relative to the project root where possible."""
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def _is_import_call(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _data_files(package: Path) -> list[Path]:
    """Files in a package folder that are not Python source: styles, tables, ..."""
    found = []
    for folder, subdirs, files in os.walk(package):
        subdirs[:] = [d for d in subdirs if d != "__pycache__" and not d.startswith(".")]
        found.extend(
            Path(folder, f)
            for f in files
            if not f.endswith((".py", ".pyc")) and not f.startswith(".")
        )
    return found


class Stamps:
    """figures/.cache/stamps.json: what each script produced, from which key, in how long."""

    def __init__(self, path: Path, root: Path):
        self.path = path
        self.root = root.resolve()
        self.scripts: dict[str, dict] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") == STAMP_FORMAT:
                self.scripts = dict(data["scripts"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # missing or unreadable: everything is stale

    def is_fresh(self, name: str, key: str) -> bool:
        stamp = self.scripts.get(name)
        if not stamp or stamp.get("key") != key:
            return False
        for rel, digest in stamp.get("outputs", {}).items():
            path = self.root / rel
            try:
                if file_digest(path) != digest:
                    return False
            except OSError:
                return False
        return True

    def duration(self, name: str) -> float | None:
        return self.scripts.get(name, {}).get("duration")

    def record(self, name: str, key: str, outputs: list[Path], duration: float) -> None:
        recorded = {}
        for path in outputs:
            try:
                recorded[self._relative(path)] = file_digest(path)
            except OSError:
                pass  # written, then removed by the script itself: nothing to check
        self.scripts[name] = {
            "key": key,
            "duration": round(duration, 3),
            "outputs": dict(sorted(recorded.items())),
        }

    def forget(self, name: str) -> None:
        self.scripts.pop(name, None)

    def save(self) -> None:
        """Write atomically: a reader (or a killed build) never sees half a file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = (
            json.dumps(
                {"format": STAMP_FORMAT, "scripts": dict(sorted(self.scripts.items()))},
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".stamps.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _relative(self, path: Path) -> str:
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)
