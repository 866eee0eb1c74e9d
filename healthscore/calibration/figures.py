"""Charts for the report and for Dagster, as base64 PNG so both can embed them with no files
beside them. Figures are drawn on matplotlib's object API (no pyplot), which keeps no global
state and needs no display."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from healthscore.calibration.narrative import CANDIDATE_LABELS, WARNING_LABELS

COLOURS = {
    "template": "#8c8c8c",
    "calibrated_current_bands": "#9ecae1",
    "calibrated": "#1f6fb4",
}
FIGURE_TITLES = {
    "roc": "ROC curves on held-out decisions",
    "reliability": "Reliability of churn probabilities",
    "lead_time": "Days red before churn",
    "weights": "Weights before and after",
    "signal_auc": "Per-signal ROC AUC",
}


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def roc_figure(roc: dict[int, dict[str, tuple]], ranking: dict[int, dict[str, dict]]) -> str:
    horizons = sorted(roc, reverse=True)
    fig = Figure(figsize=(5 * len(horizons), 4.6))
    for i, horizon in enumerate(horizons, start=1):
        ax = fig.add_subplot(1, len(horizons), i)
        ax.plot([0, 1], [0, 1], color="#cccccc", linestyle="--", label="chance (0.50)")
        for key, (fpr, tpr) in roc[horizon].items():
            auc = ranking[horizon][key]["auc"]
            label = f"{CANDIDATE_LABELS[key]} ({auc:.2f})"
            ax.plot(fpr, tpr, color=COLOURS[key], linewidth=2, label=label)
        ax.set(
            title=f"{horizon} days before the decision",
            xlabel="renewals flagged (false-alarm rate)",
            ylabel="churns flagged (recall)",
            xlim=(0, 1),
            ylim=(0, 1),
        )
        ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def reliability_figure(reliability: dict[str, pd.DataFrame]) -> str:
    fig = Figure(figsize=(5, 4.6))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="#cccccc", linestyle="--", label="perfectly calibrated")
    largest = max((t["n"].max() for t in reliability.values() if len(t)), default=1)
    for key, table in reliability.items():
        ax.plot(table["predicted"], table["observed"], color=COLOURS[key], alpha=0.6)
        # Marker area follows the decisions in a bin, so a wild point from two decisions reads
        # as the noise it is.
        ax.scatter(
            table["predicted"],
            table["observed"],
            s=15 + 250 * table["n"] / largest,
            color=COLOURS[key],
            label=CANDIDATE_LABELS[key],
        )
    ax.set(
        title="marker area: decisions in the bin",
        xlabel="predicted churn probability",
        ylabel="observed churn share",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def lead_time_figure(warning: dict[str, dict], alert_horizon: int) -> str:
    fig = Figure(figsize=(6.5, 4))
    ax = fig.add_subplot()
    shown = [k for k in ("template", "calibrated") if k in warning]
    longest = max(
        (w["lead_times"].max() for w in warning.values() if len(w["lead_times"])), default=1
    )
    bins = np.linspace(0, max(longest, 1), 16)
    for key in shown:
        times = warning[key]["lead_times"]
        label = f"{WARNING_LABELS[key]} ({len(times)} of {warning[key]['churned']} churns red)"
        ax.hist(times, bins=bins, alpha=0.6, color=COLOURS[key], label=label)
    ax.axvline(alert_horizon, color="#cc4444", linestyle="--", label=f"{alert_horizon} days")
    ax.set(xlabel="days continuously red before churn", ylabel="churned accounts")
    ax.legend(fontsize=8)
    return _png(fig)


def weights_figure(before: pd.DataFrame, after: pd.DataFrame) -> str:
    signals = list(after.columns)
    segments = list(after.index)
    fig = Figure(figsize=(4 * len(segments), 0.35 * len(signals) + 1.6))
    y = np.arange(len(signals))
    for i, segment in enumerate(segments, start=1):
        ax = fig.add_subplot(1, len(segments), i)
        old = before.reindex(index=[segment], columns=signals).fillna(0.0).iloc[0]
        ax.barh(y + 0.2, old, height=0.4, color=COLOURS["template"], label="current")
        ax.barh(
            y - 0.2, after.loc[segment], height=0.4, color=COLOURS["calibrated"], label="calibrated"
        )
        ax.set_yticks(y, signals if i == 1 else [""] * len(signals))
        ax.invert_yaxis()
        ax.set(title=segment, xlabel="weight (of 100)")
        if i == 1:
            ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def signal_auc_figure(signals: pd.DataFrame) -> str:
    table = signals.dropna(subset=["auc"]).sort_values("auc")
    fig = Figure(figsize=(6.5, 0.35 * len(table) + 1.4))
    ax = fig.add_subplot()
    y = np.arange(len(table))
    errors = [table["auc"] - table["auc_low"], table["auc_high"] - table["auc"]]
    ax.errorbar(table["auc"], y, xerr=errors, fmt="o", color=COLOURS["calibrated"], capsize=3)
    ax.axvline(0.5, color="#cc4444", linestyle="--", label="no information (0.50)")
    ax.set_yticks(y, table["signal"])
    ax.set(xlabel="ROC AUC of a low score predicting churn (95% interval)", xlim=(0.2, 1))
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)
