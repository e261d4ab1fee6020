"""L2 curve fitting revisited: slides "L2: curve fitting revisited" (E4), "With errors" (E5)
and "The L2 penalty" (E5 with weight decay).

E4 sets the weights of a 1-6-1 ReLU network by hand so that it passes through six
points of the curve: a piecewise linear interpolant, one hidden neuron per bend.
Its summed squared error is at the level of float32 rounding: a minimum.

E5 adds three neurons that draw a triangle of height 0.6 between two training
points. The loss hardly changes, so 4000 steps of gradient descent leave the spike
in place; with an L2 penalty (SGD's weight_decay) the spike shrinks, at the price
of a small error at the points.

Figures: dnn-manual-fit, dnn-manual-fit-errors, dnn-manual-fit-errors-l2.
"""

import copy

import numpy as np
import torch

from figkit import curve, dense_grid, save_results
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

POINTS = 6  # training points x = 0.2 * i, i = 0..5
POINT_STEP = 0.2
EXACT_HIDDEN = 6  # E4: one hidden neuron per bend of the interpolant (5 used, 1 spare)
SPIKE_HIDDEN = 9  # E5: the E4 neurons plus three that draw the spike
SPIKE_SLOPE = 10  # the spike rises and falls with slope 10: height 10 * 0.06 = 0.6
STEPS = 4000  # full-batch SGD steps on the six points
LEARNING_RATE = 0.004
MOMENTUM = 0.05
WEIGHT_DECAY = 0.08  # alpha: SGD adds alpha * w to each gradient (penalty alpha/2 * sum w^2)
DRAW_POINTS = 1001  # a fine grid on [0, 1] to draw the networks
Y_VIEW = (-0.05, 1.7)  # the same y-range on all three figures


def points():
    """The six training points of E4 and E5 (float64, as NumPy computes them)."""
    x = POINT_STEP * np.arange(POINTS)
    return x, curve(x)


def as_column(values):
    """A float32 column tensor: one row per example, one input or target each."""
    return torch.tensor(values, dtype=torch.float32).view(-1, 1)


