"""X4 (scripts/label_smoothing.py): confidence and calibration with and without smoothing."""

import math

import label_smoothing as ls
import pytest
import torch


@pytest.fixture(scope="module")
def measured(results):
    return results("label_smoothing")


# The building blocks


def test_ece_of_a_hand_made_example():
    # Four answers at confidence 0.9 of which three are right (gap 0.15, weight 4/6) and
    # two at 0.3 of which one is right (gap 0.2, weight 2/6).
    confidence = torch.tensor([0.9, 0.9, 0.9, 0.9, 0.3, 0.3])
    correct = torch.tensor([True, True, True, False, True, False])
    assert ls.expected_calibration_error(confidence, correct) == pytest.approx(
        4 / 6 * 0.15 + 2 / 6 * 0.2, abs=1e-6
    )


def test_ece_is_zero_when_confidence_matches_accuracy():
    confidence = torch.tensor([0.75] * 4 + [0.5] * 2)
    correct = torch.tensor([True, True, True, False, True, False])
    assert ls.expected_calibration_error(confidence, correct) == pytest.approx(0.0, abs=1e-6)


def test_smoothed_targets_are_what_pytorch_trains_on():
    logits = torch.randn(7, ls.CLASSES, generator=torch.Generator().manual_seed(0))
    y = torch.arange(7) % ls.CLASSES
    soft = ls.smoothed_targets(y, ls.EPSILON)
    by_hand = -(soft * logits.log_softmax(dim=1)).sum(dim=1).mean()
    pytorch = torch.nn.CrossEntropyLoss(label_smoothing=ls.EPSILON)(logits, y)
    torch.testing.assert_close(by_hand, pytorch)


def test_smoothed_target_is_0_92_on_the_true_class_and_0_02_elsewhere():
    assert ls.smoothed_targets(torch.tensor([2]), 0.1)[0].tolist() == pytest.approx(
        [0.02, 0.02, 0.92, 0.02, 0.02]
    )


def test_blobs_sit_around_centres_on_the_circle():
    x, y = ls.blobs(20_000, 2.5, torch.Generator().manual_seed(0))
    centres = ls.centres(2.5)
    assert centres.norm(dim=1).tolist() == pytest.approx([2.5] * ls.CLASSES)
    for k in range(ls.CLASSES):
        torch.testing.assert_close(x[y == k].mean(dim=0), centres[k], atol=0.06, rtol=0)


def test_experiment_leaves_the_global_random_state_alone(monkeypatch):
    monkeypatch.setattr(ls, "STEPS", 3)
    monkeypatch.setattr(ls, "TEST_EXAMPLES", 100)
    before = torch.random.get_rng_state()
    ls.experiment(0, 2.5)
    assert torch.equal(torch.random.get_rng_state(), before)


# The measurement (shared with the build through the results fixture)


@pytest.mark.parametrize("setting", ["overlapping", "separated"])
def test_smoothing_lowers_the_mean_confidence_on_wrong_answers(measured, setting):
    numbers = measured[setting]
    assert numbers["claims"]["wrong_confidence_lower_seeds"] == numbers["claims"]["seeds"] == 5
    assert numbers["with"]["confidence_wrong"] < numbers["without"]["confidence_wrong"] - 0.05


def test_without_smoothing_the_network_is_over_confident_on_overlapping_classes(measured):
    assert measured["overlapping"]["without"]["overconfidence"] > 0.05  # measured: 0.08


def test_smoothing_lowers_the_ece_on_overlapping_classes(measured):
    claims = measured["overlapping"]["claims"]
    assert claims["ece_direction"] == "lower"
    assert claims["ece_lower_seeds"] == 5
    assert claims["ece_change"] < -0.03  # measured: 0.085 -> 0.025


def test_smoothing_raises_the_ece_on_separated_classes(measured):
    """Where the network was nearly calibrated, smoothing makes it under-confident."""
    numbers = measured["separated"]
    assert numbers["without"]["ece"] < 0.04
    assert numbers["with"]["overconfidence"] < 0  # under-confident
    assert numbers["claims"]["ece_direction"] == "higher"
    assert numbers["claims"]["ece_change"] > 0.02  # measured: 0.020 -> 0.071


def test_ece_direction_agrees_with_the_per_seed_ece(measured):
    for setting in ls.RADII:
        numbers = measured[setting]
        lower = sum(
            w < o
            for w, o in zip(numbers["with"]["ece_per_seed"], numbers["without"]["ece_per_seed"])
        )
        assert numbers["claims"]["ece_lower_seeds"] == lower
        expected = {0: "higher", 5: "lower"}.get(lower, "mixed")
        assert numbers["claims"]["ece_direction"] == expected


def test_smoothing_leaves_accuracy_about_the_same(measured):
    for setting in ls.RADII:
        numbers = measured[setting]
        assert math.isclose(
            numbers["with"]["accuracy"], numbers["without"]["accuracy"], abs_tol=0.02
        )
