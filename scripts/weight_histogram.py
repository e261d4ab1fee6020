"""The weights with and without L2: slide "The L2 penalty" (X2).

The E3 network trained without a penalty and with weight decay alpha (the same
two trainings as "L2 penalty: motivation"): a histogram of the 1000 x 1000 weights
between the two hidden layers, which hold all but 4001 of the network's
parameters, and the initial weights for reference. The claim to test: the
penalty narrows the weight distribution.

Without a penalty, a weight whose neurons never pass a gradient (a ReLU off for
every sample, see "Minima details") never moves from its random initial value;
weight decay shrinks every weight, used or not.

Figure: weight-histogram.
"""

import numpy as np

from figkit import dnn, save_results
from figkit.plot import FIT_COLOR, FULL, GREY, OVERFIT_COLOR, plt, save_figure, use_style

ALPHA = dnn.WEIGHT_DECAY  # the penalised network's weight decay
LAYER = "2.weight"  # the hidden-to-hidden weights, 1000 x 1000
BOUND = 1 / np.sqrt(1000)  # nn.Linear initialises them uniformly in [-BOUND, BOUND]
NEAR_ZERO = BOUND / 10  # a weight is "near zero" below a tenth of the initial range
BINS = 201  # histogram bins over the view


def weights(run):
    return run["state_dict"][LAYER].numpy().astype(np.float64).ravel()


def stats(w, initial):
    return {
        "std": w.std(),
        "mean_abs": np.abs(w).mean(),
        "max_abs": np.abs(w).max(),
        "near_zero_fraction": np.mean(np.abs(w) < NEAR_ZERO),
        "unchanged_fraction": np.mean(w == initial),
    }  # still exactly at the initial value


def plot(initial, without, with_l2):
    fig, ax = plt.subplots(figsize=FULL)
    view = np.ceil(max(np.abs(without).max(), np.abs(with_l2).max()) * 100) / 100  # every weight
    edges = np.linspace(-view, view, BINS + 1)
    for w, color, label, style in (
        (initial, GREY, "initial", ":"),
        (without, OVERFIT_COLOR, "trained, no penalty", "-"),
        (with_l2, FIT_COLOR, f"trained, weight decay {ALPHA:g}", "-"),
    ):
        counts, _ = np.histogram(w, bins=edges)
        ax.stairs(counts, edges, color=color, linewidth=3, linestyle=style, label=label)
    ax.set_yscale("log")
    ax.set(
        xlabel="weight (hidden layer 1 → hidden layer 2)",
        ylabel="weights per bin",
        xlim=(-view, view),
        ylim=(0.5, None),
    )
    ax.legend(loc="upper right")
    return fig


def main():
    initial = dnn.network().state_dict()[LAYER].numpy().astype(np.float64).ravel()
    without = weights(dnn.train(weight_decay=0.0))
    with_l2 = weights(dnn.train(weight_decay=ALPHA))

    use_style()
    save_figure(plot(initial, without, with_l2), "weight-histogram")

    s_without, s_with = stats(without, initial), stats(with_l2, initial)
    save_results(
        __file__,
        {
            "alpha": ALPHA,
            "layer": "1000 x 1000, hidden layer 1 to hidden layer 2",
            "weights": without.size,
            "near_zero_threshold": NEAR_ZERO,
            "init_bound": BOUND,
            "initial": stats(initial, initial),
            "without": s_without,
            "with": s_with,
            "std_ratio": s_without["std"] / s_with["std"],  # how many times narrower with L2
            "narrower": bool(s_with["std"] < s_without["std"]),
        },
    )


if __name__ == "__main__":
    main()
