"""Stochastic depth: slide "Stochastic depth" (X5; Huang et al. 2016).

A residual network computes x + f_l(x) in each block l. Stochastic depth skips
whole blocks at random during training: block l runs with survival probability
p_l = 1 - l/L * (1 - p_L), falling linearly from 1 at the input to p_L = 0.5 at
the last block, and is skipped (x passes unchanged) otherwise. As in the paper,
one draw per block and training step decides for the whole (here: full) batch,
and at test time every block runs with its output scaled by p_l, its expected
contribution during training.

The network: a linear layer to width 32, ten residual blocks f(x) = W2 ReLU(W1 x),
a ReLU and a linear read-out to 4 classes. The task is prone to overfitting:
256 training points (8-D Gaussian blobs around random class centres) of which
20% carry a random label, so memorising the training set means learning noise.
Test points come from the same distribution (labels equally noisy). The same
network, data and initial weights are trained with and without stochastic depth
for the same number of full-batch Adam steps, over 5 seeds, and the train-test
gap in accuracy is compared.

What it shows here (the tests pin it): stochastic depth slows the memorising of the
noisy labels down, so the gap opens later and is smaller during most of training,
but it does not stop it: after 600 steps both networks fit the training set and
the final gap is the same within a few points. The claim "it shrinks the gap" holds
only for a training budget too short for the network to memorise.

Figures: stochastic-depth (accuracy and gap during training), stochastic-depth-blocks
(which blocks ran in the first training steps).
"""

import numpy as np
import torch
from torch import nn

from figkit import one_thread_for_small_networks, save_results
from figkit.plot import BLACK, FIT_COLOR, FULL, GREY, OVERFIT_COLOR, plt, save_figure, use_style

SEEDS = range(5)  # each seed draws its own data, initial weights and skipped blocks
CLASSES = 4  # a random guess is right 25% of the time
DIMENSIONS = 8  # inputs: a class centre (random, N(0, 2) per coordinate) plus N(0, 1) noise
CENTRE_SCALE = 2**0.5  # standard deviation of the centres' coordinates
LABEL_NOISE = 0.2  # this share of labels (train and test) is replaced by a random class
TRAIN_EXAMPLES = 256  # few, so that the network can memorise them, noise included
TEST_EXAMPLES = 1000  # new points from the same distribution (labels as noisy)
WIDTH = 32  # the residual stream
BLOCKS = 10  # L: residual blocks
LAST_SURVIVAL = 0.5  # p_L, as in Huang et al.
STEPS = 600  # full-batch Adam steps; without stochastic depth the network fits the noise by ~200
LEARNING_RATE = 1e-3  # Adam's
EVAL_EVERY = 20  # steps between measurements of train and test accuracy
SHOWN_STEPS = 80  # training steps drawn in the blocks figure
MEANINGFUL = 0.02  # a gap change below 2 accuracy points counts as no change
LABELS = {"plain": "without stochastic depth", "stochastic": "with stochastic depth"}
COLORS = {"plain": OVERFIT_COLOR, "stochastic": FIT_COLOR}


def survival_probabilities(blocks=BLOCKS, last=LAST_SURVIVAL):
    """p_l for l = 1..L: a linear decay from (almost) 1 at the first block to `last`."""
    survival = [1 - i / blocks * (1 - last) for i in range(1, blocks + 1)]  # l = 1..L
    return survival


class ResidualBlock(nn.Module):
    """x + f(x), with f skipped at random in training (stochastic depth) if survival < 1."""

    def __init__(self, width, survival):
        super().__init__()
        self.f = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
        self.survival = survival
        self.active = True  # whether the last training step ran f (for the blocks figure)

    # region stochastic-depth-block
    def forward(self, x):
        if not self.training:  # test time: every block, scaled by its survival probability
            return x + self.survival * self.f(x)
        self.active = torch.rand(()).item() < self.survival  # one draw for the whole batch
        if self.active:
            return x + self.f(x)
        return x  # skipped: the block is the identity for this step

    # endregion stochastic-depth-block


def network(survivals):
    """Linear in, a residual block per survival probability, ReLU and linear out."""
    model = nn.Sequential(
        nn.Linear(DIMENSIONS, WIDTH),
        *[ResidualBlock(WIDTH, p) for p in survivals],  # p = 1 everywhere: no stochastic depth
        nn.ReLU(),
        nn.Linear(WIDTH, CLASSES),
    )
    return model


