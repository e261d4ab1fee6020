"""E3's network and training (scripts/figkit/dnn.py): cheap checks of the shared module."""

import least_squares
import numpy as np
import pytest
import torch

from figkit import NOISE_SEED, dense_grid, dnn, noisy_samples


@pytest.fixture(scope="module")
def short_run():
    return dnn.fit(steps=10)


def test_network_is_1_1000_1000_1_with_relus_between_the_layers():
    net = dnn.network()
    kinds = [type(layer).__name__ for layer in net]
    assert kinds == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [(layer.in_features, layer.out_features) for layer in net[::2]] == [
        (1, 1000),
        (1000, 1000),
        (1000, 1),
    ]
    assert sum(p.numel() for p in net.parameters()) == 1_004_001


def test_initialisation_is_what_torch_manual_seed_0_gives():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        expected = torch.nn.Sequential(
            torch.nn.Linear(1, 1000),
            torch.nn.ReLU(),
            torch.nn.Linear(1000, 1000),
            torch.nn.ReLU(),
            torch.nn.Linear(1000, 1),
        )
    for name, value in dnn.network(0).state_dict().items():
        assert torch.equal(value, expected.state_dict()[name]), name


def test_building_the_network_leaves_the_global_generator_alone():
    before = torch.random.get_rng_state()
    dnn.network(3)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_training_uses_the_noisy_samples_of_e2():
    x, y = noisy_samples(NOISE_SEED)
    e2 = least_squares.with_noise(NOISE_SEED)
    assert np.array_equal(x, e2["x"]) and np.array_equal(y, e2["y"])


def test_a_short_training_is_deterministic(short_run):
    again = dnn.fit(steps=10)
    assert np.array_equal(short_run["losses"], again["losses"])
    for name, value in short_run["state_dict"].items():
        assert torch.equal(value, again["state_dict"][name]), name


def test_losses_are_recorded_before_every_update_and_after_the_last(short_run):
    x, y = (dnn.as_column(v) for v in noisy_samples(NOISE_SEED))
    loss_fn = torch.nn.MSELoss(reduction="sum")
    with torch.no_grad():
        first = loss_fn(dnn.network()(x), y).item()
        last = loss_fn(dnn.network_from(short_run["state_dict"])(x), y).item()
    assert len(short_run["losses"]) == 11
    assert short_run["losses"][0] == pytest.approx(first, rel=1e-6)
    assert short_run["losses"][-1] == pytest.approx(last, rel=1e-6)


def test_recorded_fit_and_relu_patterns_belong_to_the_recorded_step(short_run):
    recorded = short_run["recorded"]
    assert list(recorded["steps"]) == dnn.record_steps(10)
    net = dnn.network_from(short_run["state_dict"])
    np.testing.assert_allclose(recorded["fit"][-1], dnn.output_at(net, dense_grid()), atol=1e-6)
    x = dnn.as_column(noisy_samples(NOISE_SEED)[0])
    with torch.no_grad():
        on1 = (net[0](x) > 0).numpy().T
    assert recorded["on1"].shape == (len(recorded["steps"]), 1000, 21)
    assert np.array_equal(recorded["on1"][-1], on1)


def test_recording_steps_are_log_spaced_and_include_the_drawn_steps():
    steps = dnn.record_steps()
    assert set(dnn.FIT_STEPS) <= set(steps)
    assert steps[0] == 0 and steps[-1] == dnn.STEPS
    assert 20 <= len(steps) <= 40  # a few dozen: recording stays cheap
