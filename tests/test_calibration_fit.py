"""Weights, probabilities and cut-offs fitted on a planted dataset whose truth is known: three
signals measure the hidden health that drives churn, three are noise."""

import numpy as np
import pandas as pd
import pytest

from healthscore.calibration.cutoffs import red_cut
from healthscore.calibration.fit import fit_weights, round_to_total, shrink
from healthscore.calibration.observations import prepare_observations
from healthscore.calibration.params import CalibrationParams
from healthscore.calibration.probability import churn_probability, fit_probability_map
from healthscore.calibration.synthetic import INFORMATIVE, NOISE, SEGMENTS, make_dataset

PARAMS = CalibrationParams()
SIGNALS = [*INFORMATIVE, *NOISE]


@pytest.fixture(scope="module")
def planted() -> pd.DataFrame:
    rows = prepare_observations(make_dataset(n_accounts=500, seed=7).observations, SIGNALS)
    return rows.loc[rows["horizon_days"] == 90].reset_index(drop=True)


def test_informative_signals_take_the_weight_and_noise_gets_almost_none(planted):
    fit = fit_weights(planted, SIGNALS, list(SEGMENTS), PARAMS)
    assert fit.fitted
    weights = fit.weights
    assert (weights >= 0).all().all()
    assert weights.sum(axis=1).round(6).eq(100).all()
    assert (weights[list(INFORMATIVE)].sum(axis=1) >= 85).all(), weights
    assert (weights[list(NOISE)] <= 8).all().all(), weights
    assert fit.global_weights[list(NOISE)].sum() <= 5


def test_a_signal_that_points_the_wrong_way_gets_no_weight(planted):
    flipped = planted.assign(login_frequency=100 - planted["login_frequency"])
    fit = fit_weights(flipped, SIGNALS, list(SEGMENTS), PARAMS)
    assert (fit.weights["login_frequency"] == 0).all()


def test_signals_without_any_information_leave_nothing_to_fit(planted):
    rng = np.random.default_rng(0)
    shuffled = planted.assign(churned=rng.permutation(planted["churned"].to_numpy()))
    fit = fit_weights(shuffled, SIGNALS, list(SEGMENTS), PARAMS)
    # Either nothing is fitted, or what is fitted is not concentrated on the planted signals.
    assert not fit.fitted or fit.weights[list(INFORMATIVE)].sum(axis=1).min() < 85


def test_segments_with_few_outcomes_lean_on_the_global_fit():
    local, overall = np.array([100.0, 0.0]), np.array([0.0, 100.0])
    assert shrink(local, overall, 0, 50) == pytest.approx(overall)
    assert shrink(local, overall, 50, 50) == pytest.approx([50.0, 50.0])
    assert shrink(local, overall, 5000, 50)[0] > 99


def test_rounded_weights_add_up_to_exactly_one_hundred():
    rounded = round_to_total(pd.Series([1.0, 1.0, 1.0]))
    assert rounded.tolist() == [33.4, 33.3, 33.3]
    assert rounded.sum() == pytest.approx(100.0, abs=1e-9)


def test_probability_map_is_monotone_and_covers_every_score():
    rng = np.random.default_rng(5)
    score = rng.uniform(0, 100, 2000)
    y = (rng.random(2000) < 1 / (1 + np.exp((score - 40) / 8))).astype(int)
    segment = rng.choice(["smb", "enterprise"], 2000)
    table = fit_probability_map(
        score, y, segment, ["smb", "enterprise"], band_width=5, shrinkage_k=50
    )
    for _, bands in table.groupby("segment"):
        assert bands["score_lower"].min() == 0 and bands["score_upper"].max() == 100
        assert (np.diff(bands["churn_probability"].to_numpy()) <= 0).all()
        assert bands["churn_probability"].between(0, 1).all()
    looked_up = churn_probability(
        table, np.array([0.0, 39.9, 100.0, np.nan]), np.array(["smb"] * 4)
    )
    assert looked_up[0] > 0.9 and looked_up[2] < 0.1 and np.isnan(looked_up[3])
    assert 0.3 < looked_up[1] < 0.8


def test_red_cut_is_the_lowest_reaching_the_target_recall():
    # Recall and false alarms rise linearly with the cut: recall = cut/80, false alarm = cut/400.
    def rates(cut):
        return min(cut / 80, 1.0), cut / 400

    cut, note = red_cut(rates, PARAMS)
    assert cut == 56 and note == ""


def test_red_cut_stays_within_the_false_alarm_budget():
    def rates(cut):
        return min(cut / 80, 1.0), cut / 100

    cut, note = red_cut(rates, PARAMS)
    assert cut == 20
    assert "held at 20" in note and "25% of training churns" in note