def network(hidden):
    """One input, `hidden` ReLU neurons, one output."""
    net = torch.nn.Sequential(
        torch.nn.Linear(1, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
    )
    return net


def exact_fit(hidden=EXACT_HIDDEN):
    """E4: hidden neuron i-1 bends the line at x[i-1] so that it reaches the next point."""
    x, y = points()
    net = network(hidden)
    # region manual-fit
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.zero_()  # start from the constant 0
        slope_before = 0.0
        for i in range(1, len(x)):
            slope = (y[i] - y[i - 1]) / (x[i] - x[i - 1])  # the line from point i-1 to point i
            delta = slope - slope_before  # how much the slope changes at x[i-1]
            net[0].weight[i - 1, 0] = abs(delta)  # neuron i-1: |delta| * ReLU(x - x[i-1])
            net[0].bias[i - 1] = -x[i - 1] * abs(delta)
            net[2].weight[0, i - 1] = np.sign(delta)  # bend up or down
            slope_before = slope
        net[2].bias[0] = y[0]  # start at the first point
    # endregion manual-fit
    return net


def spike():
    """Where E5's spike begins, peaks and ends: inside the gap between x[2] and x[3]."""
    x, _ = points()
    # region spike-position
    begin = x[2] + (x[3] - x[2]) / 5  # a fifth of the gap after x[2]
    end = x[3] - (x[3] - x[2]) / 5  # a fifth of the gap before x[3]
    middle = (begin + end) / 2
    # endregion spike-position
    return begin, middle, end


def fit_with_spike():
    """E5: the E4 construction in the first neurons, a triangle from the last three."""
    net = exact_fit(SPIKE_HIDDEN)
    begin, middle, end = spike()
    # region spike-neurons
    with torch.no_grad():
        net[0].weight[-3, 0] = SPIKE_SLOPE  # from `begin`: up with slope SPIKE_SLOPE
        net[0].bias[-3] = -begin * SPIKE_SLOPE
        net[2].weight[0, -3] = 1
        net[0].weight[-2, 0] = 2 * SPIKE_SLOPE  # from `middle`: down with slope SPIKE_SLOPE
        net[0].bias[-2] = -middle * 2 * SPIKE_SLOPE
        net[2].weight[0, -2] = -1
        net[0].weight[-1, 0] = SPIKE_SLOPE  # from `end`: flat again
        net[0].bias[-1] = -end * SPIKE_SLOPE
        net[2].weight[0, -1] = 1
    # endregion spike-neurons
    return net


def loss_on_points(net):
    """Summed squared error of `net` on the six points, in float32."""
    x, y = points()
    with torch.no_grad():
        return torch.nn.MSELoss(reduction="sum")(net(as_column(x)), as_column(y)).item()


def train(net, weight_decay=0.0):
    """A trained copy of `net`: full-batch SGD on the six points."""
    net = copy.deepcopy(net)
    x, y = (as_column(v) for v in points())
    loss_fn = torch.nn.MSELoss(reduction="sum")  # summed squared error
    # region sgd-optimizer
    optimizer = torch.optim.SGD(
        net.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM, weight_decay=weight_decay
    )
    # endregion sgd-optimizer
    # region training-loop
    for _ in range(STEPS):
        optimizer.zero_grad()  # forget the last step's gradients
        loss = loss_fn(net(x), y)  # forward pass and loss
        loss.backward()  # backward pass: every parameter's gradient
        optimizer.step()  # update: a small step against the gradient
    # endregion training-loop
    return net


def output_at(net, x):
    with torch.no_grad():
        return net(as_column(np.atleast_1d(x))).flatten().numpy().astype(np.float64)


def spike_height(net):
    """The network's output at the spike's middle minus the straight line between the points."""
    x, y = points()
    _, middle, _ = spike()
    return output_at(net, middle)[0] - np.interp(middle, x, y)


def printed_parameters(net):
    """The parameters as PyTorch prints them, one line per tensor."""
    return "\n".join(f"{name}: {p.detach().flatten()}" for name, p in net.named_parameters())


def summary(net, spike=True):
    """What the slides quote about one network."""
    grid = dense_grid()  # as E3 measures its RMSE against the clean curve
    error = output_at(net, grid) - curve(grid)
    numbers = {
        "loss": loss_on_points(net),
        "rmse_dense_grid": np.sqrt(np.mean(error**2)),
        "max_error_dense_grid": np.abs(error).max(),
        "printed_parameters": printed_parameters(net),
    }
    if spike:
        numbers["spike_height"] = spike_height(net)
    return numbers


def plot_network(net, label, color, compare=None, mark_spike=False, legend="upper right"):
    """Curve, points and `net` on a fine grid (and optionally a second network, dashed)."""
    fig, ax = plt.subplots(figsize=FULL)
    xs = np.linspace(0.0, 1.0, DRAW_POINTS)
    x, y = points()
    ax.plot(xs, curve(xs), color=CURVE_COLOR, linewidth=2.5, label="curve")
    if compare is not None:
        compare_net, compare_label = compare
        ax.plot(
            xs,
            output_at(compare_net, xs),
            color=OVERFIT_COLOR,
            linewidth=2.5,
            linestyle="--",
            label=compare_label,
        )
    ax.plot(xs, output_at(net, xs), color=color, label=label)
    ax.plot(x, y, "o", color=SAMPLE_COLOR, markersize=14, zorder=3, label="training points")
    if mark_spike:
        _, middle, _ = spike()
        top = output_at(net, middle)[0]
        ax.annotate(
            f"spike: {spike_height(net):.2f} above the line",
            xy=(middle, top),
            xytext=(middle + 0.05, top),
            va="center",
            color=color,
            arrowprops={"arrowstyle": "->", "color": color, "lw": 2},
        )
    ax.set(xlabel="x", ylabel="y", ylim=Y_VIEW)
    ax.legend(loc=legend)
    return fig


def main():
    exact = exact_fit()
    spiked = fit_with_spike()
    trained = train(spiked)
    trained_l2 = train(spiked, weight_decay=WEIGHT_DECAY)

    use_style()
    save_figure(
        plot_network(exact, f"network, {EXACT_HIDDEN} neurons", FIT_COLOR), "dnn-manual-fit"
    )
    save_figure(
        plot_network(
            trained,
            f"after {STEPS} SGD steps",
            OVERFIT_COLOR,
            mark_spike=True,
            legend="lower center",
        ),
        "dnn-manual-fit-errors",
    )
    save_figure(
        plot_network(trained_l2, "SGD with L2", FIT_COLOR, compare=(trained, "SGD without L2")),
        "dnn-manual-fit-errors-l2",
    )

    begin, middle, end = spike()
    save_results(
        __file__,
        {
            "points": POINTS,
            "e4": {
                **summary(exact, spike=False),
                "hidden_neurons": EXACT_HIDDEN,
                "parameters": sum(p.numel() for p in exact.parameters()),
            },
            "e5": {
                "hidden_neurons": SPIKE_HIDDEN,
                "spike_neurons": SPIKE_HIDDEN - EXACT_HIDDEN,
                "spike": {"begin": begin, "middle": middle, "end": end, "slope": SPIKE_SLOPE},
                "steps": STEPS,
                "learning_rate": LEARNING_RATE,
                "momentum": MOMENTUM,
                "weight_decay": WEIGHT_DECAY,
                "before": summary(spiked),
                "after": summary(trained),
                "after_l2": summary(trained_l2),
            },
        },
    )


if __name__ == "__main__":
    main()
