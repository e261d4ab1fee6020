"""The one figure style and byte-stable saving.

Every script calls `use_style()` before plotting and `save_figure()` to write.
The style (sizes for a 16:9 slide, large fonts, thick lines, the Okabe-Ito
colour-blind-safe palette) lives in talk.mplstyle beside this file.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # never a window: scripts run headless, in CI and in the build

import matplotlib.pyplot as plt  # noqa: E402

from figkit import FIGURES, record_output, record_provenance, write_atomically  # noqa: E402

STYLE_FILE = Path(__file__).with_name("talk.mplstyle")

# Okabe & Ito (2008), distinguishable with every common colour-vision deficiency.
BLUE = "#0072B2"
VERMILION = "#D55E00"
GREEN = "#009E73"
ORANGE = "#E69F00"
PURPLE = "#CC79A7"
SKY = "#56B4E9"
YELLOW = "#F0E442"
BLACK = "#000000"
GREY = "#7F7F7F"

# Roles, so that the same thing has the same colour on every slide.
CURVE_COLOR = BLACK  # the true curve
SAMPLE_COLOR = GREY  # training samples
FIT_COLOR = BLUE  # a good / regularised fit
OVERFIT_COLOR = VERMILION  # an over-fit / unregularised fit

# Figure sizes in inches at the style's font sizes: a full-width slide figure and
# one of two figures side by side.
FULL = (12.0, 6.0)
HALF = (7.0, 6.0)


def use_style() -> None:
    plt.style.use(STYLE_FILE)


def save_figure(fig: matplotlib.figure.Figure, name: str, fmt: str = "svg") -> Path:
    """Write figures/<name>.<fmt> byte-stably (no date, no software stamp) and close `fig`."""
    metadata = {"svg": {"Date": None, "Creator": None}, "png": {"Software": None}}[fmt]
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata=metadata)
    plt.close(fig)
    path = FIGURES / f"{name}.{fmt}"
    write_atomically(path, buffer.getvalue())
    record_output(path)
    record_provenance("figure", path)
    return path
