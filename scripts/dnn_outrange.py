"""Outside the training range: slide "L2 penalty: motivation" (E3 out of range).

The E3 network only saw inputs in [0, 1]. Evaluated on [-1, 2], a ReLU network
continues linearly beyond the last kinks, with whatever slopes training left
there. The same training with weight decay (an L2 penalty, SGD's
`weight_decay=alpha`) is compared with the unpenalised one, on the talk's seeds
and over the seed sweep: how steep is the output outside [0, 1], and what does
the penalty cost inside it?

alpha was chosen by hand with `python scripts/dnn_outrange.py --alpha-scan`
(seed 0; not part of the build): below about 0.1 the extrapolation hardly
changes, above about 0.3 the fit inside [0, 1] degrades badly.

Figures: dnn-with-noise-outrange (no penalty), dnn-with-noise-outrange-l2 (weight
decay), side by side with the same axes.
"""

import argparse

import numpy as np

from figkit import NOISE_SEED, curve, dense_grid, dnn, noisy_samples, save_results
from figkit.plot import (
    CURVE_COLOR,
    FIT_COLOR,
    GREY,
    HALF,
    OVERFIT_COLOR,
    SAMPLE_COLOR,
    plt,
    save_figure,
    use_style,
)

ALPHA = dnn.WEIGHT_DECAY  # weight decay of the penalised network
X_RANGE = (-1.0, 2.0)  # evaluation range: the training range [0, 1] and as much on each side
DRAW_POINTS = 3001  # a fine grid on X_RANGE: slopes and drawing
ALPHA_SCAN = (0.0, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5)  # --alpha-scan only: candidates for ALPHA


def fine_grid():
    return np.linspace(*X_RANGE, DRAW_POINTS)


def outside(xs):
    return (xs < 0.0) | (xs > 1.0)


def extrapolation(run):
    """How the trained network behaves outside [0, 1], and how well it fits inside."""
    net = dnn.network_from(run["state_dict"])
    xs = fine_grid()
    f = dnn.output_at(net, xs)
    slope = np.diff(f) / np.diff(xs)
    out = outside(xs)
    between = out[:-1] & out[1:]  # grid intervals entirely outside [0, 1]
    grid_error = dnn.output_at(net, dense_grid()) - curve(dense_grid())
    return {
        "mean_abs_slope_outside": np.abs(slope[between]).mean(),
        "max_abs_outside": np.abs(f[out]).max(),
        "rmse_outside": np.sqrt(np.mean((f[out] - curve(xs[out])) ** 2)),
        "value_at_left": f[0],
        "value_at_right": f[-1],
        "rmse_in_range": np.sqrt(np.mean(grid_error**2)),
        "loss": run["losses"][-1],
        "stalled": dnn.stalled(run),
    }


def seed_sweep(seeds=dnn.SEEDS):
    """Both variants on every seed pair. The penalised runs are asked for first: no other
    script trains them, so a parallel build trains them while another script trains the rest."""
    with_l2 = [extrapolation(run) for run in dnn.sweep(ALPHA, seeds)]
    without = [extrapolation(run) for run in dnn.sweep(0.0, seeds)]
    return [{"seed": s, "without": a, "with": b} for s, a, b in zip(seeds, without, with_l2)]


