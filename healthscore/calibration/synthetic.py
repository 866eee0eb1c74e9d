"""Planted datasets with a known truth, in the warehouse shapes calibration reads.

A hidden health drifts day by day; some signals measure it, the rest are noise; churn at a
renewal depends on the hidden health some months before (or, in the independent variant, on
nothing). Calibration run on these must find the planted signals, and find nothing in the
independent one. The tests use them; they also let the orchestration be exercised without a
dbt build.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.special import expit

from healthscore.calibration.fit import round_to_total
from healthscore.calibration.observations import (
    DEFINITIONS_TABLE,
    HISTORY_TABLE,
    OBSERVATIONS_TABLE,
)
from healthscore.calibration.scoring import health_score
from healthscore.calibration.seeds import GATE_SIGNAL, ScoreConfig

INFORMATIVE = ("login_frequency", "active_user_ratio", "nps")
NOISE = ("email_engagement", "qbr_attendance", "ticket_volume")
SEGMENTS = {"smb": (0.5, -0.6), "mid_market": (0.3, -0.9), "enterprise": (0.2, -1.2)}
DEFAULT_BANDS = {"red_below": 40.0, "red_exit_at": 45.0, "green_at": 70.0}
HORIZONS = (60, 90)
# The hidden health that decides a renewal is the one this many days before it.
_CHURN_LAG = 75
_DAILY_PERSISTENCE = 0.995


@dataclass(frozen=True)
class SyntheticData:
    observations: pd.DataFrame  # fct_calibration_observations
    history: pd.DataFrame  # fct_account_signals_daily
    template: ScoreConfig  # equal weights over every signal, default bands
    # The hidden health on each observation's as_of_date, row for row: what no score can beat.
    hidden_health: pd.Series


def equal_weights_config(signals: list[str]) -> ScoreConfig:
    weights = round_to_total(pd.Series(1.0, index=signals))
    segments = list(SEGMENTS)
    bands = pd.DataFrame(
        {**DEFAULT_BANDS, "min_coverage": 0.5, "gate_cap": 49.0}, index=segments
    ).rename_axis("segment")
    return ScoreConfig(
        weights=pd.DataFrame([weights] * len(segments), index=segments),
        bands=bands,
        probability=pd.DataFrame(
            columns=["segment", "score_lower", "score_upper", "churn_probability"]
        ),
        version="template",
    )


def _drift(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Stationary AR(1) paths with unit variance: slow, persistent change like real health."""
    shocks = rng.normal(size=shape) * np.sqrt(1 - _DAILY_PERSISTENCE**2)
    shocks[:, 0] = rng.normal(size=shape[0])
    path = np.empty(shape)
    path[:, 0] = shocks[:, 0]
    for day in range(1, shape[1]):
        path[:, day] = _DAILY_PERSISTENCE * path[:, day - 1] + shocks[:, day]
    return path


def make_dataset(
    *,
    n_accounts: int = 400,
    days: int = 700,
    churn_follows_health: bool = True,
    strength: float = 2.2,
    seed: int = 0,
    start: str = "2023-01-01",
) -> SyntheticData:
    rng = np.random.default_rng(seed)
    signals = [*INFORMATIVE, *NOISE]
    accounts = np.array([f"A{i:04d}" for i in range(n_accounts)])
    names = list(SEGMENTS)
    segment = rng.choice(names, n_accounts, p=[SEGMENTS[s][0] for s in names])
    health = _drift(rng, (n_accounts, days))
    scores = {}
    for signal in signals:
        driver = health if signal in INFORMATIVE else _drift(rng, (n_accounts, days))
        noise = rng.normal(scale=8.0, size=(n_accounts, days))
        scores[signal] = np.clip(50 + 18 * driver + noise, 0, 100)
    scores["nps"][rng.random(n_accounts) < 0.3] = np.nan
    adopted = rng.random(n_accounts) > 0.05

    decisions, last_day = [], np.full(n_accounts, days - 1)
    for a in range(n_accounts):
        day = int(rng.integers(200, 300))
        while day < days:
            logit = SEGMENTS[segment[a]][1]
            if churn_follows_health:
                logit -= strength * health[a, day - _CHURN_LAG]
            churned = bool(rng.random() < expit(logit))
            decisions.append((a, day, churned))
            if churned:
                last_day[a] = day
                break
            day += 365

    dates = pd.Timestamp(start) + pd.to_timedelta(np.arange(days), unit="D")
    template = equal_weights_config(signals)
    rows, hidden = [], []
    for k, (a, day, churned) in enumerate(decisions):
        for horizon in HORIZONS:
            hidden.append(health[a, day - horizon])
            rows.append(
                {
                    "decision_id": f"D{k:05d}",
                    "account_id": accounts[a],
                    "segment": segment[a],
                    "decision_date": dates[day],
                    "outcome": "churned" if churned else "renewed",
                    "churned": int(churned),
                    "horizon_days": horizon,
                    "as_of_date": dates[day - horizon],
                    "arr": float(rng.integers(5, 200) * 1000),
                    GATE_SIGNAL: bool(adopted[a]),
                    **{s: scores[s][a, day - horizon] for s in signals},
                }
            )
    observations = pd.DataFrame(rows)
    template_score = health_score(
        observations[signals], observations["segment"], observations[GATE_SIGNAL], template
    )["score"]
    observations = observations.assign(template_score=template_score)
    history = _history(accounts, segment, dates, scores, adopted, last_day)
    return SyntheticData(observations, history, template, pd.Series(hidden, name="hidden_health"))


def _history(accounts, segment, dates, scores, adopted, last_day) -> pd.DataFrame:
    """Long daily table; an account's history stops on the day it churned."""
    days = len(dates)
    alive = np.arange(days)[None, :] <= last_day[:, None]
    account_index, day_index = np.nonzero(alive)
    gate = np.repeat(adopted[:, None], days, axis=1).astype(float)
    frames = []
    for signal, values in [*scores.items(), (GATE_SIGNAL, gate * 100)]:
        score = values[account_index, day_index]
        frames.append(
            pd.DataFrame(
                {
                    "account_id": accounts[account_index],
                    "date_day": dates[day_index],
                    "segment": segment[account_index],
                    "signal": signal,
                    "is_gate": signal == GATE_SIGNAL,
                    "raw_value": score / 100,
                    "signal_score": score,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_warehouse(path: Path, data: SyntheticData) -> Path:
    """The three tables calibration reads, as dbt would have built them."""
    signals = [*data.template.weights.columns, GATE_SIGNAL]
    definitions = pd.DataFrame({"signal": signals, "is_gate": [s == GATE_SIGNAL for s in signals]})
    with duckdb.connect(str(path)) as con:
        tables = (
            (OBSERVATIONS_TABLE, data.observations),
            (HISTORY_TABLE, data.history),
            (DEFINITIONS_TABLE, definitions),
        )
        for table, frame in tables:
            con.register("frame", frame)
            con.execute(f"create or replace table {table} as select * from frame")
            con.unregister("frame")
    return path
