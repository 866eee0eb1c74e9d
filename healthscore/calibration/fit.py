"""Signal weights from outcomes: a non-negative, elastic-net penalised logistic model on signal
scores, per segment, shrunk toward the global fit, normalised to sum 100.

The published score is the linear index Σwᵢsᵢ/Σwᵢ, so a logistic model on the same signal
scores yields weights in the score's own terms (wᵢ ∝ βᵢ). Non-negativity keeps every weight
meaning "more of this is healthier"; the L1 part sets signals without information to exactly
zero; the L2 part shares weight among correlated signals instead of picking one arbitrarily.
scikit-learn's LogisticRegression cannot bound coefficients, so the penalised likelihood is
minimised with scipy's L-BFGS-B, whose bounds make the L1 term smooth (β ≥ 0 ⇒ |β| = β).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from healthscore.calibration.params import CalibrationParams

# A missing signal score is imputed with this when a signal has no data at all in training.
NEUTRAL_SCORE = 50.0


@dataclass(frozen=True)
class WeightFit:
    weights: pd.DataFrame  # segment by signal, each row sums to exactly 100 (0.1 steps)
    global_weights: pd.Series  # normalised to 100, before shrinkage and rounding
    segment_weights: dict[str, pd.Series | None]  # own fit per segment, before shrinkage
    outcomes: dict[str, int]  # training outcomes of the rarer kind per segment
    alpha: float
    fitted: bool  # False when no signal earned a positive weight


def shrink(local, overall, n: float, k: float):
    """Precision-style blend: a segment with n outcomes counts n against k for the global fit."""
    return (n * local + k * overall) / (n + k)


def rarer_outcomes(y: np.ndarray) -> int:
    return int(min(y.sum(), len(y) - y.sum()))


def round_to_total(values: pd.Series, total: float = 100.0, decimals: int = 1) -> pd.Series:
    """Largest-remainder rounding, so the seed's weights add up to exactly `total`."""
    scale = 10**decimals
    raw = (values / values.sum() * total * scale).to_numpy(dtype=float)
    units = np.floor(raw)
    short = round(total * scale - units.sum())
    units[np.argsort(-(raw - units), kind="stable")[:short]] += 1
    return pd.Series(units / scale, index=values.index)


def segment_medians(frame: pd.DataFrame, signals: list[str]) -> pd.DataFrame:
    """Imputation values per segment by signal: the segment's median, else the global median,
    else a neutral 50. Nothing else is added, so a missing score cannot become a feature."""
    overall = frame[signals].median().fillna(NEUTRAL_SCORE)
    return frame.groupby("segment")[signals].median().fillna(overall)


def risk_matrix(frame: pd.DataFrame, signals: list[str], medians: pd.DataFrame) -> np.ndarray:
    """Signal scores turned into risks in [0, 1] (higher = riskier), so healthy-direction
    coefficients are the non-negative ones."""
    fill = medians.reindex(frame["segment"]).set_axis(frame.index)
    overall = medians.median().fillna(NEUTRAL_SCORE)
    filled = frame[signals].fillna(fill).fillna(overall)
    return (100.0 - filled.to_numpy(dtype=float)) / 100.0


def _penalised_loss(theta, x, y, groups, alpha, l1_ratio):
    intercepts, beta = theta[: groups.shape[1]], theta[groups.shape[1] :]
    z = groups @ intercepts + x @ beta
    residual = (expit(z) - y) / len(y)
    loss = np.mean(np.logaddexp(0.0, z) - y * z)
    loss += alpha * (l1_ratio * beta.sum() + (1 - l1_ratio) / 2 * beta @ beta)
    grad = np.concatenate(
        [groups.T @ residual, x.T @ residual + alpha * (l1_ratio + (1 - l1_ratio) * beta)]
    )
    return loss, grad


def fit_logistic(x, y, groups, alpha: float, l1_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts (one per column of `groups`, unpenalised) and non-negative coefficients."""
    n_groups = groups.shape[1]
    result = minimize(
        _penalised_loss,
        np.zeros(n_groups + x.shape[1]),
        args=(x, y, groups, alpha, l1_ratio),
        jac=True,
        method="L-BFGS-B",
        bounds=[(None, None)] * n_groups + [(0.0, None)] * x.shape[1],
    )
    return result.x[:n_groups], result.x[n_groups:]


def choose_alpha(x, y, groups, params: CalibrationParams) -> float:
    """Strongest penalty whose cross-validated log-loss is within one standard error of the
    best: the simplest model the data cannot tell apart from the best one."""
    grid = np.sort(np.asarray(params.alpha_grid, dtype=float))
    n_splits = min(params.cv_folds, rarer_outcomes(y))
    if n_splits < 2:
        return float(grid[-1])
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=params.seed)
    losses = np.empty((len(grid), n_splits))
    for j, (train, test) in enumerate(folds.split(x, y)):
        for i, alpha in enumerate(grid):
            intercepts, beta = fit_logistic(
                x[train], y[train], groups[train], alpha, params.l1_ratio
            )
            z = groups[test] @ intercepts + x[test] @ beta
            losses[i, j] = np.mean(np.logaddexp(0.0, z) - y[test] * z)
    mean = losses.mean(axis=1)
    best = int(np.argmin(mean))
    threshold = mean[best] + losses[best].std(ddof=1) / np.sqrt(n_splits)
    return float(grid[mean <= threshold].max())


def _normalised(beta: np.ndarray, signals: list[str]) -> pd.Series | None:
    total = beta.sum()
    return pd.Series(beta / total * 100.0, index=signals) if total > 0 else None


def fit_weights(
    train: pd.DataFrame, signals: list[str], segments: list[str], params: CalibrationParams
) -> WeightFit:
    """Weights per segment from training observations at one horizon.

    BLAS is held to one thread: L-BFGS-B's tiny linear algebra runs several times slower when
    OpenBLAS spreads it over threads, and a run makes hundreds of fits."""
    with threadpool_limits(limits=1, user_api="blas"):
        return _fit_weights(train, signals, segments, params)


def _fit_weights(
    train: pd.DataFrame, signals: list[str], segments: list[str], params: CalibrationParams
) -> WeightFit:
    y = train["churned"].to_numpy(dtype=float)
    x = risk_matrix(train, signals, segment_medians(train, signals))
    segment = train["segment"].to_numpy()
    dummies = pd.get_dummies(train["segment"]).to_numpy(dtype=float)
    alpha = choose_alpha(x, y, dummies, params)
    overall = _normalised(fit_logistic(x, y, dummies, alpha, params.l1_ratio)[1], signals)
    outcomes = {s: rarer_outcomes(y[segment == s]) for s in segments}
    if overall is None:
        empty = pd.DataFrame(0.0, index=segments, columns=signals)
        return WeightFit(empty, pd.Series(0.0, index=signals), {}, outcomes, alpha, fitted=False)
    own, rows = {}, {}
    for s in segments:
        rows_s = segment == s
        own[s] = None
        if outcomes[s] > 0:
            ones = np.ones((int(rows_s.sum()), 1))
            x_s, y_s = x[rows_s], y[rows_s]
            alpha_s = choose_alpha(x_s, y_s, ones, params)
            own[s] = _normalised(fit_logistic(x_s, y_s, ones, alpha_s, params.l1_ratio)[1], signals)
        local = overall if own[s] is None else own[s]
        rows[s] = round_to_total(shrink(local, overall, outcomes[s], params.shrinkage_k))
    weights = pd.DataFrame(rows).T.reindex(columns=signals)
    return WeightFit(weights, overall, own, outcomes, alpha, fitted=True)
