"""Score → probability of churn at the next decision, as the piecewise-constant table dbt joins
(`churn_calibration` seed): isotonic regression per segment, shrunk toward the global curve,
read off at the middle of fixed score bands.

Isotonic rather than a logistic curve because it assumes only that a higher score never means
more churn; the bands make the published map a lookup SQL can do on any adapter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from healthscore.calibration.fit import rarer_outcomes, shrink
from healthscore.calibration.seeds import PROBABILITY_FIELDS

# Probabilities are kept off 0 and 1: a score band with no churns in training is evidence of a
# low risk, not of none.
_FLOOR = 0.005


def _curve(score: np.ndarray, y: np.ndarray, points: np.ndarray) -> np.ndarray:
    model = IsotonicRegression(
        increasing=False, y_min=_FLOOR, y_max=1 - _FLOOR, out_of_bounds="clip"
    )
    return model.fit(score, y).predict(points)


def fit_probability_map(
    score: np.ndarray,
    y: np.ndarray,
    segment: np.ndarray,
    segments: list[str],
    *,
    band_width: int,
    shrinkage_k: float,
) -> pd.DataFrame:
    """Bands cover 0 to 100: score_lower ≤ score < score_upper, the top band also holds 100."""
    keep = ~np.isnan(score)
    score, y, segment = score[keep], y[keep], segment[keep]
    lower = np.arange(0, 100, band_width, dtype=float)
    upper = np.minimum(lower + band_width, 100.0)
    middle = (lower + upper) / 2
    overall = _curve(score, y, middle)
    tables = []
    for s in segments:
        rows = segment == s
        n = rarer_outcomes(y[rows])
        local = _curve(score[rows], y[rows], middle) if n > 0 else overall
        tables.append(
            pd.DataFrame(
                {
                    "segment": s,
                    "score_lower": lower,
                    "score_upper": upper,
                    "churn_probability": np.round(shrink(local, overall, n, shrinkage_k), 4),
                }
            )
        )
    return pd.concat(tables, ignore_index=True)[list(PROBABILITY_FIELDS)]


def churn_probability(table: pd.DataFrame, score: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Look scores up in a probability table; no score (or no table) gives no probability."""
    result = np.full(len(score), np.nan)
    for s, bands in table.groupby("segment"):
        bands = bands.sort_values("score_lower")
        rows = (segment == s) & ~np.isnan(score)
        index = np.searchsorted(bands["score_lower"].to_numpy(), score[rows], side="right") - 1
        probabilities = bands["churn_probability"].to_numpy()
        result[rows] = probabilities[np.clip(index, 0, len(probabilities) - 1)]
    return result
