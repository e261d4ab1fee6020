"""X5 (scripts/stochastic_depth.py): residual blocks skipped at random during training."""

import numpy as np
import pytest
import stochastic_depth as sd
import torch


@pytest.fixture(scope="module")
def measured(results):
    return results("stochastic_depth")


def block(survival, seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return sd.ResidualBlock(8, survival)


def inputs():
    return torch.randn(5, 8, generator=torch.Generator().manual_seed(1))


# The building blocks


def test_survival_falls_linearly_with_depth_to_one_half():
    p = sd.survival_probabilities(10, 0.5)
    assert p[-1] == pytest.approx(0.5)
    assert p[0] == pytest.approx(1 - 0.5 / 10)  # block 1: p_l = 1 - l/L * (1 - p_L)
    assert np.diff(p) == pytest.approx([-0.05] * 9)


def test_block_in_eval_mode_is_deterministic_and_scaled_by_its_survival():
    b = block(0.6).eval()
    x = inputs()
    with torch.no_grad():
        first, second = b(x), b(x)
        torch.testing.assert_close(first, second)
        torch.testing.assert_close(first, x + 0.6 * b.f(x))


def test_block_in_training_either_runs_fully_or_passes_the_input_through():
    b = block(0.5).train()
    x = inputs()
    seen = set()
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(0)
        for _ in range(20):
            out = b(x)
            if b.active:
                torch.testing.assert_close(out, x + b.f(x))
            else:
                assert torch.equal(out, x)
            seen.add(b.active)
    assert seen == {True, False}


def test_block_runs_in_about_its_survival_share_of_training_steps():
    b = block(0.7).train()
    x = inputs()
    ran = []
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(0)
        for _ in range(4000):
            b(x)
            ran.append(b.active)
    assert np.mean(ran) == pytest.approx(0.7, abs=0.025)


def test_experiment_leaves_the_global_random_state_alone(monkeypatch):
    monkeypatch.setattr(sd, "STEPS", 3)
    before = torch.random.get_rng_state()
    sd.experiment(0)
    assert torch.equal(torch.random.get_rng_state(), before)


# The measurement (shared with the build through the results fixture)


def test_both_networks_end_up_fitting_the_noisy_training_labels(measured):
    for name in ("plain", "stochastic"):
        assert measured[name]["train_accuracy"]["mean"] > 0.99


def test_stochastic_depth_delays_fitting_the_training_set_in_every_seed(measured):
    plain = measured["plain"]["steps_to_fit_train_99"]
    stochastic = measured["stochastic"]["steps_to_fit_train_99"]
    assert all(s is not None and s >= 2 * p for p, s in zip(plain, stochastic))


def test_stochastic_depth_keeps_the_gap_smaller_during_training(measured):
    assert (
        measured["stochastic"]["gap_during_training"]
        < measured["plain"]["gap_during_training"] - 0.03
    )  # measured: 0.22 vs 0.28


def test_the_final_gap_does_not_shrink(measured):
    """The honest result: after the same number of steps both networks memorised the
    noise and the train-test gap is the same within a few points."""
    claim = measured["claim"]
    assert claim["held"] is False
    assert abs(claim["gap_change"]) < 0.03  # measured: +0.005
    assert claim["seeds_gap_shrank"] <= 2  # measured: 1 of 5


def test_claim_flag_agrees_with_the_per_seed_gaps(measured):
    plain = np.array(measured["plain"]["gap"]["per_seed"])
    stochastic = np.array(measured["stochastic"]["gap"]["per_seed"])
    meaningful = measured["claim"]["meaningful"]
    shrank = int((stochastic < plain - meaningful).sum())
    assert measured["claim"]["seeds_gap_shrank"] == shrank
    change = stochastic.mean() - plain.mean()
    assert measured["claim"]["gap_change"] == pytest.approx(change, abs=1e-3)
    assert measured["claim"]["held"] == (change < -meaningful and shrank > len(plain) / 2)


def test_skipped_blocks_follow_the_survival_probabilities(measured):
    assert measured["active_share"] == pytest.approx(measured["survival"], abs=0.06)
