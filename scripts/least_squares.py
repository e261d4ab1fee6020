"""Least squares overfitting: slides "Least squares overfitting" (E1) and "Adding noise" (E2).

E1 fits the 21 clean samples of the curve with a polynomial of 20 coefficients
(a Vandermonde matrix and NumPy's least squares): without noise the fit is
near perfect, at the samples and between them.

E2 adds Gaussian noise (std 0.05) to the same samples and fits twice: with 20
coefficients (about as many parameters as samples) and with 5 (a quarter as
many). The 20-term fit follows the noise and swings far from the curve between
the samples; the 5-term fit stays close. Whether that happens is a matter of the
noise draw, so E2 is repeated over many noise seeds and the results count how
often it holds.

Figures: least-squares-no-noise, least-squares-with-noise, least-squares-seeds.
"""

import numpy as np

from figkit import (
    NOISE_SEED,
    NOISE_STD,
    OFFSET,
    SPREAD,
    curve,
    dense_grid,
    noisy_samples,
    sample_x,
    save_results,
)
from figkit.plot import (
    CURVE_COLOR,
    FIT_COLOR,
    FULL,
    OVERFIT_COLOR,
    SAMPLE_COLOR,
    plt,
    save_figure,
    use_style,
)

COEFFICIENTS = 20  # E1 and E2's over-fit: powers x**0 .. x**19 for 21 samples
FEW_COEFFICIENTS = 5  # E2's fit: a quarter as many parameters as samples
SEEDS = range(20)  # noise draws for the seed sweep of E2 (the figures use NOISE_SEED)
FAR = 1.0  # an E2 20-term fit is "far off" when its largest error on the dense grid exceeds this
CLOSE = 0.1  # an E2 5-term fit "stays close" when its largest error on the dense grid is below this
DRAW_POINTS = 801  # a finer grid, only to draw the polynomials smoothly between grid points
Y_VIEW = (-0.6, 1.7)  # E2's y-range: the curve and noise; the 20-term swings leave it


def polynomial(coef, x):
    """The polynomial sum_j coef[j] * x**j at the points x."""
    return np.vander(x, N=len(coef), increasing=True) @ coef


def errors(fit):
    """Largest distance of `fit` (its values on the dense grid) from the clean curve:
    at the samples (even grid points) and between them (odd grid points)."""
    error = np.abs(fit - curve(dense_grid()))
    return {"at_samples": error[0::2].max(), "between_samples": error[1::2].max()}


def no_noise():
    """E1: 20 coefficients through 21 clean samples."""
    # region least-squares-fit
    x = sample_x()  # the samples: x = 0.05 * i
    y = curve(x)
    A = np.vander(x, N=COEFFICIENTS, increasing=True)  # row i: 1, x_i, x_i**2, ...
    coef = np.linalg.lstsq(A, y, rcond=None)[0]  # minimises |A @ coef - y|
    grid = dense_grid()  # x = 0.025 * i: the samples and the points halfway between them
    fit = np.vander(grid, N=COEFFICIENTS, increasing=True) @ coef
    # endregion least-squares-fit
    return {"x": x, "y": y, "coef": coef, "errors": errors(fit)}


def with_noise(seed=NOISE_SEED):
    """E2: 5 and 20 coefficients through the samples plus N(0, 0.05) noise."""
    # region adding-noise
    x, y_noisy = noisy_samples(seed)  # curve(x) + Gaussian noise, std NOISE_STD
    A_fit = np.vander(x, N=FEW_COEFFICIENTS, increasing=True)  # columns 1, x, x**2, ...
    coef_fit = np.linalg.lstsq(A_fit, y_noisy, rcond=None)[0]
    A_overfit = np.vander(x, N=COEFFICIENTS, increasing=True)  # as many columns as coefficients
    coef_overfit = np.linalg.lstsq(A_overfit, y_noisy, rcond=None)[0]
    # endregion adding-noise
    return {
        "x": x,
        "y": y_noisy,
        "coef_fit": coef_fit,
        "coef_overfit": coef_overfit,
        "errors_fit": errors(polynomial(coef_fit, dense_grid())),
        "errors_overfit": errors(polynomial(coef_overfit, dense_grid())),
    }


def seed_sweep(seeds=SEEDS):
    """E2 over many noise draws: each fit's largest error, and where the talk's story holds."""
    runs = [with_noise(seed) for seed in seeds]
    # The largest error anywhere on the dense grid, at the samples or between them.
    fit = np.array([max(r["errors_fit"].values()) for r in runs])
    overfit = np.array([max(r["errors_overfit"].values()) for r in runs])
    held = (overfit > FAR) & (fit < CLOSE)
    return {"seeds": list(seeds), "fit_max_error": fit, "overfit_max_error": overfit, "held": held}


def draw_grid():
    return np.linspace(0.0, 1.0, DRAW_POINTS)


def plot_no_noise(e1):
    fig, ax = plt.subplots(figsize=FULL)
    xs = draw_grid()
    ax.plot(xs, curve(xs), color=CURVE_COLOR, label="curve")
    ax.plot(
        xs,
        polynomial(e1["coef"], xs),
        color=FIT_COLOR,
        linestyle="--",
        label=f"fit, {COEFFICIENTS} coefficients",
    )
    ax.plot(e1["x"], e1["y"], "o", color=SAMPLE_COLOR, label=f"{len(e1['x'])} samples", zorder=3)
    ax.set(xlabel="x", ylabel="y", ylim=(-0.1, 1.15))
    ax.legend(loc="upper right")
    return fig


