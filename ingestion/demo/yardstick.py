"""The demo's hidden truth as a yardstick: how well the true health itself ranks a set of renewal
decisions, so a calibrated score can be judged against the best any score could do."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
from sklearn.metrics import roc_auc_score


def hidden_health_auc(decisions: pd.DataFrame, truth_file: Path) -> float:
    """ROC AUC of low true health predicting churn on `decisions` (account_id, as_of_date,
    churned), reading the health of each decision's as-of date from the ground-truth file."""
    with duckdb.connect() as con:
        con.register("decisions", decisions[["account_id", "as_of_date", "churned"]])
        joined = con.execute(
            "select d.churned, t.true_health from decisions as d "
            "inner join read_parquet(?) as t "
            "on d.account_id = t.account_id and cast(d.as_of_date as date) = t.date",
            [str(truth_file)],
        ).df()
    if len(joined) != len(decisions):
        raise ValueError(
            f"{len(decisions) - len(joined)} decisions have no true health on their as-of date "
            f"in {truth_file}"
        )
    return float(roc_auc_score(joined["churned"], 100 - joined["true_health"]))
