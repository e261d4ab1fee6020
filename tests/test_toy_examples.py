"""Toy examples 1 and 2 (E6a, E6b in scripts/toy_examples.py): hand-set networks."""

import pytest
import torch
import toy_examples


def relu(v):
    return max(0.0, v)


@pytest.fixture(scope="module")
def toy1_printed_and_outputs():
    return toy_examples.printed(toy_examples.run_toy_example_1, toy_examples.toy_example_1())


def test_toy1_outputs_are_as_in_the_talk(toy1_printed_and_outputs):
    _, outputs = toy1_printed_and_outputs
    # f(1, 8) = 3.5, f(0, 0) = 0, f(4, -2) = 0, f(3, 3) = 2
    assert outputs.flatten().tolist() == [3.5, 0.0, 0.0, 2.0]


def test_toy1_prints_pytorchs_own_tensor(toy1_printed_and_outputs):
    printed, _ = toy1_printed_and_outputs
    assert printed == str(torch.tensor([[3.5], [0.0], [0.0], [2.0]]))


def test_toy2_is_the_formula_of_the_talk():
    net = toy_examples.toy_example_2()
    x = toy_examples.TOY2_INPUTS
    expected = [0.25 + 0.75 * relu(1 + v) - 0.75 * relu(-1 + 2 * v) for v in x]
    assert toy_examples.g_values(net, x) == expected


def test_toy2_values_at_the_nine_inputs():
    net = toy_examples.toy_example_2()
    assert toy_examples.TOY2_INPUTS == [-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0]
    assert toy_examples.g_values(net, toy_examples.TOY2_INPUTS) == [
        0.25,
        0.4375,
        0.625,
        0.8125,
        1.0,
        1.1875,
        1.375,
        1.1875,
        1.0,
    ]


def test_toy2_prints_one_line_per_input():
    printed, _ = toy_examples.printed(toy_examples.run_toy_example_2, toy_examples.toy_example_2())
    lines = printed.splitlines()
    assert len(lines) == 9
    assert lines[0] == f"g(-1.0) = {torch.tensor([0.25])}"