def plot_with_noise(e2):
    fig, ax = plt.subplots(figsize=FULL)
    xs = draw_grid()
    overfit = polynomial(e2["coef_overfit"], xs)
    ax.plot(xs, curve(xs), color=CURVE_COLOR, label="curve")
    ax.plot(xs, overfit, color=OVERFIT_COLOR, linewidth=3, label=f"{COEFFICIENTS} coefficients")
    ax.plot(
        xs,
        polynomial(e2["coef_fit"], xs),
        color=FIT_COLOR,
        linestyle="--",
        label=f"{FEW_COEFFICIENTS} coefficients",
    )
    ax.plot(e2["x"], e2["y"], "o", color=SAMPLE_COLOR, label="noisy samples", zorder=3)
    ax.set(xlabel="x", ylabel="y", ylim=Y_VIEW)
    # The 20-term swings leave the view: say how far they go, on each half.
    for half in (xs < 0.5, xs >= 0.5):
        peak = np.argmax(np.where(half, overfit, -np.inf))
        if overfit[peak] > Y_VIEW[1]:
            side = 1 if xs[peak] < 0.5 else -1
            ax.annotate(
                f"up to {overfit[peak]:.1f}",
                xy=(xs[peak], Y_VIEW[1]),
                xytext=(xs[peak] + side * 0.06, Y_VIEW[1] - 0.12),
                ha="left" if side > 0 else "right",
                va="top",
                color=OVERFIT_COLOR,
                arrowprops={"arrowstyle": "->", "color": OVERFIT_COLOR, "lw": 2},
            )
    ax.legend(loc="lower center", ncols=2)
    return fig


def plot_seeds(sweep):
    fig, ax = plt.subplots(figsize=FULL)
    seeds = sweep["seeds"]
    for threshold, color, text in (
        (FAR, OVERFIT_COLOR, f"far off: > {FAR:g}"),
        (CLOSE, FIT_COLOR, f"close: < {CLOSE:g}"),
    ):
        ax.axhline(threshold, color=color, linewidth=2, linestyle=":")
        ax.text(
            seeds[-1] + 0.7,
            threshold * 1.15,
            text,
            color=color,
            va="bottom",
            ha="right",
        )
    ax.plot(
        seeds,
        sweep["overfit_max_error"],
        "^",
        color=OVERFIT_COLOR,
        markersize=14,
        label=f"{COEFFICIENTS} coefficients",
    )
    ax.plot(
        seeds,
        sweep["fit_max_error"],
        "o",
        color=FIT_COLOR,
        markersize=13,
        label=f"{FEW_COEFFICIENTS} coefficients",
    )
    ax.set_yscale("log")
    ax.set(
        xlabel="noise seed",
        ylabel="largest |fit − curve|",
        ylim=(0.01, 1000),
        xlim=(seeds[0] - 1, seeds[-1] + 1),
        xticks=seeds[::2],
    )
    ax.legend(loc="upper center", ncols=2)
    return fig


def main():
    e1 = no_noise()
    e2 = with_noise()
    sweep = seed_sweep()
    xs = draw_grid()
    swing = np.abs(polynomial(e2["coef_overfit"], xs) - curve(xs)).max()

    use_style()
    save_figure(plot_no_noise(e1), "least-squares-no-noise")
    save_figure(plot_with_noise(e2), "least-squares-with-noise")
    save_figure(plot_seeds(sweep), "least-squares-seeds")

    held = sweep["held"]
    save_results(
        __file__,
        {
            "samples": len(e1["x"]),
            "coefficients": COEFFICIENTS,
            "few_coefficients": FEW_COEFFICIENTS,
            "noise_seed": NOISE_SEED,
            "noise_std": NOISE_STD,
            "curve": {
                "offset": OFFSET,
                "spread": SPREAD,
            },  # c(x) = 2 ** (-(x - offset)**2 / spread)
            "e1": {
                "max_error_at_samples": e1["errors"]["at_samples"],
                "max_error_between_samples": e1["errors"]["between_samples"],
            },
            "e2": {
                "fit": e2["errors_fit"],
                "overfit": e2["errors_overfit"],
                "overfit_swing_fine_grid": swing,  # largest error anywhere in [0, 1]
                "y_view": list(Y_VIEW),
            },
            "seeds": {
                "total": len(held),
                "overfit_held": int(held.sum()),
                "first": sweep["seeds"][0],
                "last": sweep["seeds"][-1],
                "far": FAR,
                "close": CLOSE,
                "overfit_far": int((sweep["overfit_max_error"] > FAR).sum()),
                "overfit_not_far": int((sweep["overfit_max_error"] <= FAR).sum()),
                "fit_close": int((sweep["fit_max_error"] < CLOSE).sum()),
                "overfit_median_error": np.median(sweep["overfit_max_error"]),
                "overfit_min_error": sweep["overfit_max_error"].min(),
                "overfit_max_error": sweep["overfit_max_error"].max(),
                "fit_median_error": np.median(sweep["fit_max_error"]),
                "fit_max_error": sweep["fit_max_error"].max(),
            },
        },
    )


if __name__ == "__main__":
    main()
