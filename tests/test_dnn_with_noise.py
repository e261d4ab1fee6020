"""E3 (scripts/dnn_with_noise.py): a 1-1000-1000-1 network on the noisy samples does not overfit."""

import pytest


@pytest.fixture(scope="module")
def e3(results):
    return results("dnn_with_noise")


def test_network_has_about_a_million_parameters_for_21_samples(e3):
    assert e3["network"]["parameters"] == 1_004_001


def test_fit_is_about_0_05_from_the_clean_curve(e3):
    assert 0.01 < e3["main"]["rmse"] < 0.07  # the talk: RMSE vs the clean curve about 0.05


def test_fit_does_not_swing_between_the_samples(e3):
    main = e3["main"]
    assert main["max_error_between_samples"] < 0.1
    assert e3["polynomial"]["max_error_between_samples"] > 1.0  # E2's 20 terms on the same draw


def test_training_lowers_the_loss_to_the_noise_level(e3):
    assert e3["main"]["loss_final"] < 0.1 < e3["main"]["loss_initial"]


def test_network_does_not_overfit_in_any_seed(e3):
    assert e3["seeds"]["overfit"] == 0


def test_network_is_closer_to_the_curve_than_the_noise_in_every_seed_that_did_not_stall(e3):
    seeds = e3["seeds"]
    assert seeds["total"] >= 5
    assert seeds["close"] == seeds["total"] - seeds["stalled"]


def test_seed_statistics_agree_with_the_per_seed_numbers(e3):
    seeds = e3["seeds"]
    rows = seeds["per_seed"]
    assert len(rows) == seeds["total"]
    assert [r["seed"] for r in rows if r["stalled"]] == seeds["stalled_seeds"]
    assert sum(r["rmse"] < seeds["close_threshold"] for r in rows) == seeds["close"]
    for row in rows:
        assert row["stalled"] == (row["loss"] > seeds["stalled_loss_threshold"])
