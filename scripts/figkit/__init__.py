"""What the experiment scripts have in common: paths, the talk's curve and samples,
and writing results so that a slide can quote them.

Plotting (the one style, byte-stable figure files) is in `figkit.plot`; the disk
memo for trained networks is in `figkit.cache`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]  # the repository
SCRIPTS = ROOT / "scripts"
FIGURES = ROOT / "figures"  # generated: figures and results files
CACHE = FIGURES / ".cache"  # generated: stamps and memoised trained networks
# generated: <script>.json per script, where each figure and number it saved came from
PROVENANCE = FIGURES / "provenance"

# The curve every experiment fits: c(x) = magnitude * 2 ** (-(x - offset)**2 / spread).
OFFSET = 0.5
SPREAD = 0.1
MAGNITUDE = 1.0

SAMPLE_COUNT = 21  # x = 0.05 * i, i = 0..20
SAMPLE_STEP = 0.05
GRID_COUNT = 41  # the "dense grid": x = 0.025 * i, i = 0..40
GRID_STEP = 0.025

NOISE_STD = 0.05  # standard deviation of the Gaussian noise added in E2 and E3
NOISE_SEED = 0  # the noise draw the talk's main figures use; seed sweeps vary it


def curve(x: np.ndarray | float) -> np.ndarray | float:
    """The smooth bump the talk fits: 1 at x = 0.5, falling off on both sides."""
    return MAGNITUDE * 2.0 ** (-((x - OFFSET) ** 2) / SPREAD)


def sample_x() -> np.ndarray:
    """The 21 training inputs x = 0.05 * i."""
    return SAMPLE_STEP * np.arange(SAMPLE_COUNT)


def dense_grid() -> np.ndarray:
    """The 41 evaluation inputs x = 0.025 * i: every sample and every midpoint."""
    return GRID_STEP * np.arange(GRID_COUNT)


def noisy_samples(seed: int = NOISE_SEED) -> tuple[np.ndarray, np.ndarray]:
    """The samples of E2/E3: the curve plus N(0, NOISE_STD) noise from a local generator."""
    x = sample_x()
    noise = np.random.default_rng(seed).normal(0.0, NOISE_STD, size=x.shape)
    return x, curve(x) + noise


def one_thread_for_small_networks() -> None:
    """Train on one thread. For small networks one is as fast as several (dropout's
    took 83 s on two threads and 15 s on one), and float rounding, so every digit of
    the results, then does not depend on how many threads the build grants."""
    import torch  # here, not at the top: most scripts never train anything

    torch.set_num_threads(1)


def script_name(script_file: str) -> str:
    """`scripts/least_squares.py` -> `least_squares`, the name slides use for its results."""
    return Path(script_file).stem


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; figures are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_output(path: Path) -> None:
    """Tell the build which files this script wrote (it sets FIGKIT_OUTPUTS)."""
    manifest = os.environ.get("FIGKIT_OUTPUTS")
    if manifest:
        with open(manifest, "a", encoding="utf-8") as fh:
            fh.write(f"{Path(path).resolve()}\n")


def report_progress(done: int, total: int) -> None:
    """Tell the build how far a long computation is: its progress display shows it.
    The build names the file in FIGKIT_PROGRESS; run on its own, this does nothing."""
    path = os.environ.get("FIGKIT_PROGRESS")
    if path:
        Path(path).write_text(f"{done} {total}\n", encoding="utf-8")


def _plain(value):
    """Convert NumPy/PyTorch scalars and arrays into JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars, torch tensors
        return _plain(value.tolist())
    if isinstance(value, float) and not np.isfinite(value):
        return str(value)
    return value


