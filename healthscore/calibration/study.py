"""What one calibration run works on, shared by the steps that fit, test and record it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from healthscore.calibration.backtest import Ranking
from healthscore.calibration.fit import WeightFit
from healthscore.calibration.observations import Split
from healthscore.calibration.params import CalibrationParams
from healthscore.calibration.seeds import ScoreConfig


@dataclass(frozen=True)
class Study:
    warehouse: Path
    observations: pd.DataFrame
    split: Split
    template: ScoreConfig  # the live configuration the proposal is compared with
    signals: list[str]
    horizons: list[int]
    fit_horizon: int  # weights and probabilities are fitted at this horizon
    alert_horizon: int  # "red this many days before the decision"
    params: CalibrationParams


@dataclass(frozen=True)
class Findings:
    """What fitting on training decisions and testing on held-out ones produced."""

    fit: WeightFit
    signals: pd.DataFrame  # one row per signal, see `analyse_signals`
    calibrated: ScoreConfig  # the proposal
    ranking: dict[int, Ranking]  # horizon → ranking figures of both candidates
    warning: dict[str, dict]  # variant → early-warning figures
    cautions: list[str]


def at_horizon(frame: pd.DataFrame, horizon: int) -> pd.DataFrame:
    return frame.loc[frame["horizon_days"] == horizon].reset_index(drop=True)


def outcome_counts(frame: pd.DataFrame) -> dict:
    decisions = frame.drop_duplicates("decision_id")
    churned = int(decisions["churned"].sum())
    return {"decisions": len(decisions), "churned": churned, "renewed": len(decisions) - churned}
