"""Dropout and signal strength: slide "Dropout" (X3).

The talk's claim (after Hinton et al. 2012): dropout makes a model prefer strong
signals over weak ones. We test it on a synthetic task where we know which
feature carries how much signal:

- a binary label y; every feature is Gaussian with standard deviation 1 and a mean
  that moves with the label (+shift for y = 1, -shift for y = 0);
- one strong feature (shift 1.5: alone it is right 93% of the time), eight weak
  ones (shift 0.4: each alone 66%, all eight together 87%) and eight pure-noise
  features (shift 0) that only help to memorise the small training set.

The same small network (one hidden layer, 64 ReLUs) is trained three ways, with
the same data, initial weights and number of steps: without dropout, with
dropout 0.5 on the hidden layer, and with dropout 0.2 on the inputs (Hinton et
al.'s rates). Input dropout removes individual features, so it is the mechanism
that acts most directly on which features the model relies on.

Reliance is measured by permutation importance on held-out data: shuffle one
group of feature columns across the examples (cutting their link to the label,
keeping their distribution) and measure how much accuracy is lost. The strong
feature's share of reliance is its loss / (its loss + the weak group's loss).
The ideal rule (the Bayes-optimal classifier, which weighs each feature by its
shift) gives the reference share. Repeated over 10 seeds (data and weights).

What it shows here (the tests pin it): without dropout the network leans on the
eight weak features more than the ideal rule does; both kinds of dropout shift
reliance towards the strong feature in (nearly) every seed, input dropout more than hidden
dropout, bringing it closer to the ideal rule's share (on average not beyond it),
at about the same held-out accuracy.

Figure: dropout.
"""

import math

import numpy as np
import torch
from torch import nn

from figkit import one_thread_for_small_networks, save_results
from figkit.plot import BLUE, FULL, GREEN, GREY, OVERFIT_COLOR, plt, save_figure, use_style

SEEDS = range(10)  # each seed draws its own data, initial weights and dropout masks
STRONG_SHIFT = 1.5  # the strong feature's mean is +-1.5: alone it is right Phi(1.5) = 93%
WEAK_SHIFT = 0.4  # each weak feature's mean is +-0.4: alone it is right Phi(0.4) = 66%
WEAK = 8  # weak features: together right Phi(0.4 * sqrt(8)) = 87%
NOISE = 8  # features with no signal: room to memorise the training set
FEATURES = 1 + WEAK + NOISE
GROUPS = {
    "strong": [0],  # columns of each feature group
    "weak": list(range(1, 1 + WEAK)),
    "noise": list(range(1 + WEAK, FEATURES)),
}
TRAIN_EXAMPLES = 200  # few: without a regulariser the network memorises them
TEST_EXAMPLES = 5000  # held-out examples to measure accuracy and reliance
HIDDEN = 64  # ReLUs in the one hidden layer
STEPS = 600  # full-batch Adam steps, the same for every variant
LEARNING_RATE = 3e-3  # Adam's
VARIANTS = {  # name: (input dropout, hidden dropout), Hinton et al.'s rates
    "none": (0.0, 0.0),
    "hidden": (0.0, 0.5),
    "input": (0.2, 0.0),
}
LABELS = {"none": "no dropout", "hidden": "hidden dropout 0.5", "input": "input dropout 0.2"}
COLORS = {"none": OVERFIT_COLOR, "hidden": GREEN, "input": BLUE}
PERMUTATION_SEED = 1000  # + seed: the shuffles, identical for every variant (a paired comparison)


def phi(z):
    """The standard normal CDF: the accuracy of thresholding a feature whose mean is +-z."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def shifts():
    """How far each feature's mean moves with the label, column by column."""
    return torch.tensor([STRONG_SHIFT] + [WEAK_SHIFT] * WEAK + [0.0] * NOISE)


def examples(count, generator):
    """`count` examples: features x (count x 17) and labels y in {0., 1.}."""
    y = torch.randint(0, 2, (count,), generator=generator)
    sign = 2.0 * y - 1.0  # -1 for class 0, +1 for class 1
    noise = torch.randn(count, FEATURES, generator=generator)
    x = sign[:, None] * shifts() + noise  # column 0 strong, 1-8 weak, 9-16 no signal
    return x, y.float()


