"""One signal at a time: does its score alone separate churns from renewals, and in which
direction? Read beside the weights, this tells a person whether a zero weight means "no
information" or "information another signal already carries"."""

from __future__ import annotations

import numpy as np
import pandas as pd

from healthscore.calibration.metrics import auc_interval, roc_auc

INFORMATIVE = "informative"
INVERTED = "inverted"
NO_EVIDENCE = "no evidence"
NO_DATA = "no data"
SUSPECTED_LEAK = "suspected leak"


def analyse_signals(
    frame: pd.DataFrame,
    signals: list[str],
    *,
    n_boot: int,
    rng: np.random.Generator,
    leak_auc: float,
) -> pd.DataFrame:
    """Per signal: coverage, ROC AUC of a low score predicting churn with its bootstrap
    interval, and a verdict. AUC above 0.5 means a higher score goes with fewer churns, as a
    health signal should; an interval entirely below 0.5 means the signal points the wrong way;
    an AUC of `leak_auc` or more is too good to be true for health measured months ahead."""
    rows = []
    y_all = frame["churned"].to_numpy()
    for signal in signals:
        has = frame[signal].notna().to_numpy()
        y, risk = y_all[has], -frame.loc[has, signal].to_numpy(dtype=float)
        auc = roc_auc(y, risk)
        low, high = auc_interval(y, risk, n_boot=n_boot, rng=rng)
        rows.append(
            {
                "signal": signal,
                "coverage": float(has.mean()) if len(has) else 0.0,
                "n": int(has.sum()),
                "churned": int(y.sum()),
                "auc": auc,
                "auc_low": low,
                "auc_high": high,
                "direction": _direction(auc),
                "verdict": SUSPECTED_LEAK if auc >= leak_auc else _verdict(low, high),
            }
        )
    return pd.DataFrame(rows)


def _direction(auc: float) -> str:
    if np.isnan(auc):
        return ""
    return "higher score, less churn" if auc >= 0.5 else "higher score, more churn"


def _verdict(low: float, high: float) -> str:
    if np.isnan(low):
        return NO_DATA
    if low > 0.5:
        return INFORMATIVE
    if high < 0.5:
        return INVERTED
    return NO_EVIDENCE
