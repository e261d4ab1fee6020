"""X3 (scripts/dropout.py): does dropout make a network rely more on the strong feature?"""

import dropout
import pytest
import torch


@pytest.fixture(scope="module")
def measured(results):
    return results("dropout")


# The building blocks


def test_examples_put_the_signal_where_the_groups_say():
    x, y = dropout.examples(20_000, torch.Generator().manual_seed(0))
    sign = 2 * y - 1
    shift = (x * sign[:, None]).mean(dim=0)  # how far each column moves with the label
    assert shift[dropout.GROUPS["strong"]] == pytest.approx([1.5], abs=0.03)
    assert shift[dropout.GROUPS["weak"]].tolist() == pytest.approx([0.4] * 8, abs=0.03)
    assert shift[dropout.GROUPS["noise"]].tolist() == pytest.approx([0.0] * 8, abs=0.03)


def test_ideal_rule_reaches_the_accuracy_the_shifts_promise():
    x, y = dropout.examples(20_000, torch.Generator().manual_seed(1))
    expected = dropout.phi((1.5**2 + 8 * 0.4**2) ** 0.5)  # 97%
    assert dropout.accuracy(dropout.ideal_logit, x, y) == pytest.approx(expected, abs=0.005)


def test_shuffling_features_a_model_ignores_costs_nothing():
    x, y = dropout.examples(2000, torch.Generator().manual_seed(2))
    generator = torch.Generator().manual_seed(3)
    noise = dropout.GROUPS["noise"]
    assert dropout.accuracy_drop(dropout.ideal_logit, x, y, noise, generator) == 0.0


def test_shuffling_the_strong_feature_costs_the_ideal_rule_accuracy():
    x, y = dropout.examples(2000, torch.Generator().manual_seed(2))
    generator = torch.Generator().manual_seed(3)
    strong = dropout.GROUPS["strong"]
    assert dropout.accuracy_drop(dropout.ideal_logit, x, y, strong, generator) > 0.2


def test_every_variant_starts_from_the_same_weights():
    """A fair comparison: dropout layers hold no parameters and draw nothing at construction."""
    weights = []
    for input_dropout, hidden_dropout in dropout.VARIANTS.values():
        with torch.random.fork_rng():
            torch.manual_seed(0)
            weights.append(
                [p.clone() for p in dropout.network(input_dropout, hidden_dropout).parameters()]
            )
    for other in weights[1:]:
        for a, b in zip(weights[0], other):
            torch.testing.assert_close(a, b)


def test_experiment_leaves_the_global_random_state_alone(monkeypatch):
    monkeypatch.setattr(dropout, "STEPS", 3)
    monkeypatch.setattr(dropout, "TEST_EXAMPLES", 100)
    before = torch.random.get_rng_state()
    dropout.experiment(0)
    assert torch.equal(torch.random.get_rng_state(), before)


# The measurement (shared with the build through the results fixture)


def test_input_dropout_raises_the_strong_features_share_in_most_seeds(measured):
    claim = measured["input"]["claim"]
    assert claim["seeds"] == 10
    assert claim["seeds_held"] >= 8  # measured: 10 of 10
    assert claim["share_change_mean"] > 0.05  # measured: +0.09


def test_hidden_dropout_raises_the_strong_features_share_in_most_seeds(measured):
    claim = measured["hidden"]["claim"]
    assert claim["seeds_held"] >= 8  # measured: 10 of 10
    assert claim["share_change_mean"] > 0.01  # measured: +0.04, less than input dropout
    assert claim["share_change_mean"] < measured["input"]["claim"]["share_change_mean"]


def test_claim_flags_agree_with_the_per_seed_shares(measured):
    none = measured["none"]["strong_share"]["per_seed"]
    for name in ("hidden", "input"):
        shares = measured[name]["strong_share"]["per_seed"]
        rises = sum(s > n for s, n in zip(shares, none))
        assert measured[name]["claim"]["seeds_held"] == rises
        assert measured[name]["claim"]["held"] == (rises > len(shares) / 2)


def test_dropout_moves_reliance_toward_the_ideal_rule_not_beyond_it(measured):
    """The honest nuance: without dropout the network leans on the weak features more than
    the ideal rule does; dropout corrects part of that, on average it does not overshoot."""
    ideal = measured["ideal"]["strong_share"]
    assert measured["none"]["strong_share"]["mean"] < ideal - 0.1
    assert measured["input"]["strong_share"]["mean"] < ideal
    assert measured["input"]["claim"]["seeds_above_ideal"] <= 3


def test_features_without_signal_are_not_relied_on(measured):
    for name in dropout.VARIANTS:
        assert measured[name]["drop"]["noise"] == pytest.approx(0.0, abs=0.01)


def test_dropout_leaves_held_out_accuracy_about_the_same(measured):
    accuracies = [measured[name]["test_accuracy"] for name in dropout.VARIANTS]
    assert max(accuracies) - min(accuracies) < 0.02
