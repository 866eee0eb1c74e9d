"""Ranking and calibration metrics. `risk` is higher for riskier rows (the negated health
score); `prob` is a churn probability; `y` is 1 for a churn."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

# Bootstrap resamples are ranked in chunks of about this many values to bound memory.
_CHUNK_VALUES = 2_000_000


def _two_classes(y: np.ndarray) -> bool:
    return len(y) > 0 and y.min() != y.max()


def roc_auc(y, risk) -> float:
    y = np.asarray(y)
    return float(roc_auc_score(y, risk)) if _two_classes(y) else math.nan


def auc_interval(
    y, risk, *, n_boot: int, rng: np.random.Generator, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the ROC AUC. Churns and renewals are resampled
    separately, so every resample has both and small holdouts still get an interval."""
    y = np.asarray(y).astype(bool)
    risk = np.asarray(risk, dtype=float)
    pos, neg = risk[y], risk[~y]
    if not len(pos) or not len(neg) or n_boot < 1:
        return math.nan, math.nan
    per_chunk = max(1, _CHUNK_VALUES // len(risk))
    aucs = []
    for start in range(0, n_boot, per_chunk):
        size = min(per_chunk, n_boot - start)
        sample = np.concatenate(
            [rng.choice(pos, (size, len(pos))), rng.choice(neg, (size, len(neg)))], axis=1
        )
        pos_ranks = rankdata(sample, axis=1)[:, : len(pos)].sum(axis=1)
        aucs.append((pos_ranks - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(np.concatenate(aucs), [tail, 100 - tail])
    return float(low), float(high)


def pr_auc(y, risk) -> float:
    y = np.asarray(y)
    return float(average_precision_score(y, risk)) if _two_classes(y) else math.nan


def top_decile_lift(y, risk) -> float:
    """Churn rate among the riskiest tenth over the overall churn rate."""
    y = np.asarray(y, dtype=float)
    if not len(y) or y.mean() == 0:
        return math.nan
    riskiest = np.argsort(-np.asarray(risk, dtype=float), kind="stable")[: math.ceil(len(y) / 10)]
    return float(y[riskiest].mean() / y.mean())


def brier(y, prob) -> float:
    return float(brier_score_loss(y, prob)) if len(y) else math.nan


def _bins(prob: np.ndarray, n_bins: int) -> np.ndarray:
    return np.minimum((prob * n_bins).astype(int), n_bins - 1)


def reliability_table(y, prob, n_bins: int = 10) -> pd.DataFrame:
    """Mean predicted and observed churn per equal-width probability bin (empty bins dropped)."""
    prob = np.asarray(prob, dtype=float)
    frame = pd.DataFrame(
        {"bin": _bins(prob, n_bins), "predicted": prob, "observed": np.asarray(y, dtype=float)}
    )
    table = frame.groupby("bin").agg(
        predicted=("predicted", "mean"), observed=("observed", "mean"), n=("observed", "size")
    )
    return table.reset_index()


def expected_calibration_error(y, prob, n_bins: int = 10) -> float:
    """Count-weighted mean gap between predicted and observed churn over the same bins as
    `reliability_table`, so the number and the reliability chart describe the same thing."""
    prob = np.asarray(prob, dtype=float)
    if not len(prob):
        return math.nan
    bins = _bins(prob, n_bins)
    gap = np.bincount(bins, weights=prob, minlength=n_bins) - np.bincount(
        bins, weights=np.asarray(y, dtype=float), minlength=n_bins
    )
    return float(np.abs(gap).sum() / len(prob))


def ece_noise_floor(prob, *, n_draws: int, rng: np.random.Generator, n_bins: int = 10) -> float:
    """The ECE perfectly calibrated probabilities would still show on this many decisions:
    outcomes drawn from the probabilities themselves. On a small holdout sampling noise alone
    can exceed a 0.05 target, and a reader needs that yardstick to judge the measured ECE."""
    prob = np.asarray(prob, dtype=float)
    if not len(prob) or n_draws < 1:
        return math.nan
    draws = rng.random((n_draws, len(prob))) < prob
    return float(np.mean([expected_calibration_error(y, prob, n_bins) for y in draws]))
