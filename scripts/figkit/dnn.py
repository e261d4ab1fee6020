"""E3's network and its training, shared by the slides "Really?", "Minima details",
"L2 penalty: motivation" and the weight histogram.

A 1-1000-1000-1 ReLU network, trained by full-batch SGD on the 21 noisy samples of
E2. One training takes seconds, so `train()` is memoised on disk (figkit.cache):
every script that needs a given (initialisation seed, noise seed, weight decay)
gets the same trained network, computed once per build.

Each training also records what "Minima details" (X1) shows, cheaply: the loss
at every step and, at a few dozen log-spaced steps, the fit on the dense grid and
which hidden ReLUs are on for each training sample.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools

import numpy as np
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from figkit import NOISE_SEED, NOISE_STD, SAMPLE_COUNT, dense_grid, noisy_samples, report_progress
from figkit.cache import memo

STEPS = 4000  # full-batch SGD steps
LEARNING_RATE = 0.004
MOMENTUM = 0.05
INIT_SEED = 0  # torch.manual_seed(0): the initialisation of the talk's network
WEIGHT_DECAY = 0.2  # alpha of "L2 penalty: motivation"; see `scripts/dnn_outrange.py --alpha-scan`
SEEDS = range(5)  # the seed sweep: (initialisation, noise) seed pairs (s, s); s = 0 is the main run
NOISE_LOSS = SAMPLE_COUNT * NOISE_STD**2  # the clean curve's expected loss on noisy samples
STALLED_LOSS = 10 * NOISE_LOSS  # a training that ends above this is stuck far from any fit
FIT_STEPS = (0, 10, 100, 1000, STEPS)  # the steps "Minima details" draws
RECORD_POINTS = 30  # about this many log-spaced steps record the fit and the ReLU patterns
PROGRESS_EVERY = 100  # steps between progress reports to the build


def keep_freed_memory() -> None:
    """Let freed memory stay in the process rather than go back to the OS (glibc only).

    Each training step allocates and frees the 1000x1000 weight gradient (4 MB) and
    other large temporaries. Depending on the heap's history, glibc gives such blocks
    back to the OS on free, and the next step page-faults them in again: measured
    here, up to 1,800 page faults a step, and a training that took 22 s instead of
    10 s. Serving blocks up to 64 MB from the heap and not trimming it below 128 MB
    of free space removes that. The numbers computed are the same.
    """
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return
    libc = ctypes.CDLL(libc_name)
    if not hasattr(libc, "mallopt"):  # not glibc: nothing to tune
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's <malloc.h>
    libc.mallopt(m_mmap_threshold, 64 << 20)
    libc.mallopt(m_trim_threshold, 128 << 20)


def network(seed: int = INIT_SEED) -> torch.nn.Sequential:
    """The E3 network, initialised as `torch.manual_seed(seed)` would, without touching the
    global generator (fork_rng restores it afterwards)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        # region network
        net = torch.nn.Sequential(
            torch.nn.Linear(1, 1000),
            torch.nn.ReLU(),
            torch.nn.Linear(1000, 1000),
            torch.nn.ReLU(),
            torch.nn.Linear(1000, 1),
        )
        # endregion network
    return net


def network_from(state_dict: dict) -> torch.nn.Sequential:
    """A network with the given (trained) parameters."""
    net = network()
    net.load_state_dict(state_dict)
    return net


def as_column(values) -> torch.Tensor:
    """A float32 column: one row per example, one input or target each."""
    return torch.as_tensor(np.asarray(values), dtype=torch.float32).view(-1, 1)


def output_at(net: torch.nn.Module, x) -> np.ndarray:
    """The network's outputs at the inputs x, as a float64 NumPy array."""
    with torch.no_grad():
        return net(as_column(x)).flatten().numpy().astype(np.float64)


def record_steps(steps: int = STEPS) -> list[int]:
    """Log-spaced steps 0, 1, 2, 3, 4, 6, ... steps, including every step of FIT_STEPS."""
    spaced = np.rint(np.logspace(0, np.log10(steps), RECORD_POINTS)).astype(int)
    return sorted({0, *spaced.tolist(), *(s for s in FIT_STEPS if s <= steps), steps})


