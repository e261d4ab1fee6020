"""The one figure style and byte-stable saving.

Every script calls `use_style()` before plotting and `save_figure()` to write.
The style (sizes for a 16:9 slide, large fonts, thick lines, the Okabe-Ito
colour-blind-safe palette) lives in talk.mplstyle beside this file.
"""

from __future__ import annotations

import io
import json
import re
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
    """Write figures/<name>.<fmt> byte-stably (no date, no software stamp) and close `fig`.

    The file records the font sizes of its text (see `TEXT_RECORD`): matplotlib
    draws text as paths, so the deck check (talkbuild/check.py) reads them there to
    tell how large the text is on the slide.
    """
    metadata = {"svg": {"Date": None, "Creator": None}, "png": {"Software": None}}[fmt]
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata=metadata)
    sizes = font_sizes(fig)
    data = buffer.getvalue()
    if fmt == "svg":
        data = with_svg_text_record(data, sizes)
    else:  # again, with the record in a PNG text chunk: the pixels are the same
        import PIL.Image  # matplotlib's dependency

        with PIL.Image.open(io.BytesIO(data)) as png:
            width_pt = png.width * 72 / png_dpi(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata={**metadata, TEXT_RECORD: record(sizes, width_pt)})
        data = buffer.getvalue()
    plt.close(fig)
    path = FIGURES / f"{name}.{fmt}"
    write_atomically(path, data)
    record_output(path)
    record_provenance("figure", path)
    return path


# The record: {"font_sizes_pt": [every size used, ascending], "width_pt": the saved
# figure's width}. In an SVG, a <metadata id="figkit-text"> element first in the
# <svg>; in a PNG, the text chunk "figkit-text".
TEXT_RECORD = "figkit-text"
SVG_WIDTH = re.compile(rb'<svg [^>]*?width="([0-9.]+)pt"')


def font_sizes(fig: matplotlib.figure.Figure) -> list[float]:
    """The font sizes, in points, of the figure's visible text (titles, labels, tick
    labels, legends, annotations); drawn already, so tick labels are final."""
    from matplotlib.text import Text

    return sorted(
        {
            round(float(text.get_fontsize()), 2)
            for text in fig.findobj(Text)
            if text.get_visible() and text.get_text().strip()
        }
    )


def record(sizes: list[float], width_pt: float) -> str:
    return json.dumps({"font_sizes_pt": sizes, "width_pt": round(width_pt, 4)})


def with_svg_text_record(svg: bytes, sizes: list[float]) -> bytes:
    match = SVG_WIDTH.search(svg)
    if match is None:
        raise ValueError("matplotlib wrote an SVG without a width in points")
    start = svg.index(b">", match.end()) + 1
    element = f'\n <metadata id="{TEXT_RECORD}">{record(sizes, float(match.group(1)))}</metadata>'
    return svg[:start] + element.encode("utf-8") + svg[start:]


def png_dpi(fig: matplotlib.figure.Figure) -> float:
    dpi = matplotlib.rcParams["savefig.dpi"]
    return fig.get_dpi() if dpi == "figure" else float(dpi)
