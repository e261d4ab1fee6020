"""What the experiment scripts have in common: paths, the talk's curve and samples,
and writing results so that a slide can quote them.

Plotting (the one style, byte-stable figure files) is in `figkit.plot`; the disk
memo for trained networks is in `figkit.cache`.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]  # the repository
SCRIPTS = ROOT / "scripts"
FIGURES = ROOT / "figures"  # generated: figures and results files
CACHE = FIGURES / ".cache"  # generated: stamps and memoised trained networks

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
    return path
