"""What is overfitting? The slide's figure: two classes of points in the plane, a smooth
decision boundary and a contorted one that separates every training point.

The data are ours: points uniform in the square [-1, 1]^2, labelled by a noisy
rule whose ideal boundary is the parabola x2 = 0.9 x1^2 - 0.45 (near the
boundary a point may carry either label). The smooth boundary is logistic
regression on the six quadratic features 1, x1, x2, x1^2, x1 x2, x2^2; the
contorted one is the 1-nearest-neighbour rule, which labels every training
point correctly by construction. Held-out points from the same distribution
measure which generalizes better, for the figure's data and across many draws.

Figure: overfitting.
"""

import numpy as np

from figkit import save_results
from figkit.plot import BLACK, BLUE, FULL, GREEN, VERMILION, plt, save_figure, use_style

SEED = 5  # the draw of training and held-out points shown in the figure
SEEDS = range(20)  # further draws, to measure how often the smooth boundary wins
TRAIN_POINTS = 100  # training points in the figure
HELD_OUT_POINTS = 20_000  # new points from the same distribution, to measure accuracy
TEMPERATURE = 0.25  # label noise: p(class 1) = sigmoid(distance-like margin / TEMPERATURE)
RIDGE = 1e-3  # a tiny L2 term that keeps Newton's method well-posed
NEWTON_STEPS = 30  # Newton steps for the logistic regression (converges in ~10)
GRID_POINTS = 300  # resolution of the grid the boundaries are traced on
VIEW = 1.04  # the plot shows [-VIEW, VIEW]^2: the data square and a margin for the markers


def ideal_margin(x):
    """Positive above the parabola x2 = 0.9 x1^2 - 0.45, negative below."""
    return x[:, 1] - (0.9 * x[:, 0] ** 2 - 0.45)


def draw_points(count, rng):
    """`count` points uniform in [-1, 1]^2 with noisy labels 0/1."""
    x = rng.uniform(-1.0, 1.0, size=(count, 2))
    p_class_1 = 1.0 / (1.0 + np.exp(-ideal_margin(x) / TEMPERATURE))
    return x, (rng.uniform(size=count) < p_class_1).astype(int)


def quadratic_features(x):
    x1, x2 = x[:, 0], x[:, 1]
    return np.stack([np.ones_like(x1), x1, x2, x1 * x1, x1 * x2, x2 * x2], axis=1)


def fit_smooth(x, y):
    """Logistic regression on quadratic features (Newton's method): a low-capacity model."""
    features = quadratic_features(x)
    w = np.zeros(features.shape[1])
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-features @ w))
        gradient = features.T @ (p - y) + RIDGE * w
        hessian = (features * (p * (1 - p))[:, None]).T @ features + RIDGE * np.eye(len(w))
        w -= np.linalg.solve(hessian, gradient)
    return w


def smooth_score(w, x):
    """Positive where the smooth model predicts class 1."""
    return quadratic_features(x) @ w


def nearest_neighbour_score(x_train, y_train, x):
    """Positive where the nearest training point is of class 1: squared distance to the
    nearest class-0 point minus that to the nearest class-1 point. Its zero line is the
    1-nearest-neighbour boundary."""
    squared_distance = (
        (x**2).sum(axis=1)[:, None] + (x_train**2).sum(axis=1)[None, :] - 2.0 * x @ x_train.T
    )
    return squared_distance[:, y_train == 0].min(axis=1) - squared_distance[:, y_train == 1].min(
        axis=1
    )


def accuracy(score, y):
    return np.mean((score > 0).astype(int) == y)


