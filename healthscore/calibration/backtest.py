"""Out-of-time backtest: the held-out (newest) decisions, scored as each configuration would
have scored them, side by side. Early-warning figures replay the daily history with the
hysteresis of DESIGN §6, because "red 60 days before churn" is a status, not one day's score."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from healthscore.calibration import metrics
from healthscore.calibration.observations import as_day
from healthscore.calibration.params import CalibrationParams
from healthscore.calibration.probability import churn_probability
from healthscore.calibration.scoring import health_score, red_history, red_now
from healthscore.calibration.seeds import GATE_SIGNAL, ScoreConfig


@dataclass(frozen=True)
class Candidate:
    key: str  # "template" or "calibrated"
    config: ScoreConfig


@dataclass(frozen=True)
class Ranking:
    metrics: dict[str, dict]  # candidate key → figures
    roc: dict[str, tuple[np.ndarray, np.ndarray]]  # candidate key → (false-alarm, recall)
    reliability: dict[str, pd.DataFrame]


def score_observations(frame: pd.DataFrame, config: ScoreConfig) -> pd.DataFrame:
    adopted = frame[GATE_SIGNAL] if GATE_SIGNAL in frame else pd.Series(np.nan, index=frame.index)
    return health_score(frame, frame["segment"], adopted, config)


def rank_candidates(
    frame: pd.DataFrame, candidates: list[Candidate], params: CalibrationParams, rng
) -> Ranking:
    """Ranking and probability figures of every candidate on the same rows: those every
    candidate can score, so a configuration cannot look better by skipping hard cases."""
    scores = {c.key: score_observations(frame, c.config)["score"].to_numpy() for c in candidates}
    common = np.logical_and.reduce([~np.isnan(s) for s in scores.values()])
    y = frame["churned"].to_numpy()[common]
    segment = frame["segment"].to_numpy()[common]
    arr = frame["arr"].to_numpy(dtype=float)[common] if "arr" in frame else np.full(len(y), np.nan)
    figures, roc, reliability = {}, {}, {}
    for c in candidates:
        risk = -scores[c.key][common]
        low, high = metrics.auc_interval(y, risk, n_boot=params.n_bootstrap, rng=rng)
        prob = churn_probability(c.config.probability, -risk, segment)
        has_prob = ~np.isnan(prob)
        figures[c.key] = {
            "n": len(y),
            "churned": int(y.sum()),
            "auc": metrics.roc_auc(y, risk),
            "auc_low": low,
            "auc_high": high,
            "pr_auc": metrics.pr_auc(y, risk),
            "lift_top_decile": metrics.top_decile_lift(y, risk),
            "brier": metrics.brier(y[has_prob], prob[has_prob]),
            "ece": metrics.expected_calibration_error(y[has_prob], prob[has_prob]),
            # arr_at_risk summed over held-out decisions, beside the ARR that did churn.
            "arr_at_risk": float(np.nansum(prob[has_prob] * arr[has_prob])),
            "arr_churned": float(np.nansum(y[has_prob] * arr[has_prob])),
            "ece_noise_floor": metrics.ece_noise_floor(
                prob[has_prob], n_draws=min(params.n_bootstrap, 200), rng=rng
            ),
        }
        if 0 < y.sum() < len(y):
            fpr, tpr, _ = roc_curve(y, risk)
            roc[c.key] = (fpr, tpr)
        reliability[c.key] = metrics.reliability_table(y[has_prob], prob[has_prob])
    return Ranking(figures, roc, reliability)


def daily_scores(daily: pd.DataFrame, config: ScoreConfig) -> pd.DataFrame:
    """Score every account-day of a wide daily frame (see `load_daily_signals`)."""
    scored = health_score(daily, daily["segment"], daily["adopted"], config)
    return daily[["account_id", "date", "segment"]].join(scored)


def positions_on(
    rows: pd.DataFrame, date_column: str, days: pd.DataFrame, params: CalibrationParams
) -> np.ndarray:
    """For each row, the position in `days` of its account's newest day on or before the row's
    date (never after it, and no staler than `max_staleness_days`), or -1 when there is none."""

    def keys(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        return pd.DataFrame(
            {"account_id": frame["account_id"].to_numpy(), "date": as_day(frame[column]).to_numpy()}
        ).astype({"account_id": str})

    left = keys(rows, date_column).assign(_row=np.arange(len(rows)))
    left = left.sort_values("date", kind="stable")
    right = keys(days, "date").assign(_position=np.arange(len(days)))
    found = pd.merge_asof(
        left,
        right.sort_values("date", kind="stable"),
        on="date",
        by="account_id",
        direction="backward",
        tolerance=pd.Timedelta(days=params.max_staleness_days),
    ).sort_values("_row")
    return found["_position"].fillna(-1).to_numpy(dtype=int)


def _at(values: np.ndarray, positions: np.ndarray, missing):
    """values[position] where a position was found, else `missing` (a scalar or one per row)."""
    if not len(values):
        return np.broadcast_to(missing, positions.shape).copy()
    return np.where(positions >= 0, values[np.maximum(positions, 0)], missing)


@dataclass(frozen=True)
class Replay:
    """Rows (one per decision) and their accounts' daily scores, aligned once, so the red status
    on each row's as_of_date can be replayed cheaply under many bands."""

    rows: pd.DataFrame
    days: pd.DataFrame  # scored days sorted by account and date, as `red_history` returns them
    config: ScoreConfig  # weights the days were scored with; bands are replaced per replay
    as_of: np.ndarray  # position of each row's as_of_date in `days`, or -1

    @classmethod
    def build(
        cls, rows: pd.DataFrame, scored_days: pd.DataFrame, config: ScoreConfig, params
    ) -> Replay:
        rows = rows.reset_index(drop=True)
        days = scored_days.sort_values(["account_id", "date"], kind="stable")
        days = days.reset_index(drop=True)
        return cls(rows, days, config, positions_on(rows, "as_of_date", days, params))

    def red(self, bands: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Red on each row's as_of_date under `bands`: replayed with hysteresis where the account
        has daily history then, else judged from the observation row alone; and the history."""
        config = replace(self.config, bands=bands)
        history = red_history(self.days, config)
        single_day = red_now(score_observations(self.rows, config), self.rows["segment"], config)
        return _at(history["red"].to_numpy(), self.as_of, single_day), history


def warning_figures(
    alert_rows: pd.DataFrame, daily: pd.DataFrame, config: ScoreConfig, params: CalibrationParams
) -> dict:
    """Recall of churns red at the alert horizon, false alarms among renewals at the same
    horizon, and lead times: the days a churned account had been continuously red when it
    churned."""
    replay = Replay.build(alert_rows, daily_scores(daily, config), config, params)
    red, history = replay.red(config.bands)
    churned = replay.rows["churned"].to_numpy() == 1
    at_churn = positions_on(replay.rows.loc[churned], "decision_date", history, params)
    red_at_churn = _at(history["red"].to_numpy(), at_churn, False)
    since = _at(history["red_since"].to_numpy(), at_churn, np.datetime64("NaT"))
    decided = replay.rows.loc[churned, "decision_date"].to_numpy()
    lead = pd.Series((decided - since) / np.timedelta64(1, "D")).where(red_at_churn)
    replay_start = _at(history["replay_start"].to_numpy(), at_churn, np.datetime64("NaT"))
    return {
        "churned": int(churned.sum()),
        "renewed": int((~churned).sum()),
        "recall": float(red[churned].mean()) if churned.any() else np.nan,
        "false_alarm": float(red[~churned].mean()) if (~churned).any() else np.nan,
        "without_history": int((replay.as_of < 0).sum()),
        "lead_times": lead.dropna().to_numpy(dtype=float),
        "lead_time_median": float(lead.median()) if lead.notna().any() else np.nan,
        "lead_time_truncated": int((red_at_churn & (since == replay_start)).sum()),
        "red_at_churn": float(red_at_churn.mean()) if churned.any() else np.nan,
    }