def blocks_of(model):
    return [m for m in model if isinstance(m, ResidualBlock)]


def noisy_blobs(count, centres, generator):
    """`count` points around the class centres; LABEL_NOISE of the labels are random."""
    y = torch.randint(0, CLASSES, (count,), generator=generator)
    x = centres[y] + torch.randn(count, DIMENSIONS, generator=generator)
    relabel = torch.rand(count, generator=generator) < LABEL_NOISE
    y = torch.where(relabel, torch.randint(0, CLASSES, (count,), generator=generator), y)
    return x, y


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        value = (model(x).argmax(dim=1) == y).float().mean().item()
    model.train()
    return value


def train(model, data):
    """Full-batch Adam on the cross-entropy; accuracies every EVAL_EVERY steps (all blocks on),
    and which blocks ran in each training step."""
    x_train, y_train, x_test, y_test = data
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    history = {"step": [], "train": [], "test": []}
    active = []
    model.train()
    for step in range(STEPS + 1):
        if step % EVAL_EVERY == 0:
            history["step"].append(step)
            history["train"].append(accuracy(model, x_train, y_train))
            history["test"].append(accuracy(model, x_test, y_test))
        if step == STEPS:
            break
        optimizer.zero_grad()
        loss_fn(model(x_train), y_train).backward()
        optimizer.step()
        active.append([block.active for block in blocks_of(model)])
    return {k: np.array(v) for k, v in history.items()}, np.array(active)


def experiment(seed):
    """One seed: the same data and initial weights, trained without and with stochastic depth."""
    generator = torch.Generator().manual_seed(seed)
    centres = CENTRE_SCALE * torch.randn(CLASSES, DIMENSIONS, generator=generator)
    data = (
        *noisy_blobs(TRAIN_EXAMPLES, centres, generator),
        *noisy_blobs(TEST_EXAMPLES, centres, generator),
    )
    runs = {}
    for name, survivals in (("plain", [1.0] * BLOCKS), ("stochastic", survival_probabilities())):
        # Initial weights and skip draws come from torch's global generator: seed it
        # inside fork_rng so that the caller's random state is left as it was.
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # the same initial weights with and without
            history, active = train(network(survivals), data)
        runs[name] = {"history": history, "active": active}
    return runs


def sweep(seeds=SEEDS):
    return [experiment(seed) for seed in seeds]


def curves(runs, name):
    """Per seed (rows) and measurement (columns): train accuracy, test accuracy and the gap."""
    train_acc = np.stack([r[name]["history"]["train"] for r in runs])
    test_acc = np.stack([r[name]["history"]["test"] for r in runs])
    return train_acc, test_acc, train_acc - test_acc


def first_step_at(history, level=0.99):
    """The first measured step at which train accuracy reached `level` (None if never)."""
    reached = np.flatnonzero(history["train"] >= level)
    return int(history["step"][reached[0]]) if len(reached) else None


def summary(runs):
    numbers = {}
    for name in LABELS:
        train_acc, test_acc, gap = curves(runs, name)
        numbers[name] = {
            "train_accuracy": {
                "mean": train_acc[:, -1].mean(),
                "per_seed": np.round(train_acc[:, -1], 4),
            },
            "test_accuracy": {
                "mean": test_acc[:, -1].mean(),
                "per_seed": np.round(test_acc[:, -1], 4),
            },
            "gap": {"mean": gap[:, -1].mean(), "per_seed": np.round(gap[:, -1], 4)},
            # the whole run: the gap averaged over all measurements, the best test accuracy
            "gap_during_training": gap.mean(),
            "best_test_accuracy": test_acc.max(axis=1).mean(),
            "steps_to_fit_train_99": [first_step_at(r[name]["history"]) for r in runs],
        }
    change = numbers["stochastic"]["gap"]["mean"] - numbers["plain"]["gap"]["mean"]
    shrank = (
        np.array(numbers["stochastic"]["gap"]["per_seed"])
        < np.array(numbers["plain"]["gap"]["per_seed"]) - MEANINGFUL
    )
    numbers["claim"] = {
        "seeds": len(runs),
        # the claim: stochastic depth shrinks the final train-test gap
        "gap_change": change,
        "seeds_gap_shrank": int(shrank.sum()),  # by more than MEANINGFUL
        "held": bool(change < -MEANINGFUL and shrank.sum() > len(runs) / 2),
        "meaningful": MEANINGFUL,
    }
    return numbers