def save_results(script_file: str, results: dict) -> Path:
    """Write the numbers a script's slides quote to figures/<script>.json.

    Slides refer to them as {{ <script>.<key> }} (nested keys with dots), with an
    optional format spec: {{ least_squares.max_error:.1e }}.
    """
    path = FIGURES / f"{script_name(script_file)}.json"
    text = json.dumps(_plain(results), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomically(path, text.encode("utf-8"))
    record_output(path)
    record_provenance("results", path)
    return path


# --- Provenance ----------------------------------------------------------------------
#
# Each save_figure/save_results call notes, in figures/provenance/<script>.json, the
# script lines it came from, so that the deck can say where every figure and number
# was made (talkbuild/provenance.py reads these files). The script's own frame is
# found on the stack (the first one outside figkit); its source is parsed once with
# `ast`, which turns the call's line into
#
# - for a figure: the lines of the function that drew it, when the call's first
#   argument is a call of a function of the script (`save_figure(plot_fit(run), ...)`),
#   else of the function holding the call;
# - for results: the lines of every entry of the dict literal passed to
#   save_results, by its dotted key (`e1.max_error_at_samples`), and the function a
#   value is computed by when it is a call of one of the script's functions; an entry
#   `**spread` is recorded as `<prefix>.*`.
#
# The script's parameters are its module-level UPPER_CASE constants (and those of the
# figkit modules it uses, as `dnn.STEPS`), as they were when it saved; names with
# SEED in them are its seeds. A few milliseconds per script; nothing when figkit is
# used outside a repository script (an interactive session, a test).

_PROVENANCE: dict[str, dict] = {}  # script name -> its provenance file's content
_SYNTAX: dict[str, ast.Module] = {}  # file -> parsed source
PARAMETER_SIZE = 300  # characters: a constant longer than this as JSON is left out


def record_provenance(kind: str, path: Path) -> None:
    """Note which lines of the calling script saved `path` ("figure" or "results")."""
    frame = _script_frame()
    if frame is None:
        return
    script = Path(frame.f_code.co_filename).resolve()
    try:
        relative = script.relative_to(ROOT).as_posix()
        source = script.read_bytes()
        relative_output = Path(path).resolve().relative_to(FIGURES.resolve()).as_posix()
    except (ValueError, OSError):
        return  # not a file of the repository, or saved outside the figures folder
    tree = _SYNTAX.get(str(script))
    if tree is None:
        tree = _SYNTAX[str(script)] = ast.parse(source, filename=str(script))
    name = script.stem
    record = _PROVENANCE.setdefault(
        name,
        {
            "script": relative,
            "script_sha256": hashlib.sha256(source).hexdigest(),
            "script_lines": source.count(b"\n") + (not source.endswith(b"\n")),
            "figures": {},
            "results": {},
        },
    )
    record["parameters"], record["seeds"] = _parameters(frame.f_globals)
    call = _call_at(tree, frame.f_lineno, "save_figure" if kind == "figure" else "save_results")
    where = _saved_at(tree, call, frame)
    if kind == "figure":
        drawn = call.args[0] if call is not None and call.args else None
        function = _called_function(tree, drawn)
        if function is not None:
            where["drawn_by"] = function
        record["figures"][relative_output] = where
    else:
        data = call.args[1] if call is not None and len(call.args) > 1 else None
        scope = _enclosing_function(tree, call)
        where["keys"] = _dict_entries(tree, data, scope) if isinstance(data, ast.Dict) else {}
        record["results"][relative_output] = where
    out = PROVENANCE / f"{name}.json"
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    write_atomically(out, text.encode("utf-8"))
    record_output(out)


def _script_frame():
    """The innermost frame outside figkit: the script that called save_*."""
    here = Path(__file__).resolve().parent
    frame = sys._getframe(1)
    while frame is not None and Path(frame.f_code.co_filename).resolve().parent == here:
        frame = frame.f_back
    return frame


def _call_at(tree: ast.Module, line: int, function: str) -> ast.Call | None:
    """The innermost call of `function` whose lines include `line`."""
    found = None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and node.lineno <= line <= node.end_lineno
            and _name(node.func) == function
            and (found is None or node.lineno >= found.lineno)
        ):
            found = node
    return found


