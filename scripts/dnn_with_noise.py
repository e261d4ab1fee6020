"""A big network on the noisy samples: slide "Really?" (E3).

A 1-1000-1000-1 ReLU network (about a million parameters for 21 samples) is trained
by full-batch SGD on the noisy samples of E2 (the same noise draw). Unlike the
20-coefficient polynomial, it does not chase the noise: its fit on the dense grid
stays close to the clean curve.

One training could be luck, so the experiment is repeated over several
(initialisation, noise) seed pairs and compared, draw by draw, with the 20-term
polynomial of E2 on the same noisy samples.

Figures: dnn-with-noise (the talk's network), dnn-seeds (the seed sweep).
"""

import least_squares
import numpy as np
from matplotlib.ticker import FuncFormatter

from figkit import NOISE_SEED, NOISE_STD, curve, dense_grid, dnn, noisy_samples, save_results
from figkit.plot import (
    CURVE_COLOR,
    FIT_COLOR,
    FULL,
    GREY,
    OVERFIT_COLOR,
    SAMPLE_COLOR,
    plt,
    save_figure,
    use_style,
)

CLOSE = NOISE_STD  # a fit is "close" when its RMSE from the clean curve is below the noise std
FAR = least_squares.FAR  # a fit "overfits" when its largest error on the dense grid exceeds this
DRAW_POINTS = 1001  # a fine grid on [0, 1], to draw the network's kinks between grid points
Y_VIEW = (-0.3, 1.2)  # the curve, the noise and the fits; the legend below them


def errors(fit):
    """How far `fit` (values on the dense grid) is from the clean curve."""
    error = fit - curve(dense_grid())
    rmse = np.sqrt(np.mean(error**2))  # root mean squared error on the 41 grid points
    return {
        "rmse": rmse,
        "max_error": np.abs(error).max(),
        "max_error_at_samples": np.abs(error[0::2]).max(),
        "max_error_between_samples": np.abs(error[1::2]).max(),
    }


def network_errors(run):
    return errors(dnn.output_at(dnn.network_from(run["state_dict"]), dense_grid()))


def polynomial_errors(seed):
    """E2's 20-coefficient polynomial on the same noise draw."""
    coef = least_squares.with_noise(seed)["coef_overfit"]
    return errors(least_squares.polynomial(coef, dense_grid()))


def seed_sweep(seeds=dnn.SEEDS):
    """The network and the polynomial on every seed pair: errors, final loss, stalled or not."""
    rows = []
    for seed, run in zip(seeds, dnn.sweep(0.0, seeds)):
        rows.append(
            {
                "seed": seed,
                "loss": run["losses"][-1],
                "stalled": dnn.stalled(run),
                "network": network_errors(run),
                "polynomial": polynomial_errors(seed),
            }
        )
    return rows


def summary(rows):
    """What the slide quotes about the sweep."""
    rmse = np.array([r["network"]["rmse"] for r in rows])
    worst = np.array([r["network"]["max_error"] for r in rows])
    poly_rmse = np.array([r["polynomial"]["rmse"] for r in rows])
    poly_worst = np.array([r["polynomial"]["max_error"] for r in rows])
    stalled = [r["seed"] for r in rows if r["stalled"]]
    fitted = rmse[[not r["stalled"] for r in rows]]
    return {
        "total": len(rows),
        "first": rows[0]["seed"],
        "last": rows[-1]["seed"],
        "close_threshold": CLOSE,
        "far_threshold": FAR,
        "close": int((rmse < CLOSE).sum()),  # nearer the clean curve than the noise is
        "overfit": int((worst > FAR).sum()),
        "polynomial_close": int((poly_rmse < CLOSE).sum()),
        "polynomial_overfit": int((poly_worst > FAR).sum()),
        "rmse_median": np.median(rmse),
        "rmse_min": rmse.min(),
        "rmse_max": rmse.max(),
        "rmse_median_not_stalled": np.median(fitted) if len(fitted) else float("nan"),
        "max_error_median": np.median(worst),
        "polynomial_rmse_median": np.median(poly_rmse),
        "polynomial_max_error_median": np.median(poly_worst),
        "loss_median": np.median([r["loss"] for r in rows]),
        "stalled": len(stalled),
        "stalled_seeds": stalled,
        "stalled_seeds_text": ", ".join(map(str, stalled)) or "none",
        "stalled_loss_threshold": dnn.STALLED_LOSS,
        "per_seed": [
            {
                "seed": r["seed"],
                "loss": r["loss"],
                "stalled": r["stalled"],
                "rmse": r["network"]["rmse"],
                "max_error": r["network"]["max_error"],
                "polynomial_rmse": r["polynomial"]["rmse"],
                "polynomial_max_error": r["polynomial"]["max_error"],
            }
            for r in rows
        ],
    }


def fine_grid():
    return np.linspace(0.0, 1.0, DRAW_POINTS)


