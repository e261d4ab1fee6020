"""X1 Minima details (scripts/minima.py): how E3's training converges and gets stuck."""

import pytest


@pytest.fixture(scope="module")
def minima(results):
    return results("minima")


def test_fits_are_drawn_at_steps_0_10_100_1000_4000(minima):
    assert minima["fit_steps"] == [0, 10, 100, 1000, 4000]


def test_fit_approaches_the_curve(minima):
    rmse = minima["rmse"]
    assert rmse["step_4000"] < rmse["step_100"] < rmse["step_0"]


def test_loss_ends_below_the_noise_level(minima):
    loss = minima["loss"]
    assert loss["step_4000"] < loss["noise_level"] < loss["step_0"]


def test_relu_patterns_change_less_often_as_training_goes_on(minima):
    changed = minima["relus"]["changed"]
    for layer in ("layer1", "layer2"):
        early = changed["0-10"][layer] / 10  # ReLUs changed per step
        late = changed["1000-4000"][layer] / 3000
        assert late < early / 10, layer


def test_most_second_layer_relus_are_off_for_every_sample_after_10_steps(minima):
    alive = minima["relus"]["layer2_alive"]
    assert alive["step_10"] < 0.1 * minima["relus"]["per_layer"] < alive["step_0"]


def test_output_has_more_linear_pieces_than_samples(minima):
    assert minima["pieces"]["in_range"] > 21
    assert minima["pieces"]["outrange"] > minima["pieces"]["in_range"]


def test_a_stalled_seed_has_no_second_layer_relu_left(minima):
    stalled = minima["stalled"]
    assert stalled["found"], "the sweep has a stalled seed (seed 1 with the talk's seeds)"
    assert stalled["loss_final"] > stalled["loss_threshold"]
    assert stalled["layer2_alive_final"] == 0
