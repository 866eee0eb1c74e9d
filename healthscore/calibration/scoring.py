"""The health-score rule of DESIGN §6 in numpy, so candidate weights are judged by exactly the
score dbt will publish once they are applied: weighted mean over signals with data, coverage,
gate cap, and red status with hysteresis."""

from __future__ import annotations

import numpy as np
import pandas as pd

from healthscore.calibration.seeds import ScoreConfig


def per_row(table: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """A per-segment table looked up for every row; an unknown segment is a contract error."""
    position = table.index.get_indexer(segments)
    if (position < 0).any():
        unknown = sorted(map(str, set(segments[position < 0])))
        raise ValueError(f"no configuration for segments {unknown}")
    return pd.DataFrame(table.to_numpy(dtype=float)[position], columns=table.columns)


def health_score(
    signal_scores: pd.DataFrame, segments: pd.Series, adopted: pd.Series, config: ScoreConfig
) -> pd.DataFrame:
    """Score and coverage per row. `adopted` False caps the score; unknown (null) does not, since
    a missing gate is no evidence the core feature was never used."""
    signals = list(config.weights.columns)
    values = signal_scores.reindex(columns=signals).to_numpy(dtype=float, na_value=np.nan)
    weights = per_row(config.weights, segments).to_numpy(dtype=float)
    has_data = ~np.isnan(values)
    covered = (weights * has_data).sum(axis=1)
    weighted = (weights * np.where(has_data, values, 0.0)).sum(axis=1)
    score = np.full(len(values), np.nan)
    np.divide(weighted, covered, out=score, where=covered > 0)
    bands = per_row(config.bands, segments)
    never = adopted.eq(False).fillna(False).to_numpy(dtype=bool)
    score = np.where(never, np.minimum(score, bands["gate_cap"].to_numpy()), score)
    # Rounded like the published score, so a replayed colour is the colour dbt would publish.
    score = np.round(score, 1)
    coverage = covered / weights.sum(axis=1)
    return pd.DataFrame({"score": score, "coverage": coverage}, index=signal_scores.index)


def _coloured(scored: pd.DataFrame, bands: pd.DataFrame) -> np.ndarray:
    return (scored["coverage"].to_numpy() >= bands["min_coverage"].to_numpy()) & scored[
        "score"
    ].notna().to_numpy()


def red_now(scored: pd.DataFrame, segments: pd.Series, config: ScoreConfig) -> np.ndarray:
    """Red judged from one day alone, for rows without the daily history hysteresis needs."""
    bands = per_row(config.bands, segments)
    return _coloured(scored, bands) & (scored["score"].to_numpy() < bands["red_below"].to_numpy())


def _last_flagged(flags: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    """For each row, the position of the latest flagged row at or before it within its group,
    or -1. A running maximum only ever looks back, so no row is influenced by a later one."""
    last = np.maximum.accumulate(np.where(flags, np.arange(len(flags)), -1))
    return np.where(last >= group_start, last, -1)


def red_history(daily: pd.DataFrame, config: ScoreConfig) -> pd.DataFrame:
    """Red status per account-day with hysteresis, the first day of the ongoing red spell, and
    the account's first replayed day.

    `daily` has account_id, date, segment, score, coverage. Entering red needs a score below
    red_below, leaving it needs red_exit_at; in between, and on days without a colour, the
    previous state holds. Rows come back sorted by account and date.
    """
    frame = daily.sort_values(["account_id", "date"], kind="stable").reset_index(drop=True)
    bands = per_row(config.bands, frame["segment"])
    score = frame["score"].to_numpy()
    coloured = _coloured(frame, bands)
    enter = coloured & (score < bands["red_below"].to_numpy())
    leave = coloured & (score >= bands["red_exit_at"].to_numpy())
    account = frame["account_id"].to_numpy()
    new_account = np.ones(len(account), dtype=bool)
    new_account[1:] = account[1:] != account[:-1]
    group_start = np.maximum.accumulate(np.where(new_account, np.arange(len(frame)), 0))
    last_event = _last_flagged(enter | leave, group_start)
    red = (last_event >= 0) & enter[np.maximum(last_event, 0)] & coloured
    spell_start = red & (new_account | ~np.r_[False, red[:-1]])
    first = _last_flagged(spell_start, group_start)
    dates = frame["date"].to_numpy()
    red_since = np.where(red, dates[np.maximum(first, 0)], np.datetime64("NaT"))
    # A spell that began on the first replayed day may have begun earlier: its length is a floor.
    return frame.assign(red=red, red_since=red_since, replay_start=dates[group_start])
