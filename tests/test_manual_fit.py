"""E4 and E5 (scripts/manual_fit.py): a hand-set 1-6-1 fit, a spike, SGD with and without L2."""

import manual_fit
import pytest
import torch


@pytest.fixture(scope="module")
def exact():
    return manual_fit.exact_fit()


@pytest.fixture(scope="module")
def spiked():
    return manual_fit.fit_with_spike()


@pytest.fixture(scope="module")
def trained(spiked):
    return manual_fit.train(spiked)


@pytest.fixture(scope="module")
def trained_l2(spiked):
    return manual_fit.train(spiked, weight_decay=0.08)


def test_e4_passes_through_the_six_points(exact):
    x, y = manual_fit.points()
    assert manual_fit.output_at(exact, x) == pytest.approx(y, abs=1e-6)


def test_e4_loss_is_at_float32_rounding_level(exact):
    assert manual_fit.loss_on_points(exact) < 1e-12  # the talk shows ~1.1e-13


def test_e5_spike_is_0_6_high_between_two_samples(spiked):
    begin, middle, end = manual_fit.spike()
    x, _ = manual_fit.points()
    assert x[2] < begin < middle < end < x[3]
    assert manual_fit.spike_height(spiked) == pytest.approx(0.6, abs=1e-5)


def test_e5_spike_leaves_the_loss_near_zero(spiked):
    assert 1e-13 < manual_fit.loss_on_points(spiked) < 1e-12  # the talk shows ~2.8e-13


def test_e5_sgd_keeps_the_loss_near_zero(trained):
    assert manual_fit.loss_on_points(trained) < 1e-12  # the talk shows ~3.6e-14


def test_e5_sgd_does_not_remove_the_spike(trained):
    assert manual_fit.spike_height(trained) == pytest.approx(0.6, abs=0.01)


def test_e5_weight_decay_ends_at_loss_0_0213(trained_l2):
    assert manual_fit.loss_on_points(trained_l2) == pytest.approx(0.0213, abs=0.001)


def test_e5_weight_decay_shrinks_the_spike(trained_l2):
    assert manual_fit.spike_height(trained_l2) < 0.6 / 4


def test_weight_decay_is_the_gradient_of_half_alpha_times_squared_weights():
    """The slide's claim: SGD's weight_decay=alpha is the penalty alpha/2 * sum w^2."""
    alpha = 0.08
    x, y = (manual_fit.as_column(v) for v in manual_fit.points())
    nets = [manual_fit.fit_with_spike() for _ in range(2)]
    loss_fn = torch.nn.MSELoss(reduction="sum")

    decayed = torch.optim.SGD(nets[0].parameters(), lr=0.004, weight_decay=alpha)
    loss_fn(nets[0](x), y).backward()
    decayed.step()

    penalised = torch.optim.SGD(nets[1].parameters(), lr=0.004)
    penalty = alpha / 2 * sum((p**2).sum() for p in nets[1].parameters())
    (loss_fn(nets[1](x), y) + penalty).backward()
    penalised.step()

    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        torch.testing.assert_close(a, b)
