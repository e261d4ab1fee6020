"""X2 (scripts/weight_histogram.py): weight decay narrows the weight distribution."""

import pytest


@pytest.fixture(scope="module")
def histogram(results):
    return results("weight_histogram")


def test_weight_decay_narrows_the_weight_distribution(histogram):
    assert histogram["narrower"]
    assert histogram["with"]["std"] < histogram["without"]["std"] / 2


def test_weight_decay_moves_most_weights_near_zero(histogram):
    assert histogram["with"]["near_zero_fraction"] > 0.5
    assert histogram["without"]["near_zero_fraction"] < 0.5


def test_without_penalty_many_weights_never_leave_their_initial_value(histogram):
    assert histogram["without"]["unchanged_fraction"] > 0.5
    assert histogram["with"]["unchanged_fraction"] == 0.0
