"""Label smoothing: slide "Label smoothing" (X4; Szegedy et al. 2016).

Label smoothing trains on soft targets: with eps = 0.1 and K classes, PyTorch's
`CrossEntropyLoss(label_smoothing=0.1)` asks for 1 - eps + eps/K on the true class
and eps/K on each other class, so the loss is lowest at a confidence below 1.

The task: five classes of 2-D Gaussian points (standard deviation 1) whose
centres sit on a circle. On the circle of radius 2.5 ("overlapping") even the
ideal rule is often wrong; a small MLP trained to fit 300 points becomes
over-confident there. We compare, with the same data and initial weights, the
network trained without and with smoothing (eps = 0.1), on held-out points:
confidence (the largest softmax probability) on right and wrong answers,
accuracy, and calibration (does 80% confidence mean 80% right?), summed up by
the expected calibration error (ECE). Smoothing can only fix over-confidence; so
the same comparison is repeated on well-separated classes (radius 4), where the
network without smoothing is already nearly calibrated.

What it shows here (the tests pin it): smoothing lowers the confidence on wrong
answers (and on right ones) in every seed and both settings, at the same accuracy.
Calibration changes in whichever direction the starting point allows: on the
overlapping classes the over-confident network becomes nearly calibrated (ECE
falls); on the separated classes the calibrated one becomes under-confident (ECE
rises).

Figures: label-smoothing (confidence histograms), calibration (reliability diagrams).
"""

import math

import numpy as np
import torch
from torch import nn

from figkit import one_thread_for_small_networks, save_results
from figkit.plot import FIT_COLOR, FULL, OVERFIT_COLOR, plt, save_figure, use_style

SEEDS = range(5)  # each seed draws its own data and initial weights
CLASSES = 5  # class centres evenly spaced on a circle in the plane
RADII = {"overlapping": 2.5, "separated": 4.0}  # circle radius: how far apart the classes are
TRAIN_EXAMPLES = 300  # few: the network can fit them far better than new points
TEST_EXAMPLES = 5000  # held-out points for confidence and calibration
HIDDEN = 64  # two hidden layers of 64 ReLUs
STEPS = 500  # full-batch Adam steps
LEARNING_RATE = 3e-3  # Adam's
EPSILON = 0.1  # the smoothing: 1 - 0.1 + 0.1/5 = 0.92 on the true class, 0.02 on each other
BINS = 15  # equal-width confidence bins for the ECE (as Guo et al. 2017)
MIN_BIN_COUNT = 50  # the diagrams draw a bin only when it holds this many points (all seeds)
LABELS = {0.0: "without smoothing", EPSILON: f"with smoothing, eps = {EPSILON}"}
COLORS = {0.0: OVERFIT_COLOR, EPSILON: FIT_COLOR}


def centres(radius):
    angles = 2 * math.pi * torch.arange(CLASSES) / CLASSES
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def blobs(count, radius, generator):
    """`count` points: a class y, then the class centre plus standard Gaussian noise."""
    y = torch.randint(0, CLASSES, (count,), generator=generator)
    x = centres(radius)[y] + torch.randn(count, 2, generator=generator)
    return x, y


def network():
    return nn.Sequential(
        nn.Linear(2, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, CLASSES),
    )


def train(model, x, y, epsilon):
    """Full-batch Adam on the cross-entropy, smoothed by `epsilon` (0: the usual one-hot)."""
    # region label-smoothing-loss
    loss_fn = nn.CrossEntropyLoss(label_smoothing=epsilon)  # epsilon = EPSILON, or 0 without
    # endregion label-smoothing-loss
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    for _ in range(STEPS):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    return model


def smoothed_targets(y, epsilon, classes=CLASSES):
    """The targets CrossEntropyLoss(label_smoothing=epsilon) trains on (for the slide/tests)."""
    return (1 - epsilon) * nn.functional.one_hot(y, classes) + epsilon / classes


def expected_calibration_error(confidence, correct, bins=BINS):
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    edges = torch.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            gap = correct[in_bin].float().mean() - confidence[in_bin].mean()
            error += in_bin.float().mean().item() * abs(gap.item())
    return error