def experiment(seed):
    """Training and held-out points from one seed, both classifiers and their accuracies."""
    rng = np.random.default_rng(seed)
    x, y = draw_points(TRAIN_POINTS, rng)
    x_new, y_new = draw_points(HELD_OUT_POINTS, rng)
    w = fit_smooth(x, y)
    return {
        "x": x,
        "y": y,
        "w": w,
        "smooth": {
            "train": accuracy(smooth_score(w, x), y),
            "held_out": accuracy(smooth_score(w, x_new), y_new),
        },
        "contorted": {
            "train": accuracy(nearest_neighbour_score(x, y, x), y),
            "held_out": accuracy(nearest_neighbour_score(x, y, x_new), y_new),
        },
        "ideal": {
            "train": accuracy(ideal_margin(x), y),
            "held_out": accuracy(ideal_margin(x_new), y_new),
        },
    }


def seed_sweep(seeds=SEEDS):
    runs = [experiment(seed) for seed in seeds]
    smooth = np.array([r["smooth"]["held_out"] for r in runs])
    contorted = np.array([r["contorted"]["held_out"] for r in runs])
    return {"smooth_held_out": smooth, "contorted_held_out": contorted}


def accuracy_label(title, accuracies):
    return (
        f"{title}\ntraining points: {accuracies['train']:.0%} right"
        f"\nnew points: {accuracies['held_out']:.0%} right"
    )


def plot(run):
    fig, ax = plt.subplots(figsize=FULL)
    x, y = run["x"], run["y"]
    ticks = np.linspace(-VIEW, VIEW, GRID_POINTS)
    g1, g2 = np.meshgrid(ticks, ticks)
    grid = np.stack([g1.ravel(), g2.ravel()], axis=1)
    smooth = smooth_score(run["w"], grid).reshape(g1.shape)
    contorted = nearest_neighbour_score(x, y, grid).reshape(g1.shape)
    ax.contour(g1, g2, contorted, levels=[0.0], colors=GREEN, linewidths=3)
    ax.contour(g1, g2, smooth, levels=[0.0], colors=BLACK, linewidths=5)
    ax.scatter(
        *x[y == 0].T, marker="o", s=130, color=BLUE, edgecolor="white", linewidth=1, zorder=3
    )
    ax.scatter(
        *x[y == 1].T, marker="^", s=170, color=VERMILION, edgecolor="black", linewidth=1, zorder=3
    )
    ax.set(xlim=(-VIEW, VIEW), ylim=(-VIEW, VIEW), aspect="equal", xticks=[], yticks=[])
    ax.grid(False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    handles = [
        plt.Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=13,
            color=BLUE,
            markeredgecolor="white",
            label="class A",
        ),
        plt.Line2D(
            [],
            [],
            marker="^",
            linestyle="",
            markersize=14,
            color=VERMILION,
            markeredgecolor="black",
            label="class B",
        ),
        plt.Line2D(
            [], [], color=BLACK, linewidth=5, label=accuracy_label("smooth boundary", run["smooth"])
        ),
        plt.Line2D(
            [],
            [],
            color=GREEN,
            linewidth=3,
            label=accuracy_label("contorted boundary", run["contorted"]),
        ),
    ]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.03, 0.5), labelspacing=1.0)
    return fig


def main():
    run = experiment(SEED)
    sweep = seed_sweep()

    use_style()
    save_figure(plot(run), "overfitting")

    smooth_wins = sweep["smooth_held_out"] > sweep["contorted_held_out"]
    save_results(
        __file__,
        {
            "seed": SEED,
            "train_points": TRAIN_POINTS,
            "held_out_points": HELD_OUT_POINTS,
            "smooth": run["smooth"],
            "contorted": run["contorted"],
            "ideal": run["ideal"],  # the noisy labels' own limit: the parabola itself
            "seeds": {
                "total": len(smooth_wins),
                "smooth_better": int(smooth_wins.sum()),
                "first": SEEDS[0],
                "last": SEEDS[-1],
                "smooth_median_held_out": np.median(sweep["smooth_held_out"]),
                "contorted_median_held_out": np.median(sweep["contorted_held_out"]),
            },
        },
    )


if __name__ == "__main__":
    main()
