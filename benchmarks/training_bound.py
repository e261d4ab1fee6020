"""How close E3's training loop comes to what this machine's arithmetic allows.

Usage: python benchmarks/training_bound.py [--repeats N]

One E3 step (scripts/figkit/dnn.py) is three matrix products forward and their
gradients backward, for a batch of 21 samples through 1 -> 1000 -> 1000 -> 1,
plus the SGD update. The lower bound of a 4000-step training is the time of
exactly those matrix products, measured here on one thread, plus the measured
time of the optimiser's update; everything else (autograd bookkeeping, ReLU,
the loss, Python) is overhead. The script times the real training, `dnn.fit`
(recording included), and reports the ratio.

Times are CPU seconds of this process on one torch thread (time.process_time: on an
idle machine the same as wall time; on a busy one it leaves out the waits for a core).

Prints one JSON object and writes it to build/bench/training_bound.json. Keys:
  threads               torch threads used (1)
  repeats               timings repeated (interleaved); every time below is the median
  steps                 SGD steps of one E3 training (4000)
  flops_per_step        matmul FLOPs of one forward + backward step (2*m*n*k per product;
                        the first layer's input gradient is not computed)
  flops_total           flops_per_step * steps
  matmul_seconds_per_step   measured time of those matmuls (same shapes and layouts)
  matmul_gflops         flops_per_step / matmul_seconds_per_step / 1e9: this machine's
                        float32 throughput for these shapes
  optimizer_seconds_per_step  measured SGD(momentum) step over the network's parameters
  bound_seconds         steps * (matmul_seconds_per_step + optimizer_seconds_per_step)
  loop_seconds          measured E3 training, dnn.fit() with all 4000 steps (not scaled)
  loop_seconds_per_step loop_seconds / steps
  ratio                 loop_seconds / bound_seconds (target: <= 1.5)
  target_ratio          1.5
  meets_target          ratio <= target_ratio
  cores                 the cores this process may use
  parallel              what the cores give E3's steps (each timing the median of `repeats`):
    steps_per_second      one training on one thread
    two_processes_speedup two trainings at once, one thread each: their summed steps per
                          second over one training's
    two_threads_speedup   one training on two threads over one training on one thread
                        Neither reaches 2 on this machine: two busy cores slow each
                        other down. Left out on a machine with one core.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from figkit import dnn  # noqa: E402

OUTPUT = ROOT / "build" / "bench" / "training_bound.json"
BATCH = 21  # the 21 noisy samples, one full batch
WIDTHS = (1, 1000, 1000, 1)  # input, hidden, hidden, output
TARGET_RATIO = 1.5
TIMED_CALLS = 200  # matmul and optimiser steps per timing
PARALLEL_STEPS = 400  # E3 steps per training process of the parallel timing


def matmul_flops() -> int:
    """FLOPs of the matrix products of one training step: forward, weight gradients, and the
    input gradients of every layer but the first (x needs no gradient)."""
    flops = 0
    for layer, (n_in, n_out) in enumerate(zip(WIDTHS, WIDTHS[1:])):
        flops += 2 * BATCH * n_in * n_out  # forward: h @ W.T
        flops += 2 * BATCH * n_in * n_out  # weight gradient: g.T @ h
        if layer > 0:
            flops += 2 * BATCH * n_in * n_out  # input gradient: g @ W
    return flops


def seconds_per_call(run, loops: int) -> float:
    """CPU time per call of `run`, over `loops` calls. CPU time rather than wall time: on
    one thread they agree on an idle machine, and CPU time does not count the waits
    for a core when other jobs share the machine."""
    start = time.process_time()
    for _ in range(loops):
        run()
    return (time.process_time() - start) / loops


def matmul_step():
    """A function doing the matmuls of one step, with nn.Linear's shapes and memory layouts."""
    shapes = list(zip(WIDTHS, WIDTHS[1:]))
    weights = [torch.randn(n_out, n_in) for n_in, n_out in shapes]
    biases = [torch.randn(n_out) for _, n_out in shapes]
    inputs = [torch.randn(BATCH, n_in) for n_in, _ in shapes]
    grads = [torch.randn(BATCH, n_out) for _, n_out in shapes]

    def step():
        for layer, (w, b, h, g) in enumerate(zip(weights, biases, inputs, grads)):
            torch.addmm(b, h, w.t())  # forward
            g.t().mm(h)  # weight gradient
            if layer > 0:
                g.mm(w)  # input gradient

    return step


