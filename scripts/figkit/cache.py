"""A disk memo for expensive results (trained networks) shared by several scripts.

`memo(name, params, compute)` returns the value stored for this name, these
parameters and the current source of the code that computes it, or calls
`compute()` once and stores the result. A file lock makes a second script that
asks for the same value while it is being computed wait and then load it, so a
network several figures need is trained once per build even when the scripts
run in parallel.

`FIGKIT_MEMO=process` keeps values in the process instead: a script then computes
every network it needs itself, as a script with no build around it would. The
benchmark's naive loop (benchmarks/figures.py) runs the scripts that way.
"""

from __future__ import annotations

import fcntl
import hashlib
import inspect
import json
import os
import pickle
import platform
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from figkit import CACHE, write_atomically

T = TypeVar("T")

MEMO_DIR = CACHE / "memo"
_LIBRARIES = ("numpy", "torch")  # results depend on their versions
MODES = ("disk", "process")  # where FIGKIT_MEMO keeps values; disk is the default
_in_process: dict[str, object] = {}


def _fingerprint(name: str, params: dict, sources: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    versions = {lib: _version(lib) for lib in _LIBRARIES}
    header = {
        "name": name,
        "params": params,
        "versions": versions,
        "python": platform.python_version(),
    }
    digest.update(json.dumps(header, sort_keys=True, default=repr).encode())
    for source in sorted(set(Path(s).resolve() for s in sources)):
        digest.update(source.read_bytes())
    return digest.hexdigest()[:20]


def _version(lib: str) -> str:
    try:
        return metadata.version(lib)
    except metadata.PackageNotFoundError:
        return "absent"


def memo(name: str, params: dict, compute: Callable[[], T], *, sources: Iterable[Path] = ()) -> T:
    """The value of `compute()`, computed at most once for these parameters and sources.

    The key covers `params`, the file that defines `compute`, figkit's own data
    code, `sources`, and the library versions: change any and it is recomputed.
    """
    own = [inspect.getsourcefile(compute), Path(__file__).with_name("__init__.py"), __file__]
    key = f"{name}-{_fingerprint(name, params, [*own, *sources])}"
    if _mode() == "process":
        if key not in _in_process:
            _in_process[key] = compute()
        return _in_process[key]
    path = MEMO_DIR / f"{key}.pickle"
    MEMO_DIR.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if path.exists():
            with open(path, "rb") as fh:
                return pickle.load(fh)
        value = compute()
        write_atomically(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        return value


def _mode() -> str:
    mode = os.environ.get("FIGKIT_MEMO") or "disk"
    if mode not in MODES:
        raise ValueError(f"FIGKIT_MEMO={mode!r}: expected one of {', '.join(MODES)}")
    return mode
