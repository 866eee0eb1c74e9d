"""Recommended status cut-offs for calibrated scores.

Red: the cut that catches a target share of churns at the lowest false-alarm rate — both rates
rise with the cut, so that is the lowest cut reaching the target — unless it would flag more
renewals than allowed, in which case the highest cut within that budget. Rates are measured by
replaying training decisions' daily history with hysteresis, exactly as the status will be
published, because leaving red later than entering it makes more accounts red than one day's
score suggests. Green: the score that at most a set share of churned accounts reached. Per
segment, shrunk toward the all-segment cut like the weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd

from healthscore.calibration.backtest import Replay, score_observations
from healthscore.calibration.fit import rarer_outcomes, shrink
from healthscore.calibration.params import CalibrationParams
from healthscore.calibration.seeds import BAND_FIELDS, ScoreConfig

Rates = Callable[[int], tuple[float, float]]  # red cut → (recall, false-alarm rate)
_LOWEST, _HIGHEST = 1, 100
# Green never starts closer than this to the red exit, so yellow stays a band, not a line.
_MIN_YELLOW = 5.0


def replay_rates(replay: Replay) -> Rates:
    """Recall and false-alarm rate at the alert horizon for any red cut, keeping each segment's
    gap between entering and leaving red."""
    churned = replay.rows["churned"].to_numpy() == 1
    bands = replay.config.bands
    gap = bands["red_exit_at"] - bands["red_below"]

    @cache
    def rates(cut: int) -> tuple[float, float]:
        red = replay.red(bands.assign(red_below=float(cut), red_exit_at=cut + gap))[0]
        return float(red[churned].mean()), float(red[~churned].mean())

    return rates


def _first(predicate: Callable[[int], bool]) -> int | None:
    """Lowest cut where a predicate that only turns from false to true as the cut rises holds."""
    low, high = _LOWEST, _HIGHEST + 1
    while low < high:
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle + 1
    return low if low <= _HIGHEST else None


def red_cut(rates: Rates, params: CalibrationParams) -> tuple[int, str]:
    reaching = _first(lambda cut: rates(cut)[0] >= params.target_recall)
    if reaching is not None and rates(reaching)[1] <= params.max_false_alarm:
        return reaching, ""
    too_many = _first(lambda cut: rates(cut)[1] > params.max_false_alarm)
    cut = _HIGHEST if too_many is None else max(too_many - 1, _LOWEST)
    recall, false_alarm = rates(cut)
    return cut, (
        f"Catching {params.target_recall:.0%} of churns would have flagged more than "
        f"{params.max_false_alarm:.0%} of renewals in training, so the red cut-off is held at "
        f"{cut}, which caught {recall:.0%} of training churns for {false_alarm:.0%} of renewals."
    )


def green_cut(score: np.ndarray, y: np.ndarray, params: CalibrationParams) -> float:
    churned = score[(y == 1) & ~np.isnan(score)]
    if not len(churned):
        return float(_HIGHEST)
    return float(math.ceil(np.quantile(churned, 1 - params.green_churn_share)))


def recommend_bands(
    rows: pd.DataFrame, scored_days: pd.DataFrame, config: ScoreConfig, params: CalibrationParams
) -> tuple[pd.DataFrame, list[str]]:
    """Bands per segment for `config`'s weights, from training rows at the alert horizon and
    their daily scores; coverage and gate settings are policy and are kept as they are."""
    replay = Replay.build(rows, scored_days, config, params)
    rows = replay.rows
    y = rows["churned"].to_numpy()
    segment = rows["segment"].to_numpy()
    scored = score_observations(rows, config)
    min_coverage = config.bands["min_coverage"].reindex(segment).to_numpy()
    colourable = np.where(scored["coverage"] >= min_coverage, scored["score"], np.nan)
    red_all, note = red_cut(replay_rates(replay), params)
    green_all = green_cut(colourable, y, params)
    result = {}
    for s in config.bands.index:
        mine = segment == s
        n = rarer_outcomes(y[mine])
        red, green = float(red_all), green_all
        if n > 0:
            days = replay.days.loc[replay.days["account_id"].isin(rows.loc[mine, "account_id"])]
            own = Replay.build(rows.loc[mine], days, config, params)
            red = shrink(red_cut(replay_rates(own), params)[0], red_all, n, params.shrinkage_k)
            own_green = green_cut(colourable[mine], y[mine], params)
            green = shrink(own_green, green_all, n, params.shrinkage_k)
        bands = config.bands.loc[s]
        red = float(round(red))
        exit_at = red + (bands["red_exit_at"] - bands["red_below"])
        result[s] = {
            "red_below": red,
            "red_exit_at": exit_at,
            "green_at": float(min(_HIGHEST, max(round(green), exit_at + _MIN_YELLOW))),
            "min_coverage": bands["min_coverage"],
            "gate_cap": bands["gate_cap"],
        }
    return pd.DataFrame(result).T[list(BAND_FIELDS)].astype(float), [note] if note else []