def plot_curves(runs):
    fig, (left, right) = plt.subplots(
        1, 2, figsize=(FULL[0] + 2, FULL[1]), gridspec_kw={"wspace": 0.3}
    )
    steps = runs[0]["plain"]["history"]["step"]
    for name in LABELS:
        train_acc, test_acc, gap = curves(runs, name)
        for values, style in ((train_acc, "--"), (test_acc, "-")):
            left.plot(steps, 100 * values.mean(axis=0), style, color=COLORS[name])
            left.fill_between(
                steps,
                100 * values.min(axis=0),
                100 * values.max(axis=0),
                color=COLORS[name],
                alpha=0.15,
                linewidth=0,
            )
        right.plot(steps, 100 * gap.mean(axis=0), color=COLORS[name], label=LABELS[name])
        right.fill_between(
            steps,
            100 * gap.min(axis=0),
            100 * gap.max(axis=0),
            color=COLORS[name],
            alpha=0.2,
            linewidth=0,
        )
    left.set(xlabel="training step", ylabel="accuracy (%)", ylim=(20, 102), title="accuracy")
    style_handles = [
        plt.Line2D([], [], color=GREY, linestyle="--", label="train"),
        plt.Line2D([], [], color=GREY, linestyle="-", label="test"),
    ]
    left.legend(handles=style_handles, loc="lower right")
    right.set(
        xlabel="training step", ylabel="train \u2212 test (points)", ylim=(-5, 45), title="gap"
    )
    right.legend(loc="lower right")
    return fig


def plot_blocks(runs):
    """Which blocks ran in the first training steps of seed 0, next to p_l."""
    active = runs[0]["stochastic"]["active"]  # steps x blocks
    shown = active[:SHOWN_STEPS]
    fig, (grid, side) = plt.subplots(
        1,
        2,
        figsize=(10.5, 4.3),  # drawn 330 px high above the code: 22 pt stays 20 px
        sharey=True,
        gridspec_kw={"width_ratios": [3, 1.2], "wspace": 0.12},
    )
    grid.imshow(
        shown.T,
        aspect="auto",
        cmap=plt.matplotlib.colors.ListedColormap(["white", FIT_COLOR]),
        origin="lower",
        interpolation="nearest",
        extent=(0.5, SHOWN_STEPS + 0.5, 0.5, BLOCKS + 0.5),
    )
    grid.set(
        xlabel="training step",
        ylabel="residual block l",
        yticks=range(1, BLOCKS + 1),
        title="blue: block ran, white: skipped",
    )
    grid.grid(False)
    grid.set_yticks(np.arange(1.5, BLOCKS), minor=True)
    grid.grid(which="minor", axis="y", color=GREY, alpha=0.4, linewidth=1)
    survivals = survival_probabilities()
    blocks = np.arange(1, BLOCKS + 1)
    side.plot(survivals, blocks, "-", color=BLACK, label="$p_l$")
    side.plot(active.mean(axis=0), blocks, "o", color=FIT_COLOR, markersize=10, label="ran")
    side.set(
        xlim=(0.0, 1.05),
        xticks=[0, 0.5, 1],
        xticklabels=["0", "0.5", "1"],
        xlabel=f"share of {len(active)} steps",
        title="survival",
    )
    side.legend(loc="lower left", handlelength=1.2)
    return fig


def main():
    one_thread_for_small_networks()
    runs = sweep()
    numbers = summary(runs)

    use_style()
    save_figure(plot_curves(runs), "stochastic-depth")
    save_figure(plot_blocks(runs), "stochastic-depth-blocks")

    active = runs[0]["stochastic"]["active"]
    save_results(
        __file__,
        {
            "seeds": len(SEEDS),
            "blocks": BLOCKS,
            "width": WIDTH,
            "last_survival": LAST_SURVIVAL,
            "survival": np.round(survival_probabilities(), 4),
            "mean_survival": np.mean(survival_probabilities()),
            "steps": STEPS,
            "learning_rate": LEARNING_RATE,
            "train_examples": TRAIN_EXAMPLES,
            "test_examples": TEST_EXAMPLES,
            "label_noise": LABEL_NOISE,
            "shown_steps": SHOWN_STEPS,
            # seed 0: the share of training steps in which each block ran (expected: p_l)
            "active_share": np.round(active.mean(axis=0), 4),
            **numbers,
        },
    )


if __name__ == "__main__":
    main()
