"""The overfitting figure (scripts/overfitting.py): a smooth and a contorted decision boundary."""

import overfitting
import pytest


@pytest.fixture(scope="module")
def run():
    return overfitting.experiment(overfitting.SEED)


def test_contorted_boundary_classifies_every_training_point(run):
    assert run["contorted"]["train"] == 1.0


def test_smooth_boundary_misclassifies_some_training_points(run):
    assert run["smooth"]["train"] < 1.0


def test_smooth_boundary_is_more_accurate_on_new_points(run):
    assert run["smooth"]["held_out"] > run["contorted"]["held_out"]


def test_smooth_boundary_is_more_accurate_on_new_points_for_most_seeds():
    sweep = overfitting.seed_sweep()
    wins = sweep["smooth_held_out"] > sweep["contorted_held_out"]
    assert len(wins) >= 10
    assert wins.mean() >= 0.9
