"""E1 and E2 (scripts/least_squares.py): least squares with and without noise."""

import least_squares
import pytest
from conftest import FIGURES, run_script

from figkit import NOISE_SEED, sample_x


@pytest.fixture(scope="module")
def e1():
    return least_squares.no_noise()


@pytest.fixture(scope="module")
def e2():
    return least_squares.with_noise(NOISE_SEED)


def test_e1_fit_has_twenty_coefficients_for_twenty_one_samples(e1):
    assert len(e1["coef"]) == 20
    assert len(sample_x()) == 21


def test_e1_largest_error_at_the_samples_is_below_1e_9(e1):
    assert e1["errors"]["at_samples"] < 1e-9  # the talk shows ~1e-12


def test_e1_largest_error_between_the_samples_is_tiny(e1):
    assert e1["errors"]["between_samples"] < 1e-6  # the talk shows ~1e-8


def test_e2_fits_use_twenty_and_a_quarter_as_many_coefficients(e2):
    assert (len(e2["coef_overfit"]), len(e2["coef_fit"])) == (20, 5)


def test_e2_twenty_term_fit_is_far_from_the_curve_between_samples(e2):
    assert e2["errors_overfit"]["between_samples"] > 1.0  # "errors of order 1 to 10"


def test_e2_five_term_fit_stays_within_0_1_of_the_curve(e2):
    assert max(e2["errors_fit"].values()) < 0.1


def test_e2_holds_for_most_noise_seeds():
    sweep = least_squares.seed_sweep()
    assert len(sweep["held"]) >= 10
    assert sweep["held"].mean() >= 0.75


def test_script_runs_alone_and_writes_its_figures_and_results():
    names = (
        "least-squares-no-noise.svg",
        "least-squares-with-noise.svg",
        "least-squares-seeds.svg",
        "least_squares.json",
    )
    before = {
        name: (FIGURES / name).stat().st_mtime_ns if (FIGURES / name).exists() else None
        for name in names
    }
    done = run_script("least_squares")
    assert done.returncode == 0, done.stderr
    for name in names:  # written anew by this run (written atomically: a new file each time)
        assert (FIGURES / name).is_file()
        assert (FIGURES / name).stat().st_mtime_ns != before[name]


def test_two_runs_write_byte_identical_figures_and_results():
    outputs = [
        "least-squares-no-noise.svg",
        "least-squares-with-noise.svg",
        "least-squares-seeds.svg",
        "least_squares.json",
    ]
    runs = []
    for _ in range(2):
        run_script("least_squares").check_returncode()
        runs.append({name: (FIGURES / name).read_bytes() for name in outputs})
    assert runs[0] == runs[1]