def summary(rows):
    def values(variant, key):
        return np.array([r[variant][key] for r in rows])

    flatter = values("with", "mean_abs_slope_outside") < values("without", "mean_abs_slope_outside")
    stalled_without = [r["seed"] for r in rows if r["without"]["stalled"]]
    return {
        "total": len(rows),
        "first": rows[0]["seed"],
        "last": rows[-1]["seed"],
        "flatter": int(flatter.sum()),  # seeds where weight decay lowered the mean |slope| outside
        "not_flatter_seeds": [r["seed"] for r, f in zip(rows, flatter) if not f],
        "lower_max_abs": int(
            (values("with", "max_abs_outside") < values("without", "max_abs_outside")).sum()
        ),
        "worse_in_range": int(
            (values("with", "rmse_in_range") > values("without", "rmse_in_range")).sum()
        ),
        "stalled_without": stalled_without,
        "stalled_with": [r["seed"] for r in rows if r["with"]["stalled"]],
        **{
            f"{key}_median_{variant}": np.median(values(variant, key))
            for key in (
                "mean_abs_slope_outside",
                "max_abs_outside",
                "rmse_outside",
                "rmse_in_range",
                "loss",
            )
            for variant in ("without", "with")
        },
        "per_seed": [
            {
                "seed": r["seed"],
                **{
                    f"{key}_{variant}": r[variant][key]
                    for key in (
                        "mean_abs_slope_outside",
                        "max_abs_outside",
                        "rmse_in_range",
                        "loss",
                    )
                    for variant in ("without", "with")
                },
            }
            for r in rows
        ],
    }


def y_view(*runs):
    """One y-range for both figures: every network on X_RANGE, rounded out to 0.25."""
    xs = fine_grid()
    values = np.concatenate([dnn.output_at(dnn.network_from(r["state_dict"]), xs) for r in runs])
    low = min(values.min(), -0.1)
    high = max(values.max(), curve(0.5))
    return np.floor(low * 4 - 0.5) / 4, np.ceil(high * 4 + 0.5) / 4


def plot_outrange(run, label, color, ylim, seed=NOISE_SEED):
    fig, ax = plt.subplots(figsize=HALF)
    xs = fine_grid()
    x, y = noisy_samples(seed)
    ax.axvspan(0.0, 1.0, color=GREY, alpha=0.15, linewidth=0, label="training range")
    ax.plot(xs, curve(xs), color=CURVE_COLOR, linewidth=2.5, label="curve")
    ax.plot(xs, dnn.output_at(dnn.network_from(run["state_dict"]), xs), color=color, label=label)
    ax.plot(x, y, "o", color=SAMPLE_COLOR, markersize=7, zorder=3)
    ax.set(xlabel="x", ylabel="y", xlim=X_RANGE, ylim=ylim, xticks=[-1, 0, 1, 2])
    ax.legend(loc="lower center")
    return fig


def alpha_scan():
    """Not part of the build: the out-of-range numbers of seed 0 for every alpha candidate."""
    print("alpha   loss  rmse_in_range  mean_abs_slope_outside  max_abs_outside")
    for alpha in ALPHA_SCAN:
        e = extrapolation(dnn.train(weight_decay=alpha))
        print(
            f"{alpha:5.2f} {e['loss']:6.3f} {e['rmse_in_range']:14.3f} "
            f"{e['mean_abs_slope_outside']:23.3f} {e['max_abs_outside']:16.3f}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--alpha-scan",
        action="store_true",
        help="train seed 0 for several alphas and print a table (slow)",
    )
    if parser.parse_args().alpha_scan:
        alpha_scan()
        return

    rows = seed_sweep()
    without = dnn.train(weight_decay=0.0)  # E3 as trained for "Really?"
    with_l2 = dnn.train(weight_decay=ALPHA)  # the same, SGD(..., weight_decay=ALPHA)
    ylim = y_view(without, with_l2)

    use_style()
    save_figure(
        plot_outrange(without, "no penalty", OVERFIT_COLOR, ylim), "dnn-with-noise-outrange"
    )
    save_figure(
        plot_outrange(with_l2, f"weight decay {ALPHA:g}", FIT_COLOR, ylim),
        "dnn-with-noise-outrange-l2",
    )

    main_without, main_with = extrapolation(without), extrapolation(with_l2)
    save_results(
        __file__,
        {
            "alpha": ALPHA,
            "x_range": list(X_RANGE),
            "y_view": list(ylim),
            "main": {
                "without": main_without,
                "with": main_with,
                "flatter": bool(
                    main_with["mean_abs_slope_outside"] < main_without["mean_abs_slope_outside"]
                ),
            },
            "seeds": summary(rows),
        },
    )


if __name__ == "__main__":
    main()
