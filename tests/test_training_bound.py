"""The training lower-bound benchmark (benchmarks/training_bound.py): its FLOP count."""

import importlib.util

from conftest import ROOT


def load_benchmark():
    path = ROOT / "benchmarks" / "training_bound.py"
    spec = importlib.util.spec_from_file_location("training_bound", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_step_counts_the_matmuls_of_forward_and_backward_for_a_batch_of_21():
    # Three products for the 1000 x 1000 layer (forward, weight and input gradients), two
    # for each 1000-wide layer at the ends (the input x needs no gradient): 2*m*n*k each.
    big, small = 2 * 21 * 1000 * 1000, 2 * 21 * 1000
    assert load_benchmark().matmul_flops() == 3 * big + 2 * small + 3 * small


def test_parallel_timing_runs_trainings_side_by_side_and_reports_each_rate():
    rates = load_benchmark().together([1, 1], steps=20)
    assert len(rates) == 2 and all(rate > 0 for rate in rates)