def optimizer_step():
    """One SGD step with E3's settings over the network's parameters (gradients set)."""
    net = dnn.network()
    for p in net.parameters():
        p.grad = torch.randn_like(p)
    optimizer = torch.optim.SGD(net.parameters(), lr=dnn.LEARNING_RATE, momentum=dnn.MOMENTUM)
    return optimizer.step


def measure(repeats: int) -> dict:
    """Every timing `repeats` times, interleaved (matmuls, optimiser, whole training), so
    that a change in the machine's load affects the bound and the loop alike."""
    torch.set_num_threads(1)
    dnn.keep_freed_memory()  # as dnn.fit does: the bound is arithmetic, not page faults
    flops = matmul_flops()
    matmuls, update = matmul_step(), optimizer_step()
    matmuls(), update()  # warm up: allocations, momentum buffers
    matmul_times, optimizer_times, loop_times = [], [], []
    for _ in range(repeats):
        matmul_times.append(seconds_per_call(matmuls, TIMED_CALLS))
        optimizer_times.append(seconds_per_call(update, TIMED_CALLS))
        loop_times.append(seconds_per_call(dnn.fit, 1))  # one whole E3 training, not memoised
    matmul = statistics.median(matmul_times)
    optimizer = statistics.median(optimizer_times)
    loop = statistics.median(loop_times)
    bound = dnn.STEPS * (matmul + optimizer)
    return {
        "threads": torch.get_num_threads(),
        "repeats": repeats,
        "steps": dnn.STEPS,
        "flops_per_step": flops,
        "flops_total": flops * dnn.STEPS,
        "matmul_seconds_per_step": matmul,
        "matmul_gflops": flops / matmul / 1e9,
        "optimizer_seconds_per_step": optimizer,
        "bound_seconds": bound,
        "loop_seconds": loop,
        "loop_seconds_per_step": loop / dnn.STEPS,
        "ratio": loop / bound,
        "target_ratio": TARGET_RATIO,
        "meets_target": loop / bound <= TARGET_RATIO,
    }


def steps_worker(threads: int, steps: int) -> None:
    """Child process of `parallel`: an E3 training (`dnn.fit`) of `steps` steps on `threads`
    threads, once the parent says go.

    Prints "ready" after a short warm-up training, waits for a line on stdin, then
    trains and prints the wall seconds the training took."""
    torch.set_num_threads(threads)
    dnn.fit(steps=10)  # warm up: imports, allocations
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    dnn.fit(steps=steps)
    print(time.perf_counter() - start, flush=True)


def together(threads: list[int], steps: int) -> list[float]:
    """Start one training process per entry of `threads`, let them all go at once, and
    return each one's steps per second (wall time: they run side by side)."""
    with ExitStack() as stack:
        children = [
            stack.enter_context(
                subprocess.Popen(
                    [sys.executable, __file__, "--steps-worker", str(n), str(steps)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    env={**os.environ, "OMP_NUM_THREADS": str(n)},
                )
            )
            for n in threads
        ]
        for child in children:
            if child.stdout.readline().strip() != "ready":
                raise RuntimeError("a timing process failed before it was ready")
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        rates = [steps / float(child.stdout.readline()) for child in children]
    if any(child.returncode for child in children):
        raise RuntimeError("a timing process failed")
    return rates


def parallel(repeats: int, steps: int = PARALLEL_STEPS) -> dict:
    """How much faster E3's steps go on two cores: as two trainings side by side (what the
    figure pipeline does) and as one training on two threads (torch's default)."""
    alone, side_by_side, two_threads = [], [], []
    for _ in range(repeats):  # interleaved, like `measure`
        alone.append(together([1], steps)[0])
        side_by_side.append(sum(together([1, 1], steps)))
        two_threads.append(together([2], steps)[0])
    one = statistics.median(alone)
    return {
        "steps_per_second": one,
        "two_processes_speedup": statistics.median(side_by_side) / one,
        "two_threads_speedup": statistics.median(two_threads) / one,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=3, help="timings repeated, the median reported (default 3)"
    )
    parser.add_argument(
        "--steps-worker", nargs=2, type=int, metavar=("THREADS", "STEPS"), help=argparse.SUPPRESS
    )  # a child process of the parallel timing
    args = parser.parse_args(argv)
    if args.steps_worker:
        steps_worker(*args.steps_worker)
        return 0
    result = measure(args.repeats)
    result["cores"] = len(os.sched_getaffinity(0))
    if result["cores"] >= 2:
        result["parallel"] = parallel(args.repeats)
    text = json.dumps(result, indent=2, sort_keys=True)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