def snapshot(net: torch.nn.Sequential, x: torch.Tensor, grid: torch.Tensor) -> dict:
    """The fit on the dense grid and the on/off pattern of every hidden ReLU on the samples."""
    with torch.no_grad():
        hidden1 = net[1](net[0](x))
        hidden2 = net[3](net[2](hidden1))
        return {
            "fit": net(grid).flatten().numpy().copy(),
            "on1": (hidden1 > 0).numpy().T.copy(),  # [neuron, sample]
            "on2": (hidden2 > 0).numpy().T.copy(),
        }


def fit(
    seed_init: int = INIT_SEED,
    seed_noise: int = NOISE_SEED,
    weight_decay: float = 0.0,
    steps: int = STEPS,
) -> dict:
    """Train the E3 network (not memoised: `train` is the memoised one).

    Returns the trained parameters (`state_dict`), `losses[k]`: the loss after k updates
    (k = 0..steps), and `recorded`: the steps of `record_steps(steps)` with, stacked,
    the fit on the dense grid (`fit`) and the hidden ReLUs' on/off patterns over the
    samples (`on1`, `on2`: [step, neuron, sample]) after that many updates.
    """
    keep_freed_memory()
    net = network(seed_init)
    x, y = (as_column(v) for v in noisy_samples(seed_noise))
    grid = as_column(dense_grid())
    recording = set(record_steps(steps))
    snapshots = []
    losses = torch.empty(steps + 1)
    done = itertools.count(1)
    hook = register_optimizer_step_post_hook(
        lambda *_: (n := next(done)) % PROGRESS_EVERY or report_progress(n, steps)
    )
    # region training
    loss_fn = torch.nn.MSELoss(reduction="sum")  # summed squared error
    optimizer = torch.optim.SGD(
        net.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM, weight_decay=weight_decay
    )
    for step in range(steps):
        if step in recording:
            snapshots.append(snapshot(net, x, grid))  # for "Minima details"; no gradients
        optimizer.zero_grad()  # forget the last step's gradients
        loss = loss_fn(net(x), y)  # forward pass and loss on all the samples
        loss.backward()  # backward pass: every parameter's gradient
        optimizer.step()  # update: a small step against the gradient
        losses[step] = loss.detach()
    # endregion training
    hook.remove()
    with torch.no_grad():
        losses[steps] = loss_fn(net(x), y)
    snapshots.append(snapshot(net, x, grid))
    return {
        "state_dict": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "losses": losses.numpy(),
        "recorded": {
            "steps": np.array(sorted(recording)),
            **{key: np.stack([s[key] for s in snapshots]) for key in snapshots[0]},
        },
    }


def train(
    seed_init: int = INIT_SEED,
    seed_noise: int = NOISE_SEED,
    weight_decay: float = 0.0,
    steps: int = STEPS,
) -> dict:
    """`fit(...)`, computed once per build and shared by every script that asks (see `fit`)."""
    params = {
        "seed_init": seed_init,
        "seed_noise": seed_noise,
        "weight_decay": float(weight_decay),
        "steps": steps,
    }
    return memo("e3", params, lambda: fit(seed_init, seed_noise, weight_decay, steps))


def build_jobs() -> list[dict]:
    """The trainings a build runs first, each in a process of its own, before any script
    that imports this module (talkbuild.figures asks): every network of the seed sweeps,
    with and without weight decay. Each job calls `train(**kwargs)`, which memoises, so the
    scripts then load what they need."""
    return [
        {
            "name": f"e3 seed {seed}" + (f" alpha {alpha}" if alpha else ""),
            "function": "train",
            "kwargs": {"seed_init": seed, "seed_noise": seed, "weight_decay": alpha},
        }
        for alpha in (0.0, WEIGHT_DECAY)
        for seed in SEEDS
    ]


def sweep(weight_decay: float = 0.0, seeds=SEEDS) -> list[dict]:
    """`train` for every seed pair (s, s) of the sweep."""
    return [train(seed, seed, weight_decay) for seed in seeds]


def stalled(run: dict) -> bool:
    """A training that ended far above the noise level: stuck, not fitting the samples."""
    return bool(run["losses"][-1] > STALLED_LOSS)