def _name(node) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _saved_at(tree: ast.Module, call: ast.Call | None, frame) -> dict:
    """The call's lines and the function holding it."""
    if call is None:
        return {"call": [frame.f_lineno, frame.f_lineno], "function": frame.f_code.co_name}
    where = {"call": [call.lineno, call.end_lineno]}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
            node.lineno <= call.lineno <= node.end_lineno
        ):
            where["function"] = {"name": node.name, "lines": _lines(node)}
    return where


def _enclosing_function(tree: ast.Module, call: ast.Call):
    """The innermost function definition holding the call (None at module level)."""
    found = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
            node.lineno <= call.lineno <= node.end_lineno
        ):
            if found is None or node.lineno >= found.lineno:
                found = node
    return found


def _lines(node) -> list[int]:
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return [first, node.end_lineno]


def _called_function(tree: ast.Module, node, scope=None) -> dict | None:
    """{"name", "lines"} of the script's function when `node` calls one (`f(x)`,
    `f(x)["key"]`, or a variable last assigned such a call in `scope`), else None."""
    while isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Name) and scope is not None:
        assigned = [
            statement.value
            for statement in ast.walk(scope)
            if isinstance(statement, ast.Assign)
            and statement.lineno < node.lineno
            and any(
                isinstance(target, ast.Name) and target.id == node.id
                for target in statement.targets
            )
        ]
        node = max(assigned, key=lambda value: value.lineno, default=None)
        while isinstance(node, ast.Subscript):
            node = node.value
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    for definition in tree.body:
        if isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
            definition.name == node.func.id
        ):
            return {"name": definition.name, "lines": _lines(definition)}
    return None


def _dict_entries(tree: ast.Module, node: ast.Dict, scope=None, prefix: str = "") -> dict:
    """Dotted key -> {"lines", "computed_by"?} for every entry of a dict literal
    (`scope`: the function holding it, where its variables are assigned)."""
    entries = {}
    for key, value in zip(node.keys, node.values):
        if key is None:
            dotted = f"{prefix}*"
            first = value.lineno
        elif isinstance(key, ast.Constant) and isinstance(key.value, str):
            dotted = f"{prefix}{key.value}"
            first = key.lineno
        else:
            continue
        entry = {"lines": [first, value.end_lineno]}
        function = _called_function(tree, value, scope)
        if function is not None:
            entry["computed_by"] = function
        entries[dotted] = entry
        if isinstance(value, ast.Dict) and key is not None:
            entries.update(_dict_entries(tree, value, scope, f"{dotted}."))
    return entries


def _parameters(namespace: dict) -> tuple[dict, dict]:
    """(parameters, seeds): the script's UPPER_CASE constants, JSON-ready and short."""
    found = {}
    for name, value in namespace.items():
        if name.isupper() and not name.startswith("_"):
            found[name] = value
        elif getattr(value, "__name__", "").startswith("figkit.") and hasattr(value, "__file__"):
            found.update(
                (f"{name}.{constant}", v)
                for constant, v in vars(value).items()
                if constant.isupper() and not constant.startswith("_")
            )
    style = sys.modules.get("figkit.plot")  # its colours and sizes are style, not parameters
    parameters, seeds = {}, {}
    for name, value in sorted(found.items()):
        if style is not None and getattr(style, name, None) is value:
            continue
        if isinstance(value, range):
            value = repr(value)
        elif isinstance(value, Path) or callable(value) or hasattr(value, "__file__"):
            continue
        try:
            text = json.dumps(_plain(value), allow_nan=False)
        except (TypeError, ValueError):
            continue
        if len(text) <= PARAMETER_SIZE:
            (seeds if "SEED" in name.rsplit(".", 1)[-1] else parameters)[name] = json.loads(text)
    return parameters, seeds
