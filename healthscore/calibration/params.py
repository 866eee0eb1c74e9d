"""Tunable knobs of calibration, gathered so a run records exactly what it was asked to do."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CalibrationParams:
    """Defaults are DESIGN §7 defaults; tests shrink `n_bootstrap` to stay fast."""

    n_bootstrap: int = 1000
    # Guardrail: fewer training outcomes of either kind than this and nothing is proposed for use.
    min_churns: int = 30
    min_renewals: int = 30
    # Below this many holdout outcomes of either kind an AUC interval means nothing.
    min_holdout_outcomes: int = 10
    # A single signal separating training churns from renewals this well months ahead is far
    # likelier to carry the outcome (a leak) than to measure health: nothing is proposed then.
    leak_auc: float = 0.95
    # Segment estimates count as `n` outcomes of the rarer kind against `shrinkage_k` for the
    # global fit: (n·segment + k·global) / (n + k).
    shrinkage_k: float = 100.0
    l1_ratio: float = 0.5
    alpha_grid: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)
    cv_folds: int = 5
    # Red cut-off: catch this share of churns at the lowest false-alarm rate, unless that costs
    # more than `max_false_alarm` of renewals.
    target_recall: float = 0.7
    max_false_alarm: float = 0.2
    # Green cut-off: at most this share of churned accounts scored green.
    green_churn_share: float = 0.1
    alert_horizon_days: int = 60
    # Daily history replayed before each held-out decision: hysteresis warm-up and lead time.
    lookback_days: int = 365
    # Daily history replayed before a training decision's alert date to choose the red cut-off.
    warmup_days: int = 90
    # A daily status older than this is not taken as the status at a date.
    max_staleness_days: int = 7
    probability_band_width: int = 5
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)
