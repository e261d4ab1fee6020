"""How E3's training converges: vertical slide "Minima details" (X1), under "Why does this work?".

Follows the E3 training of "Really?" (the same run, recorded while it trained;
see figkit/dnn.py): the fit after 0, 10, 100, 1000 and 4000 steps, the loss at
every step, and the on/off pattern of every hidden ReLU over the 21 samples at a
few dozen log-spaced steps. A ReLU that is off for every sample passes no
gradient back, so its incoming weights can no longer change: it is stuck. The
script counts how many ReLUs are still on for some sample and how many change
their pattern as training goes on, and shows a seed of the sweep whose training
stalled, if one did.

It also counts the linear pieces of the trained network's output (a ReLU network
with one input is piecewise linear): where the pieces meet, some ReLU switches.

Figures: minima-fits, minima-loss, minima-relus.
"""

import numpy as np
import torch
from matplotlib.ticker import FuncFormatter

from figkit import NOISE_SEED, curve, dense_grid, dnn, noisy_samples, save_results
from figkit.plot import (
    BLUE,
    CURVE_COLOR,
    FIT_COLOR,
    FULL,
    GREEN,
    GREY,
    ORANGE,
    OVERFIT_COLOR,
    PURPLE,
    SAMPLE_COLOR,
    SKY,
    plt,
    save_figure,
    use_style,
)

FIT_STEPS = dnn.FIT_STEPS  # 0, 10, 100, 1000, 4000: the fits drawn
FIT_COLORS = (GREY, ORANGE, PURPLE, GREEN, BLUE)  # one per drawn step, the last is the fit's
PIECE_RANGES = {"in_range": (0.0, 1.0), "outrange": (-1.0, 2.0)}  # where linear pieces are counted
SLOPE_CHANGE = 1e-6  # a candidate kink counts when the slope changes by more than this
Y_VIEW = (-0.5, 1.15)  # room for the legend below the fits


def alive(on):
    """ReLUs on for at least one sample, per recorded step ([step, neuron, sample] -> [step])."""
    return on.any(axis=2).sum(axis=1)


def changed(on, steps, start, end):
    """How many ReLUs have a different on/off pattern over the samples at `end` than at `start`."""
    i, j = list(steps).index(start), list(steps).index(end)
    return int((on[i] != on[j]).any(axis=1).sum())


def changed_per_record(on):
    """ReLUs whose pattern differs from the previous record, per recorded interval."""
    return (on[1:] != on[:-1]).any(axis=2).sum(axis=1)


def linear_pieces(state_dict, low, high):
    """The number of linear pieces of the network's output on [low, high], in float64.

    Kinks can only sit where a first-layer ReLU switches (x = -b/w) or, between two of
    those, where a second-layer pre-activation (affine there) crosses zero. The output is
    evaluated at every candidate; a candidate is a kink when the slope changes there."""
    p = {k: v.double() for k, v in state_dict.items()}
    w1, b1 = p["0.weight"].flatten(), p["0.bias"]

    def hidden2(x):
        return torch.relu(x[:, None] * w1 + b1) @ p["2.weight"].T + p["2.bias"]

    def output(x):
        return torch.relu(hidden2(x)) @ p["4.weight"].flatten() + p["4.bias"]

    kinks1 = -b1[w1 != 0] / w1[w1 != 0]
    edges = (
        torch.cat(
            [
                torch.tensor([low, high], dtype=torch.float64),
                kinks1[(kinks1 > low) & (kinks1 < high)],
            ]
        )
        .sort()
        .values
    )
    z_left, z_right = hidden2(edges[:-1]), hidden2(edges[1:])
    crossing = z_left * z_right < 0
    where = z_left / (z_left - z_right)  # fraction of the interval at the zero crossing
    kinks2 = (edges[:-1, None] + where * (edges[1:] - edges[:-1])[:, None])[crossing]
    candidates = torch.cat([edges, kinks2]).unique()  # sorted
    y = output(candidates)
    slopes = torch.diff(y) / torch.diff(candidates)
    return int((torch.diff(slopes).abs() > SLOPE_CHANGE).sum()) + 1


def first_stalled(seeds=dnn.SEEDS):
    """The first seed of the sweep whose unpenalised training stalled, or None."""
    for seed in seeds:
        run = dnn.train(seed, seed)
        if dnn.stalled(run):
            return seed, run
    return None, None


def plain_numbers(axis):
    """Tick labels 0.01, 1, 1000 rather than powers of ten: the audience reads them faster."""
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def step_axis(ax):
    ax.set_xscale("symlog", linthresh=1, linscale=0.3)  # logarithmic, with step 0 included
    ax.set_xlim(0, dnn.STEPS * 1.3)
    ax.set_xlabel("step")
    plain_numbers(ax.xaxis)


def plot_fits(run, seed=NOISE_SEED):
    fig, ax = plt.subplots(figsize=FULL)
    grid = dense_grid()
    x, y = noisy_samples(seed)
    steps = list(run["recorded"]["steps"])
    ax.plot(grid, curve(grid), color=CURVE_COLOR, linewidth=2.5, label="curve")
    for step, color in zip(FIT_STEPS, FIT_COLORS):
        ax.plot(
            grid,
            run["recorded"]["fit"][steps.index(step)],
            color=color,
            linewidth=3,
            label=f"step {step}",
        )
    ax.plot(x, y, "o", color=SAMPLE_COLOR, zorder=3)
    ax.set(xlabel="x", ylabel="y", ylim=Y_VIEW)
    ax.legend(loc="lower center", ncols=3)
    return fig