def predictions(model, x, y):
    """Confidence (largest softmax probability) and whether the prediction is right."""
    with torch.no_grad():
        probabilities = model(x).softmax(dim=1)
    confidence, predicted = probabilities.max(dim=1)
    return confidence, predicted == y


def experiment(seed, radius):
    """One seed: the same data and initial weights, trained without and with smoothing."""
    generator = torch.Generator().manual_seed(seed)
    x_train, y_train = blobs(TRAIN_EXAMPLES, radius, generator)
    x_test, y_test = blobs(TEST_EXAMPLES, radius, generator)
    runs = {}
    for epsilon in (0.0, EPSILON):
        with torch.random.fork_rng():  # initial weights from torch's generator, state restored
            torch.manual_seed(seed)
            model = train(network(), x_train, y_train, epsilon)
        confidence, correct = predictions(model, x_test, y_test)
        _, correct_train = predictions(model, x_train, y_train)
        runs[epsilon] = {
            "confidence": confidence,
            "correct": correct,
            "train_accuracy": correct_train.float().mean().item(),
        }
    return runs


def sweep(radius, seeds=SEEDS):
    return [experiment(seed, radius) for seed in seeds]


def statistics(run):
    confidence, correct = run["confidence"], run["correct"]
    return {
        "accuracy": correct.float().mean().item(),
        "train_accuracy": run["train_accuracy"],
        "confidence": confidence.mean().item(),
        "confidence_right": confidence[correct].mean().item(),
        "confidence_wrong": confidence[~correct].mean().item(),
        "ece": expected_calibration_error(confidence, correct),
    }


def summary(runs):
    """Per smoothing: the mean over seeds of each statistic (and the ECE per seed); the claims."""
    per_seed = {eps: [statistics(run[eps]) for run in runs] for eps in (0.0, EPSILON)}
    numbers = {}
    for eps, key in ((0.0, "without"), (EPSILON, "with")):
        numbers[key] = {
            name: np.mean([s[name] for s in per_seed[eps]]) for name in per_seed[eps][0]
        }
        numbers[key]["ece_per_seed"] = np.round([s["ece"] for s in per_seed[eps]], 4)
        # over-confident when the mean confidence exceeds the accuracy
        numbers[key]["overconfidence"] = numbers[key]["confidence"] - numbers[key]["accuracy"]
    wrong_lower = [
        w["confidence_wrong"] < o["confidence_wrong"]
        for o, w in zip(per_seed[0.0], per_seed[EPSILON])
    ]
    ece_lower = [w["ece"] < o["ece"] for o, w in zip(per_seed[0.0], per_seed[EPSILON])]
    numbers["claims"] = {
        "seeds": len(runs),
        # claim 1: smoothing lowers the mean confidence on wrong answers
        "wrong_confidence_lower_seeds": int(sum(wrong_lower)),
        "wrong_confidence_lower": bool(all(wrong_lower)),
        # claim 2: it changes calibration: which way, and by how much
        "ece_lower_seeds": int(sum(ece_lower)),
        "ece_change": numbers["with"]["ece"] - numbers["without"]["ece"],
        "ece_direction": "lower" if all(ece_lower) else "higher" if not any(ece_lower) else "mixed",
    }
    return numbers


def pooled(runs, eps):
    """Every seed's held-out predictions together (for the figures)."""
    return (
        torch.cat([run[eps]["confidence"] for run in runs]),
        torch.cat([run[eps]["correct"] for run in runs]),
    )


