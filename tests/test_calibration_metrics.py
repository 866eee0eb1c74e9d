"""Metrics behind the calibration report, checked on cases whose answer is known by hand."""

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from healthscore.calibration.metrics import (
    auc_interval,
    ece_noise_floor,
    expected_calibration_error,
    reliability_table,
    roc_auc,
    top_decile_lift,
)


def test_ece_of_a_hand_computed_case():
    # Bin 0.2: 4 decisions, 1 churn (observed 0.25); bin 0.8: 6 decisions, 3 churns (0.5).
    # ECE = 0.4 * |0.2 - 0.25| + 0.6 * |0.8 - 0.5| = 0.02 + 0.18.
    y = [1, 0, 0, 0, 1, 1, 1, 0, 0, 0]
    prob = [0.2] * 4 + [0.8] * 6
    assert expected_calibration_error(y, prob) == pytest.approx(0.20)


def test_ece_is_zero_when_every_bin_matches_its_churn_rate():
    y = [1, 0, 0, 0, 1, 1, 1, 0]
    prob = [0.25] * 4 + [0.75] * 4
    assert expected_calibration_error(y, prob) == pytest.approx(0.0)


def test_ece_agrees_with_the_reliability_chart():
    rng = np.random.default_rng(3)
    prob = rng.random(500)
    y = rng.random(500) < prob**2
    table = reliability_table(y, prob)
    by_hand = ((table["predicted"] - table["observed"]).abs() * table["n"]).sum() / 500
    assert expected_calibration_error(y, prob) == pytest.approx(by_hand)
    assert prob.max() < 1 and table["bin"].max() <= 9


def test_ece_noise_floor_falls_as_decisions_grow():
    rng = np.random.default_rng(0)
    small = ece_noise_floor(np.full(100, 0.3), n_draws=200, rng=rng)
    large = ece_noise_floor(np.full(10_000, 0.3), n_draws=50, rng=rng)
    assert small > 3 * large
    assert large < 0.01


def test_auc_and_bootstrap_interval():
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(60), np.zeros(140)]
    risk = y + rng.normal(scale=1.0, size=200)
    auc = roc_auc(y, risk)
    assert auc == pytest.approx(roc_auc_score(y, risk))
    low, high = auc_interval(y, risk, n_boot=300, rng=np.random.default_rng(2))
    assert low < auc < high
    assert 0.05 < high - low < 0.3
    assert (low, high) == auc_interval(y, risk, n_boot=300, rng=np.random.default_rng(2))


def test_perfect_separation_gives_a_degenerate_interval_at_one():
    y = np.r_[np.ones(10), np.zeros(10)]
    assert auc_interval(y, y.copy(), n_boot=50, rng=np.random.default_rng(0)) == (1.0, 1.0)


def test_lift_of_the_riskiest_decile():
    y = np.r_[np.ones(10), np.zeros(90)]
    risk = np.r_[np.full(10, 5.0), np.zeros(90)]
    assert top_decile_lift(y, risk) == pytest.approx(10.0)


def test_metrics_are_undefined_with_one_class():
    y = np.zeros(20)
    assert math.isnan(roc_auc(y, np.arange(20)))
    assert all(math.isnan(v) for v in auc_interval(y, np.arange(20), n_boot=10, rng=None))
    assert math.isnan(top_decile_lift(y, np.arange(20)))
