"""E3 out of range (scripts/dnn_outrange.py): weight decay flattens the extrapolation."""

import pytest


@pytest.fixture(scope="module")
def outrange(results):
    return results("dnn_outrange")


def test_evaluates_from_minus_1_to_2(outrange):
    assert outrange["x_range"] == [-1.0, 2.0]


def test_unpenalised_network_extrapolates_with_steep_slopes(outrange):
    assert outrange["main"]["without"]["mean_abs_slope_outside"] > 1.0


def test_weight_decay_flattens_the_talks_network(outrange):
    main = outrange["main"]
    assert main["flatter"]
    assert main["with"]["max_abs_outside"] < main["without"]["max_abs_outside"]


def test_weight_decay_flattens_the_extrapolation_in_most_seeds(outrange):
    seeds = outrange["seeds"]
    assert seeds["flatter"] > seeds["total"] / 2
    assert len(seeds["not_flatter_seeds"]) == seeds["total"] - seeds["flatter"]


def test_the_price_is_a_worse_fit_inside_the_training_range(outrange):
    # Reported on the slide: the penalty trades accuracy in [0, 1] for flatness outside.
    seeds = outrange["seeds"]
    assert seeds["rmse_in_range_median_with"] > seeds["rmse_in_range_median_without"]
    assert seeds["rmse_in_range_median_with"] < 0.1  # still close to the curve