def network(input_dropout, hidden_dropout):
    """One hidden layer; dropout (identity when the network is in eval mode) on either side."""
    # region dropout-network
    model = nn.Sequential(
        nn.Dropout(input_dropout),  # training: zero each input feature with this probability
        nn.Linear(FEATURES, HIDDEN),
        nn.ReLU(),
        nn.Dropout(hidden_dropout),  # training: zero each hidden unit with this probability
        nn.Linear(HIDDEN, 1),  # the logit of class 1
    )
    # endregion dropout-network
    return model


def train(model, x, y):
    """Full-batch Adam on the logistic loss; returns the model in eval mode (no dropout)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.BCEWithLogitsLoss()
    model.train()  # dropout on (nn.Dropout scales what it keeps by 1 / (1 - p))
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss_fn(model(x).squeeze(1), y).backward()
        optimizer.step()
    return model.eval()  # dropout off: every feature and unit, as at test time


def ideal_logit(x):
    """The Bayes-optimal rule for this data: each feature weighted by twice its shift."""
    return 2.0 * x @ shifts()[:, None]


def accuracy(predict, x, y):
    with torch.no_grad():
        return ((predict(x).squeeze(1) > 0).float() == y).float().mean().item()


def accuracy_drop(predict, x, y, columns, generator):
    """Held-out accuracy lost when `columns` are shuffled across the examples."""
    # region permutation-importance
    shuffled = x.clone()
    order = torch.randperm(len(x), generator=generator)  # one shuffle for the whole group
    shuffled[:, columns] = x[order][:, columns]  # cut the link to y, keep the distribution
    return accuracy(predict, x, y) - accuracy(predict, shuffled, y)
    # endregion permutation-importance


def reliance(predict, x, y, seed):
    """Accuracy lost per feature group and the strong feature's share of reliance."""
    drops = {}
    for index, (group, columns) in enumerate(GROUPS.items()):
        generator = torch.Generator().manual_seed(PERMUTATION_SEED + 100 * seed + index)
        drops[group] = accuracy_drop(predict, x, y, columns, generator)
    share = drops["strong"] / (drops["strong"] + drops["weak"])
    return {"accuracy": accuracy(predict, x, y), "drops": drops, "strong_share": share}


def experiment(seed):
    """One seed: data, the ideal rule, and the three variants trained from the same weights."""
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = examples(TRAIN_EXAMPLES, generator)
    x_test, y_test = examples(TEST_EXAMPLES, generator)
    runs = {"ideal": reliance(ideal_logit, x_test, y_test, seed)}
    for name, (input_dropout, hidden_dropout) in VARIANTS.items():
        # Initial weights and dropout masks come from torch's global generator: seed it
        # inside fork_rng so that the caller's random state is left as it was.
        with torch.random.fork_rng():
            torch.manual_seed(seed)  # the same initial weights for every variant
            model = train(network(input_dropout, hidden_dropout), x_train, y_train)
        runs[name] = {
            **reliance(model, x_test, y_test, seed),
            "train_accuracy": accuracy(model, x_train, y_train),
        }
    return runs


def sweep(seeds=SEEDS):
    return {seed: experiment(seed) for seed in seeds}


def summary(runs):
    """The numbers the slide quotes: per variant means, and per seed the shares."""
    seeds = list(runs)
    share = {
        name: np.array([runs[s][name]["strong_share"] for s in seeds])
        for name in ["ideal", *VARIANTS]
    }
    variants = {}
    for name in VARIANTS:
        rises = share[name] > share["none"]
        variants[name] = {
            "input_dropout": VARIANTS[name][0],
            "hidden_dropout": VARIANTS[name][1],
            "test_accuracy": np.mean([runs[s][name]["accuracy"] for s in seeds]),
            "train_accuracy": np.mean([runs[s][name]["train_accuracy"] for s in seeds]),
            "drop": {
                group: np.mean([runs[s][name]["drops"][group] for s in seeds]) for group in GROUPS
            },
            "strong_share": {
                "mean": share[name].mean(),
                "min": share[name].min(),
                "max": share[name].max(),
                "per_seed": np.round(share[name], 4),
            },
        }
        if name != "none":
            # The claim, per seed: this dropout raises the strong feature's share.
            variants[name]["claim"] = {
                "seeds_held": int(rises.sum()),
                "seeds": len(seeds),
                "held": bool(rises.sum() > len(seeds) / 2),
                "share_change_mean": (share[name] - share["none"]).mean(),
                "seeds_above_ideal": int((share[name] > share["ideal"]).sum()),
            }
    ideal = {
        "test_accuracy": np.mean([runs[s]["ideal"]["accuracy"] for s in seeds]),
        "strong_share": share["ideal"].mean(),
        "drop": {
            group: np.mean([runs[s]["ideal"]["drops"][group] for s in seeds]) for group in GROUPS
        },
    }
    return {"variants": variants, "ideal": ideal, "share": share}