def plot_loss(run, stalled_seed, stalled_run):
    fig, ax = plt.subplots(figsize=FULL)
    steps = np.arange(len(run["losses"]))
    ax.plot(
        steps,
        run["losses"],
        color=FIT_COLOR,
        linewidth=3,
        label=f"seed {dnn.INIT_SEED}: the talk's network",
    )
    if stalled_run is not None:
        ax.plot(
            steps,
            stalled_run["losses"],
            color=OVERFIT_COLOR,
            linewidth=3,
            linestyle="--",
            label=f"seed {stalled_seed}: stalled",
        )
    ax.axhline(dnn.NOISE_LOSS, color=GREY, linewidth=2, linestyle=":")
    ax.text(1.5, dnn.NOISE_LOSS * 0.8, "noise level", color=GREY, va="top")
    ax.set_yscale("log")
    plain_numbers(ax.yaxis)
    step_axis(ax)
    ax.set_ylabel("loss (summed squared error)")
    ax.legend(loc="upper right")
    return fig


def plot_relus(run, stalled_seed, stalled_run):
    fig, ax = plt.subplots(figsize=(7.0, FULL[1]))  # and the legend beside it
    rec = run["recorded"]
    steps = rec["steps"]
    ax.plot(steps, alive(rec["on1"]), color=SKY, linewidth=3, label="layer 1: on for\nsome sample")
    ax.plot(
        steps, alive(rec["on2"]), color=FIT_COLOR, linewidth=3, label="layer 2: on for\nsome sample"
    )
    if stalled_run is not None:
        ax.plot(
            steps,
            alive(stalled_run["recorded"]["on2"]),
            color=OVERFIT_COLOR,
            linewidth=3,
            linestyle="--",
            label=f"layer 2, seed {stalled_seed}\n(stalled)",
        )
    changes = changed_per_record(rec["on1"]) + changed_per_record(rec["on2"])
    ax.plot(
        steps[1:],
        changes,
        "o",
        color=GREY,
        markersize=9,
        label="changed on/off\npattern since\nthe last dot",
    )
    ax.set_yscale("symlog", linthresh=1, linscale=0.3)  # 0 included
    ax.set_ylim(0, 3000)
    plain_numbers(ax.yaxis)
    step_axis(ax)
    ax.set_ylabel("ReLUs (of 1000 per layer)")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))  # beside: the plot has no room
    return fig


def main():
    run = dnn.train()  # E3 as trained for "Really?", with its recording
    stalled_seed, stalled_run = first_stalled()
    rec = run["recorded"]
    steps = list(rec["steps"])
    losses = run["losses"]
    grid_curve = curve(dense_grid())

    use_style()
    save_figure(plot_fits(run), "minima-fits")
    save_figure(plot_loss(run, stalled_seed, stalled_run), "minima-loss")
    save_figure(plot_relus(run, stalled_seed, stalled_run), "minima-relus")

    intervals = list(zip(FIT_STEPS, FIT_STEPS[1:]))
    alive1, alive2 = alive(rec["on1"]), alive(rec["on2"])
    stalled = {"found": stalled_run is not None}
    if stalled_run is not None:
        stalled_alive2 = alive(stalled_run["recorded"]["on2"])
        stalled.update(
            {
                "seed": stalled_seed,
                "loss_final": stalled_run["losses"][-1],
                "loss_threshold": dnn.STALLED_LOSS,
                "layer2_alive_final": stalled_alive2[-1],
                # the first recorded step at which every second-layer ReLU is off for every sample
                "layer2_all_off_step": next(
                    (s for s, n in zip(steps, stalled_alive2) if n == 0), None
                ),
            }
        )
    save_results(
        __file__,
        {
            "fit_steps": list(FIT_STEPS),
            "loss": {
                **{f"step_{s}": losses[s] for s in (0, 1, *FIT_STEPS[1:])},
                "peak": losses.max(),
                "peak_step": int(losses.argmax()),
                "noise_level": dnn.NOISE_LOSS,
            },
            "rmse": {
                f"step_{s}": np.sqrt(np.mean((rec["fit"][steps.index(s)] - grid_curve) ** 2))
                for s in FIT_STEPS
            },
            "relus": {
                "per_layer": 1000,
                "layer1_alive": {f"step_{s}": alive1[steps.index(s)] for s in FIT_STEPS},
                "layer2_alive": {f"step_{s}": alive2[steps.index(s)] for s in FIT_STEPS},
                # ReLUs whose on/off pattern over the 21 samples differs between the two steps
                "changed": {
                    f"{a}-{b}": {
                        "layer1": changed(rec["on1"], steps, a, b),
                        "layer2": changed(rec["on2"], steps, a, b),
                    }
                    for a, b in intervals
                },
                "changed_after_step_10": {
                    "layer1": changed(rec["on1"], steps, 10, dnn.STEPS),
                    "layer2": changed(rec["on2"], steps, 10, dnn.STEPS),
                },
            },
            "pieces": {
                name: linear_pieces(run["state_dict"], *bounds)
                for name, bounds in PIECE_RANGES.items()
            },
            "piece_ranges": {name: list(bounds) for name, bounds in PIECE_RANGES.items()},
            "stalled": stalled,
        },
    )


if __name__ == "__main__":
    main()
