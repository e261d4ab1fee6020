"""Neural network primer: the ReLU slide and toy examples 1 (E6a) and 2 (E6b).

E6a is one neuron with two inputs followed by a ReLU: f(x1, x2) = ReLU(-1 + 0.5 x1 + 0.5 x2).
E6b is a 1-2-1 network whose four weights and three biases are set by hand:
g(x) = 0.25 + 0.75 ReLU(1 + x) - 0.75 ReLU(-1 + 2x).
Both are run by PyTorch; the slides quote what PyTorch printed.

Figures: relu, toy-example-2.
"""

import contextlib
import io
import sys

import torch

from figkit import save_results
from figkit.plot import (
    BLUE,
    CURVE_COLOR,
    GREEN,
    GREY,
    HALF,
    PURPLE,
    plt,
    save_figure,
    use_style,
)

RELU_RANGE = (-2.0, 2.0)  # x-range of the ReLU figure
TOY1_INPUTS = [[1.0, 8.0], [0.0, 0.0], [4.0, -2.0], [3.0, 3.0]]  # the slide's (x1, x2) pairs
TOY2_INPUTS = [-1.0 + 0.25 * i for i in range(9)]  # x = -1, -0.75, ..., 1
TOY2_RANGE = (-1.5, 1.5)  # x-range of the toy-example-2 figure


def toy_example_1():
    """E6a: Linear(2, 1) + ReLU with bias -1 and weights 0.5, 0.5."""
    # region toy-example-1-weights
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 1),  # one neuron: b + w1 * x1 + w2 * x2
        torch.nn.ReLU(),
    )
    with torch.no_grad():  # setting parameters by hand, not learning
        net[0].bias[0] = -1
        net[0].weight[0, 0] = 0.5  # weight[output, input]
        net[0].weight[0, 1] = 0.5
    # endregion toy-example-1-weights
    return net


def toy_example_2():
    """E6b: Linear(1, 2) ReLU Linear(2, 1) with hand-set weights."""
    # region toy-example-2-weights
    net = torch.nn.Sequential(
        torch.nn.Linear(1, 2),  # two neurons on the one input
        torch.nn.ReLU(),
        torch.nn.Linear(2, 1),  # one neuron on the two hidden outputs
    )
    with torch.no_grad():
        net[0].bias[0] = 1  # hidden 1: ReLU(1 + x)
        net[0].weight[0, 0] = 1
        net[0].bias[1] = -1  # hidden 2: ReLU(-1 + 2x)
        net[0].weight[1, 0] = 2
        net[2].bias[0] = 0.25  # g(x) = 0.25 + 0.75 hidden 1 - 0.75 hidden 2
        net[2].weight[0, 0] = 0.75
        net[2].weight[0, 1] = -0.75
    # endregion toy-example-2-weights
    return net


def formula_tex(net) -> str:
    """g(x) in TeX, written from the network's own weights: the slide shows it."""
    w1, b1 = net[0].weight[:, 0].tolist(), net[0].bias.tolist()
    w2, b2 = net[2].weight[0].tolist(), net[2].bias[0].item()
    terms = [f"{b2:g}"]
    for a, w, b in zip(w2, w1, b1):
        slope = "x" if abs(w) == 1 else f"{abs(w):g}x"
        inner = f"{b:g} {'+' if w >= 0 else '-'} {slope}"
        terms.append(f"{'+' if a >= 0 else '-'} {abs(a):g}\\,\\mathrm{{ReLU}}({inner})")
    return "g(x) = " + " ".join(terms)


def run_toy_example_1(net):
    """The slide's four inputs as one batch; prints the output tensor."""
    # region toy-example-1-forward
    inputs = torch.tensor(TOY1_INPUTS)  # one row per example: (x1, x2)
    with torch.no_grad():
        outputs = net(inputs)  # one row per example: f(x1, x2)
    print(outputs)
    # endregion toy-example-1-forward
    return outputs


def run_toy_example_2(net):
    """Prints g(x) for x = -1, -0.75, ..., 1, one line per input."""
    with torch.no_grad():
        for x in TOY2_INPUTS:
            print(f"g({x}) = {net(torch.tensor([x]))}")


def printed(run, *args):
    """What `run(*args)` printed (and still print it), with what it returned."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        value = run(*args)
    sys.stdout.write(buffer.getvalue())
    return buffer.getvalue().rstrip("\n"), value


def g_values(net, x):
    """The network's output at the points x (a list), as plain floats."""
    with torch.no_grad():
        return net(torch.tensor(x).view(-1, 1)).flatten().tolist()


def plot_relu():
    fig, ax = plt.subplots(figsize=(6.0, 5.0))  # drawn 300 px high under three bullets
    x = torch.linspace(*RELU_RANGE, 401)
    ax.plot(x, torch.relu(x), color=BLUE)
    ax.set(
        xlabel="x",
        ylabel="ReLU(x) = max(0, x)",
        xlim=RELU_RANGE,
        ylim=(-0.5, 2.1),
        yticks=[0, 1, 2],
        aspect="equal",
    )
    ax.axhline(0, color=GREY, linewidth=1.5, zorder=0)
    ax.axvline(0, color=GREY, linewidth=1.5, zorder=0)
    return fig


def plot_toy_example_2(net):
    fig, ax = plt.subplots(figsize=HALF)  # beside the printout: half the slide
    x = torch.linspace(*TOY2_RANGE, 601)
    with torch.no_grad():
        hidden = net[1](net[0](x.view(-1, 1)))  # the two ReLU outputs
        g = net(x.view(-1, 1)).flatten()
    w = net[2].weight.detach()[0]
    ax.plot(
        x, w[0] * hidden[:, 0], color=GREEN, linestyle="--", linewidth=3, label="0.75 ReLU(1 + x)"
    )
    ax.plot(
        x,
        w[1] * hidden[:, 1],
        color=PURPLE,
        linestyle=":",
        linewidth=3,
        label="−0.75 ReLU(−1 + 2x)",
    )
    ax.plot(x, g, color=CURVE_COLOR, label="g(x)")
    ax.plot(
        TOY2_INPUTS, g_values(net, TOY2_INPUTS), "o", color=BLUE, zorder=3, label="printed points"
    )
    ax.set(xlabel="x", xlim=TOY2_RANGE, ylim=(-1.6, 1.65), yticks=[-1, -0.5, 0, 0.5, 1, 1.5])
    ax.legend(loc="lower left")
    return fig


def main():
    net1 = toy_example_1()
    printed1, outputs1 = printed(run_toy_example_1, net1)
    net2 = toy_example_2()
    printed2, _ = printed(run_toy_example_2, net2)
    g = g_values(net2, TOY2_INPUTS)

    use_style()
    save_figure(plot_relu(), "relu")
    save_figure(plot_toy_example_2(net2), "toy-example-2")

    outputs1 = outputs1.flatten().tolist()
    table = "\n".join(
        ["| x | g(x) |", "|---:|---:|"] + [f"| {x:g} | {y:g} |" for x, y in zip(TOY2_INPUTS, g)]
    )
    save_results(
        __file__,
        {
            "toy1": {
                "inputs": TOY1_INPUTS,
                "outputs": outputs1,
                "printed": printed1,
                "lines": "\n".join(
                    f"f({a:g}, {b:g}) = {y:g}" for (a, b), y in zip(TOY1_INPUTS, outputs1)
                ),
            },
            "toy2": {
                "inputs": TOY2_INPUTS,
                "outputs": g,
                "printed": printed2,
                "table": table,
                "formula": formula_tex(net2),
            },
        },
    )


if __name__ == "__main__":
    main()