def plot_fit(run, seed=NOISE_SEED):
    fig, ax = plt.subplots(figsize=FULL)
    xs = fine_grid()
    x, y = noisy_samples(seed)
    net = dnn.network_from(run["state_dict"])
    ax.plot(xs, curve(xs), color=CURVE_COLOR, label="curve")
    ax.plot(xs, dnn.output_at(net, xs), color=FIT_COLOR, label="network, 1-1000-1000-1")
    ax.plot(x, y, "o", color=SAMPLE_COLOR, label="noisy samples", zorder=3)
    ax.set(xlabel="x", ylabel="y", ylim=Y_VIEW)
    ax.legend(loc="lower center", ncols=3)
    return fig


def plot_seeds(rows):
    """Left: every seed's fit; right: each fit's RMSE from the curve, and the polynomial's."""
    fig, (ax_fit, ax_rmse) = plt.subplots(
        1, 2, figsize=FULL, width_ratios=(3, 2), gridspec_kw={"wspace": 0.35}
    )
    xs = fine_grid()
    ax_fit.plot(xs, curve(xs), color=CURVE_COLOR, label="curve")
    for row, run in zip(rows, dnn.sweep(0.0, [r["seed"] for r in rows])):
        color, style = (OVERFIT_COLOR, "--") if row["stalled"] else (FIT_COLOR, "-")
        ax_fit.plot(
            xs,
            dnn.output_at(dnn.network_from(run["state_dict"]), xs),
            color=color,
            linestyle=style,
            linewidth=2,
            alpha=0.8,
        )
    ax_fit.plot([], [], color=FIT_COLOR, linewidth=2, label="networks")
    if any(r["stalled"] for r in rows):
        ax_fit.plot([], [], color=OVERFIT_COLOR, linestyle="--", linewidth=2, label="stalled")
    ax_fit.set(xlabel="x", ylabel="y", ylim=Y_VIEW)
    ax_fit.legend(loc="lower center", ncols=3, handlelength=1.2, columnspacing=1.0)

    seeds = [r["seed"] for r in rows]
    ax_rmse.axhline(CLOSE, color=GREY, linewidth=2, linestyle=":")
    ax_rmse.text(
        seeds[0] - 0.5,
        CLOSE * 1.1,
        f"noise std {CLOSE:g}",
        ha="left",
        va="bottom",
        color=GREY,
    )
    ax_rmse.plot(
        seeds,
        [r["polynomial"]["rmse"] for r in rows],
        "^",
        color=OVERFIT_COLOR,
        markersize=14,
        label="20-term polynomial",
    )
    ax_rmse.plot(
        seeds,
        [r["network"]["rmse"] for r in rows],
        "o",
        color=FIT_COLOR,
        markersize=13,
        label="network",
    )
    for row in rows:
        if row["stalled"]:
            ax_rmse.annotate(
                "stalled",
                (row["seed"], row["network"]["rmse"]),
                xytext=(12, 0),
                textcoords="offset points",
                va="center",
                color=FIT_COLOR,
            )
    ax_rmse.set_yscale("log")
    ax_rmse.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax_rmse.set(
        xlabel="seed",
        ylabel="RMSE vs curve",
        xticks=seeds,
        xlim=(seeds[0] - 0.6, seeds[-1] + 0.6),
        ylim=(0.01, 50),
    )
    ax_rmse.legend(loc="upper center")
    return fig


def main():
    main_run = dnn.train()  # init seed 0, noise seed 0: the talk's network
    rows = seed_sweep()
    main_errors = network_errors(main_run)

    use_style()
    save_figure(plot_fit(main_run), "dnn-with-noise")
    save_figure(plot_seeds(rows), "dnn-seeds")

    net = dnn.network()
    widths = [layer.in_features for layer in net if hasattr(layer, "in_features")][:1] + [
        layer.out_features for layer in net if hasattr(layer, "out_features")
    ]  # 1, 1000, 1000, 1
    save_results(
        __file__,
        {
            "network": {
                "layers": "-".join(str(width) for width in widths),
                "hidden_layers": len(widths) - 2,
                "hidden_width": widths[1],
                "hidden_relus": sum(widths[1:-1]),
                "parameters": sum(p.numel() for p in net.parameters()),
                "steps": dnn.STEPS,
                "learning_rate": dnn.LEARNING_RATE,
                "momentum": dnn.MOMENTUM,
                "init_seed": dnn.INIT_SEED,
                "noise_seed": NOISE_SEED,
                "noise_std": NOISE_STD,
            },
            "main": {
                **main_errors,
                "loss_initial": main_run["losses"][0],
                "loss_final": main_run["losses"][-1],
            },
            "polynomial": polynomial_errors(NOISE_SEED),
            "seeds": summary(rows),
        },
    )


if __name__ == "__main__":
    main()
