"""The words a person reads: headline lines for the command line, plain-language points for the
report and for Dagster. Built from metrics.json alone, so every number is one that was computed
and recorded, never typed in."""

from __future__ import annotations

import math

from healthscore.calibration.signal_analysis import (
    INFORMATIVE,
    INVERTED,
    NO_EVIDENCE,
    SUSPECTED_LEAK,
)

CANDIDATE_LABELS = {"template": "current weights", "calibrated": "calibrated weights"}
WARNING_LABELS = {
    "template": "current weights, current cut-offs",
    "calibrated_current_bands": "calibrated weights, current cut-offs",
    "calibrated": "calibrated weights, proposed cut-offs",
}


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def pct(x) -> str:
    return "n/a" if _missing(x) else f"{x:.0%}"


def num(x, digits: int = 2) -> str:
    return "n/a" if _missing(x) else f"{x:.{digits}f}"


def headline_lines(m: dict) -> list[str]:
    h = m["headline"]
    lines = [
        f"Calibration proposal {m['version']}: "
        + ("SUPPORTED" if m["supported"] else "NOT SUPPORTED"),
        m["verdict"],
    ]
    if not _missing(h.get("auc_calibrated")):
        lines += [
            f"Holdout ROC AUC at {h['horizon_days']} days: current weights "
            f"{num(h['auc_template'])}, calibrated {num(h['auc_calibrated'])} "
            f"(95% interval {num(h['auc_calibrated_low'])} to {num(h['auc_calibrated_high'])})",
            f"Red at least {h['alert_horizon_days']} days before churn: "
            f"{pct(h['recall_red'])} of churns (current {pct(h['recall_red_template'])}); "
            f"renewals red at the same horizon: {pct(h['false_alarm'])} "
            f"(current {pct(h['false_alarm_template'])})",
            f"Churn probability calibration error (ECE): {num(h['ece'], 3)}",
        ]
    return [*lines, f"Report: {h['report']}"]


def _data_point(m: dict) -> str:
    d = m["data"]
    text = (
        f"Based on {d['decisions']} contract decisions ({d['churned']} churns, {d['renewed']} "
        f"renewals) made between {d['first_decision']} and {d['last_decision']}."
    )
    if d.get("cut_date"):
        text += (
            f" Weights were fitted on the {d['train']['decisions']} decisions made before "
            f"{d['cut_date']} and tested on the {d['holdout']['decisions']} newest "
            f"({d['holdout']['churned']} churns), which the fit never saw."
        )
    return text


def _ranking_points(m: dict) -> list[str]:
    horizon = m["data"]["fit_horizon"]
    r = m.get("ranking", {}).get(str(horizon))
    if not r:
        return []
    c, t = r["calibrated"], r["template"]
    return [
        f"Ranking: told one account churned and one renewed, the calibrated score {horizon} "
        f"days before the decision picks the churner {pct(c['auc'])} of the time (ROC AUC "
        f"{num(c['auc'])}, 95% interval {num(c['auc_low'])} to {num(c['auc_high'])}); the current "
        f"weights {pct(t['auc'])}. A coin toss gets 50%.",
        f"The riskiest tenth of held-out accounts by calibrated score churned "
        f"{num(c['lift_top_decile'], 1)} times as often as average (current weights: "
        f"{num(t['lift_top_decile'], 1)} times).",
        f"Churn probabilities are off by {num(_scaled(c['ece']), 1)} percentage points on "
        f"average (expected calibration error {num(c['ece'], 3)}; perfectly calibrated "
        f"probabilities would show about {num(c['ece_noise_floor'], 3)} on this few decisions "
        f"by chance alone); Brier score "
        f"{num(c['brier'], 3)} against {num(t['brier'], 3)} for the current weights.",
    ]


def _scaled(x):
    return None if _missing(x) else x * 100


def _warning_points(m: dict) -> list[str]:
    w = m.get("warning")
    if not w:
        return []
    c, t = w["calibrated"], w["template"]
    alert = m["data"]["alert_horizon"]
    return [
        f"Early warning: with the proposed cut-offs, {pct(c['recall'])} of held-out accounts "
        f"that churned were red {alert} days before churning, while {pct(c['false_alarm'])} of "
        f"those that renewed were red at the same point (current weights and cut-offs: "
        f"{pct(t['recall'])} and {pct(t['false_alarm'])}).",
        f"Churned accounts that were red when they churned had been red for a median of "
        f"{num(c['lead_time_median'], 0)} days (current: {num(t['lead_time_median'], 0)})"
        + _truncation(c, m["params"]["lookback_days"])
        + ".",
    ]


def _truncation(w: dict, lookback: int) -> str:
    if not w["lead_time_truncated"]:
        return ""
    return (
        f"; {w['lead_time_truncated']} had been red since the start of the {lookback} days "
        "replayed, so theirs is a lower bound"
    )


def _signal_point(m: dict) -> str | None:
    signals = m.get("signals")
    if not signals:
        return None
    groups = {
        verdict: [s["signal"] for s in signals if s["verdict"] == verdict]
        for verdict in (INFORMATIVE, NO_EVIDENCE, INVERTED)
    }
    parts = [
        f"Signals that carry information on their own: {', '.join(groups[INFORMATIVE]) or 'none'}.",
        f"No evidence of information: {', '.join(groups[NO_EVIDENCE]) or 'none'}.",
    ]
    leaks = [s["signal"] for s in signals if s["verdict"] == SUSPECTED_LEAK]
    if leaks:
        parts.append(f"Too good to be true, probably carrying the outcome: {', '.join(leaks)}.")
    if groups[INVERTED]:
        parts.append(
            f"Pointing the wrong way (a higher score goes with more churn; check the signal's "
            f"direction): {', '.join(groups[INVERTED])}."
        )
    return " ".join(parts)


def _weights_point(m: dict) -> str | None:
    if not m.get("fit", {}).get("fitted"):
        return None
    before, after = m["weights"]["template"], m["weights"]["calibrated"]
    change = {}
    for segment, weights in after.items():
        for signal, weight in weights.items():
            old = before.get(segment, {}).get(signal, 0.0)
            change.setdefault(signal, []).append(weight - old)
    mean = {s: sum(v) / len(v) for s, v in change.items()}
    biggest = sorted(mean, key=lambda s: -abs(mean[s]))[:4]
    moves = ", ".join(f"{s} {mean[s]:+.0f}" for s in biggest)
    return f"Biggest weight changes (points out of 100, averaged over segments): {moves}."


def summary_points(m: dict) -> list[str]:
    points = [
        _data_point(m),
        *_ranking_points(m),
        *_warning_points(m),
        _signal_point(m),
        _weights_point(m),
        *m.get("cautions", []),
    ]
    return [p for p in points if p]


def summary_markdown(m: dict) -> str:
    status = "Supported" if m["supported"] else "**Not supported**"
    bullets = "\n".join(f"- {p}" for p in summary_points(m))
    return f"### Calibration {m['version']}: {status}\n\n{m['verdict']}\n\n{bullets}\n"