def plot_confidence(runs, numbers):
    """Histograms of confidence on right and on wrong answers, without and with smoothing."""
    fig, axes = plt.subplots(1, 2, figsize=(11.0, 5.0), sharey=True)
    edges = np.linspace(1 / CLASSES, 1, 33)
    for ax, (title, pick, key) in zip(
        axes,
        [("right answers", True, "confidence_right"), ("wrong answers", False, "confidence_wrong")],
    ):
        for eps in (0.0, EPSILON):
            confidence, correct = pooled(runs, eps)
            values = confidence[correct == pick].numpy()
            weights = np.full(len(values), 100 / len(values))  # percent of these answers
            ax.hist(
                values,
                bins=edges,
                weights=weights,
                histtype="stepfilled",
                alpha=0.25,
                color=COLORS[eps],
            )
            ax.hist(
                values,
                bins=edges,
                weights=weights,
                histtype="step",
                linewidth=3,
                color=COLORS[eps],
                label=LABELS[eps],
            )
        means = [numbers[k][key] for k in ("without", "with")]
        for eps, mean in zip((0.0, EPSILON), means):
            ax.axvline(mean, color=COLORS[eps], linestyle="--", linewidth=2.5)
        ax.text(
            0.03,
            0.95,
            f"mean confidence\n{means[0]:.2f} \u2192 {means[1]:.2f}",
            transform=ax.transAxes,
            va="top",
            ha="left",
        )
        ax.set_title(title)
        ax.set_xlim(1 / CLASSES, 1)
    fig.supxlabel("confidence (largest softmax)", y=-0.1)
    axes[0].set_ylabel("% of these answers")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2)
    return fig


def reliability(ax, runs, numbers, title):
    """Accuracy against confidence per bin: on the diagonal is calibrated, below it
    over-confident, above it under-confident. A marker's area is its bin's share of answers."""
    edges = np.linspace(0, 1, BINS + 1)
    ax.plot([0, 1], [0, 1], color="black", linestyle=":", linewidth=2, label="calibrated")
    for eps, stats in ((0.0, numbers["without"]), (EPSILON, numbers["with"])):
        confidence, correct = (t.numpy() for t in pooled(runs, eps))
        bin_of = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, BINS - 1)
        mean_confidence, bin_accuracy, share = [], [], []
        for b in range(BINS):
            in_bin = bin_of == b
            if in_bin.sum() >= MIN_BIN_COUNT:
                mean_confidence.append(confidence[in_bin].mean())
                bin_accuracy.append(correct[in_bin].mean())
                share.append(in_bin.mean())
        ax.plot(
            mean_confidence,
            bin_accuracy,
            "-",
            color=COLORS[eps],
            label=f"{'with' if eps else 'without'}: ECE {stats['ece']:.3f}",
        )
        ax.scatter(
            mean_confidence,
            bin_accuracy,
            s=20 + 700 * np.array(share),
            color=COLORS[eps],
            edgecolor="white",
            linewidth=1,
            zorder=3,
            clip_on=False,
        )
    ax.set(title=title, xlim=(0.2, 1.02), ylim=(0.2, 1.02), aspect="equal", xlabel="confidence")
    ax.text(
        0.98,
        0.03,
        "marker area:\nshare of answers",
        transform=ax.transAxes,
        ha="right",
        va="bottom",
    )
    ax.legend(loc="upper left", frameon=True, framealpha=0.9, edgecolor="none")  # over the lines


def plot_calibration(runs_by_radius, numbers_by_radius):
    fig, axes = plt.subplots(1, 2, figsize=(FULL[0] + 1, FULL[1] + 1))
    for ax, name in zip(axes, RADII):
        reliability(ax, runs_by_radius[name], numbers_by_radius[name], f"{name} classes")
    axes[0].set_ylabel("accuracy")
    return fig


def main():
    one_thread_for_small_networks()
    runs = {name: sweep(radius) for name, radius in RADII.items()}
    numbers = {name: summary(runs[name]) for name in RADII}

    use_style()
    save_figure(plot_confidence(runs["overlapping"], numbers["overlapping"]), "label-smoothing")
    save_figure(plot_calibration(runs, numbers), "calibration")

    targets = smoothed_targets(torch.tensor([0]), EPSILON)[0]
    save_results(
        __file__,
        {
            "epsilon": EPSILON,
            "classes": CLASSES,
            "target_true": targets[0].item(),  # 1 - eps + eps / K
            "target_other": targets[1].item(),  # eps / K
            "seeds": len(SEEDS),
            "train_examples": TRAIN_EXAMPLES,
            "test_examples": TEST_EXAMPLES,
            "steps": STEPS,
            "bins": BINS,
            "radius": RADII,
            **numbers,
        },
    )


if __name__ == "__main__":
    main()
