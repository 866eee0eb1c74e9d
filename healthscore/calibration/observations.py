"""Calibration inputs from the warehouse, and the checks that keep the future out of them.

Connections are read-only and closed at once: DuckDB allows one writer, and a calibration run
must never hold the file while dbt or dlt wants it (DESIGN §3).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

OBSERVATIONS_TABLE = "main.fct_calibration_observations"
HISTORY_TABLE = "main.fct_account_signals_daily"
DEFINITIONS_TABLE = "main.signal_definitions"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


class LeakageError(ValueError):
    """Inputs that would let information from after the scoring date into a feature."""


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    holdout: pd.DataFrame
    cut_date: pd.Timestamp


def as_day(values: pd.Series) -> pd.Series:
    """Dates as midnight timestamps of one resolution, so warehouse and pandas dates join."""
    return pd.to_datetime(values).dt.normalize().astype("datetime64[ns]")


def _query(warehouse: Path, sql: str, params: list | None = None, **frames) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set enable_progress_bar = false")  # a library must not draw on the terminal
        for name, frame in frames.items():
            con.register(name, frame)
        return con.execute(sql, params or []).df()


def load_observations(warehouse: Path) -> tuple[pd.DataFrame, list[str]]:
    """The training set and its weighted signals: those the signal definitions name that the
    observations carry as columns — the same list dbt built the columns from, so a signal added
    there is calibrated without a code change."""
    frame = _query(warehouse, f"select * from {OBSERVATIONS_TABLE}")
    defined = _query(warehouse, f"select signal from {DEFINITIONS_TABLE} where not is_gate")
    signals = [s for s in defined["signal"] if s in frame.columns]
    return prepare_observations(frame, signals), signals


def prepare_observations(frame: pd.DataFrame, signals: list[str]) -> pd.DataFrame:
    """Normalise types and refuse rows whose features could postdate their scoring date."""
    numeric = [*signals, *(c for c in ("arr", "template_score") if c in frame)]
    frame = frame.astype(dict.fromkeys(numeric, float)).assign(
        decision_date=as_day(frame["decision_date"]),
        as_of_date=as_day(frame["as_of_date"]),
        churned=frame["churned"].astype(int),
        horizon_days=frame["horizon_days"].astype(int),
        segment=frame["segment"].astype(str),
    )
    expected = frame["decision_date"] - pd.to_timedelta(frame["horizon_days"], unit="D")
    late = frame["as_of_date"] > expected
    if late.any():
        example = frame.loc[late].iloc[0]
        raise LeakageError(
            f"{int(late.sum())} observations are scored after decision_date - horizon, e.g. "
            f"decision {example['decision_id']} as of {example['as_of_date']:%Y-%m-%d}"
        )
    mismatch = frame["churned"] != (frame["outcome"] == "churned").astype(int)
    if mismatch.any():
        raise ValueError(
            f"{int(mismatch.sum())} observations have churned disagreeing with outcome"
        )
    return frame.sort_values(["decision_date", "decision_id", "horizon_days"], ignore_index=True)


def split_out_of_time(observations: pd.DataFrame, holdout_share: float) -> Split:
    """Hold out the newest decisions; every training decision was made before the first held-out
    one, and both horizons of a decision fall on the same side."""
    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout_share must be between 0 and 1, got {holdout_share}")
    decisions = observations.drop_duplicates("decision_id")["decision_date"].sort_values()
    held = max(1, math.ceil(holdout_share * len(decisions)))
    cut_date = decisions.iloc[len(decisions) - held]
    newest = observations["decision_date"] >= cut_date
    return Split(observations.loc[~newest], observations.loc[newest], cut_date)


def load_daily_signals(warehouse: Path, windows: pd.DataFrame, signals: list[str]) -> pd.DataFrame:
    """Daily signal scores, one row per account-day and one column per signal, for the days
    inside the given windows (account_id, start, end; both ends included) and no others.

    The gate becomes `adopted`: false where its score is 0 (dbt caps those), null where unknown.
    Overlapping windows repeat a row in the join, which max() absorbs."""
    for name in signals:
        if not _IDENTIFIER.match(name):
            raise ValueError(f"signal name {name!r} is not a plain identifier")
    columns = "".join(
        f",\n max(case when h.signal = '{name}' then h.signal_score end) as {name}"
        for name in signals
    )
    frame = _query(
        warehouse,
        f"""
        select h.account_id, h.date_day as date, max(h.segment) as segment,
          max(case when h.is_gate then h.signal_score end) > 0 as adopted{columns}
        from {HISTORY_TABLE} h
        join windows w
          on w.account_id = h.account_id and h.date_day between w.start and w.end
        group by h.account_id, h.date_day
        """,
        windows=windows[["account_id", "start", "end"]],
    )
    return frame.assign(date=as_day(frame["date"]))
