"""Which window length to give a sparse signal, judged on training decisions only.

Builds the default demo once, then for each candidate window of one signal rewrites that
signal's row of the loaded `signal_definitions` seed, rebuilds the models downstream of it, and
scores the calibrated fit by repeated stratified cross-validation on the *training* decisions
(the out-of-time holdout stays unseen, so choosing a window cannot tune to it). The hidden true
health's AUC on the same decisions is printed as the ceiling, measured in the same run.

    .venv/bin/python bench/bench_signal_windows.py [--signal ticket_sentiment] \
        [--windows 90 120 180 270 365]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from bench_calibration import build
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from healthscore import settings
from healthscore.calibration.backtest import score_observations
from healthscore.calibration.fit import fit_weights
from healthscore.calibration.observations import load_observations, split_out_of_time
from healthscore.calibration.params import CalibrationParams
from healthscore.calibration.seeds import read_config
from healthscore.dbt_runner import run_dbt
from ingestion.demo.yardstick import hidden_health_auc

HORIZON = 90
HOLDOUT_SHARE = 0.25  # run_calibration's default: the same training decisions it fits on


def training_decisions(warehouse: Path) -> tuple[pd.DataFrame, list[str]]:
    observations, signals = load_observations(warehouse)
    train = split_out_of_time(observations, HOLDOUT_SHARE).train
    return train.loc[train["horizon_days"] == HORIZON].reset_index(drop=True), signals


def cross_validated_auc(train: pd.DataFrame, signals: list[str], repeats: int = 3) -> float:
    """Mean out-of-fold ROC AUC of the published score under weights fitted on the other folds."""
    template = read_config(settings.DBT_PROJECT_DIR / "seeds")
    params = CalibrationParams()
    aucs = []
    for seed in range(repeats):
        scores = np.full(len(train), np.nan)
        folds = StratifiedKFold(5, shuffle=True, random_state=seed)
        for fit_rows, test_rows in folds.split(train, train["churned"]):
            fit = fit_weights(train.iloc[fit_rows], signals, list(template.weights.index), params)
            weights = fit.weights.reindex(columns=template.weights.columns).fillna(0.0)
            config = replace(template, weights=weights)
            test = train.iloc[test_rows].reset_index(drop=True)
            scores[test_rows] = score_observations(test, config)["score"].to_numpy()
        aucs.append(roc_auc_score(train["churned"], -scores))
    return float(np.mean(aucs))


def set_window(warehouse: Path, signal: str, days: int) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update main.signal_definitions set window_days = ? where signal = ?", [days, signal]
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signal", default="ticket_sentiment")
    parser.add_argument("--windows", type=int, nargs="+", default=[90, 120, 180, 270, 365])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        warehouse = build(root, args.accounts, args.seed, churn_driven_by_health=True)
        train, signals = training_decisions(warehouse)
        ceiling = hidden_health_auc(
            train, root / "demo" / "ground_truth" / "account_health_daily.parquet"
        )
        churns = int(train["churned"].sum())
        print(f"{len(train)} training decisions ({churns} churns) at {HORIZON} days")
        print(f"hidden true health on them: AUC {ceiling:.3f} (ceiling)")
        for days in args.windows:
            started = time.perf_counter()
            set_window(warehouse, args.signal, days)
            # Seeds are not reloaded: the edited row stands for the seed until the next build.
            run_dbt(
                ["run", "--select", "int_signal_windows+"],
                warehouse=warehouse,
                target_path=root / "target",
                quiet=True,
            )
            train, signals = training_decisions(warehouse)
            auc = cross_validated_auc(train, signals)
            elapsed = time.perf_counter() - started
            label = f"{args.signal} over {days:>3} days"
            print(f"{label}: cross-validated AUC {auc:.3f} ({elapsed:.0f}s)")


if __name__ == "__main__":
    main()