def plot(runs, numbers):
    seeds = list(runs)
    fig, (left, right) = plt.subplots(
        1,
        2,
        figsize=(FULL[0] + 3, FULL[1] + 0.5),
        gridspec_kw={"width_ratios": [1.25, 1], "wspace": 0.3},
    )
    # Left: accuracy lost per feature group, mean over seeds as bars, seeds as dots.
    width = 0.26
    groups = list(GROUPS)
    for i, name in enumerate(VARIANTS):
        positions = np.arange(len(groups)) + (i - 1) * width
        means = [100 * numbers["variants"][name]["drop"][g] for g in groups]
        left.bar(positions, means, width=width * 0.92, color=COLORS[name], label=LABELS[name])
        for position, group in zip(positions, groups):
            values = [100 * runs[s][name]["drops"][group] for s in seeds]
            left.plot(
                np.full(len(values), position), values, "o", color="black", markersize=4, alpha=0.5
            )
    left.set_xticks(
        np.arange(len(groups)),
        ["strong\n(1 feature)", f"weak\n({WEAK} features)", f"no signal\n({NOISE} features)"],
    )
    left.set_ylabel("held-out accuracy lost\nwhen shuffled (points)")
    left.axhline(0, color="black", linewidth=1)
    left.grid(axis="x", visible=False)
    left.legend(loc="upper right")

    # Right: the strong feature's share of reliance, one line per seed.
    names = list(VARIANTS)
    for s in seeds:
        right.plot(
            range(len(names)),
            [numbers["share"][n][seeds.index(s)] for n in names],
            color=GREY,
            linewidth=1.2,
            alpha=0.6,
            zorder=1,
        )
    for i, name in enumerate(names):
        right.plot(
            np.full(len(seeds), i),
            numbers["share"][name],
            "o",
            color=COLORS[name],
            markersize=9,
            zorder=2,
        )
    ideal = numbers["ideal"]["strong_share"]
    right.axhline(ideal, color="black", linestyle="--", linewidth=2)
    right.text(len(names) - 1 + 0.35, ideal, "ideal\nrule", va="center", ha="left")
    right.set_xticks(range(len(names)), ["none", "hidden\n0.5", "input\n0.2"])
    right.set_xlim(-0.35, len(names) - 0.65)
    right.set_xlabel("dropout")
    right.set_ylabel("strong feature's share\nstrong / (strong + weak)")
    right.grid(axis="x", visible=False)
    return fig


def main():
    one_thread_for_small_networks()
    runs = sweep()
    numbers = summary(runs)

    use_style()
    save_figure(plot(runs, numbers), "dropout")

    save_results(
        __file__,
        {
            "seeds": len(SEEDS),
            "task": {
                "strong_shift": STRONG_SHIFT,
                "weak_shift": WEAK_SHIFT,
                "weak_features": WEAK,
                "noise_features": NOISE,
                "train_examples": TRAIN_EXAMPLES,
                "test_examples": TEST_EXAMPLES,
                # accuracies of the ideal rule that uses only these features
                "strong_alone_accuracy": phi(STRONG_SHIFT),
                "weak_one_accuracy": phi(WEAK_SHIFT),
                "weak_all_accuracy": phi(WEAK_SHIFT * math.sqrt(WEAK)),
                "all_accuracy": phi(math.sqrt(STRONG_SHIFT**2 + WEAK * WEAK_SHIFT**2)),
            },
            "network": {"hidden": HIDDEN, "steps": STEPS, "learning_rate": LEARNING_RATE},
            "ideal": numbers["ideal"],
            **numbers["variants"],
        },
    )


if __name__ == "__main__":
    main()
