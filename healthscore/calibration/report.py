"""The calibration report: one self-contained HTML file (figures embedded as base64 PNG) a
person reads top-down: verdict, plain-language summary, then figures and tables for checking.
Rendered from the recorded metrics, so the page and metrics.json cannot disagree."""

from __future__ import annotations

from html import escape

from healthscore.calibration.figures import FIGURE_TITLES
from healthscore.calibration.narrative import (
    CANDIDATE_LABELS,
    WARNING_LABELS,
    num,
    pct,
    summary_points,
)

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
.verdict{padding:1em 1.2em;border-radius:6px;font-size:1.1em;margin:1em 0}
.supported{background:#e6f4ea;border:2px solid #2e7d32}
.unsupported{background:#fdecea;border:2px solid #c62828}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.3em .6em;
text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f5f5f5}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}img{max-width:100%}
.pass{color:#2e7d32}.fail{color:#c62828;font-weight:bold}code{background:#f5f5f5;padding:0 .2em}
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdict(m: dict) -> str:
    css = "supported" if m["supported"] else "unsupported"
    title = "Supported" if m["supported"] else "Not supported"
    checks = "".join(
        f"<li class='{'pass' if g['passed'] else 'fail'}'>{'✓' if g['passed'] else '✗'} "
        f"{escape(g['name'])}: {escape(g['detail'])}</li>"
        for g in m["guardrails"]
    )
    return (
        f"<div class='verdict {css}' id='verdict'><strong>{title}.</strong> "
        f"{escape(m['verdict'])}<ul>{checks}</ul></div>"
    )


def _ranking_table(m: dict) -> str:
    ranking = m.get("ranking") or {}
    columns = [(h, k) for h in sorted(ranking, key=int, reverse=True) for k in ranking[h]]
    if not columns:
        return "<p>Not computed: too few outcomes to fit and test weights.</p>"
    header = ["", *[f"{CANDIDATE_LABELS[k]}, {h} days" for h, k in columns]]
    fields = [
        ("ROC AUC", lambda f: num(f["auc"])),
        ("95% interval", lambda f: f"{num(f['auc_low'])} to {num(f['auc_high'])}"),
        ("PR AUC", lambda f: num(f["pr_auc"])),
        ("lift, riskiest 10%", lambda f: num(f["lift_top_decile"], 1) + " times"),
        ("Brier score", lambda f: num(f["brier"], 3)),
        ("calibration error (ECE)", lambda f: num(f["ece"], 3)),
        ("ECE from chance alone", lambda f: num(f["ece_noise_floor"], 3)),
        ("ARR at risk (predicted)", lambda f: f"{f['arr_at_risk']:,.0f}"),
        ("ARR that churned", lambda f: f"{f['arr_churned']:,.0f}"),
        ("decisions (churns)", lambda f: f"{f['n']} ({f['churned']})"),
    ]
    rows = [[name, *[show(ranking[h][k]) for h, k in columns]] for name, show in fields]
    return _table(header, rows)


def _warning_table(m: dict) -> str:
    warning = m.get("warning") or {}
    if not warning:
        return ""
    alert = m["data"]["alert_horizon"]
    header = [
        "",
        f"churns red {alert} days ahead",
        f"renewals red {alert} days ahead",
        "churns red at churn",
        "median days red before churn",
    ]
    rows = [
        [
            WARNING_LABELS[key],
            pct(w["recall"]),
            pct(w["false_alarm"]),
            pct(w["red_at_churn"]),
            num(w["lead_time_median"], 0),
        ]
        for key, w in warning.items()
    ]
    return _table(header, rows)


def _weights_table(m: dict) -> str:
    before, after = m["weights"]["template"], m["weights"]["calibrated"]
    segments = list(after)
    signals = list(dict.fromkeys(s for seg in segments for s in after[seg]))
    rows = [
        [s, *[f"{num(before.get(g, {}).get(s, 0.0), 1)} → {num(after[g][s], 1)}" for g in segments]]
        for s in signals
    ]
    return _table(["signal", *segments], rows)


def _bands_table(m: dict) -> str:
    before, after = m["bands"]["template"], m["bands"]["proposed"]
    fields = ("red_below", "red_exit_at", "green_at")
    rows = [
        [seg, *[f"{num(before[seg][f], 0)} → {num(after[seg][f], 0)}" for f in fields]]
        for seg in after
    ]
    return _table(["segment", "red below", "leave red at", "green from"], rows)


def _signals_table(m: dict) -> str:
    rows = [
        [
            s["signal"],
            pct(s["coverage"]),
            num(s["auc"]),
            f"{num(s['auc_low'])} to {num(s['auc_high'])}",
            s["direction"],
            s["verdict"],
        ]
        for s in m.get("signals", [])
    ]
    header = ["signal", "coverage", "ROC AUC", "95% interval", "direction", "verdict"]
    return _table(header, rows) if rows else ""


def _figures(figures: dict[str, str]) -> str:
    return "".join(
        f"<figure id='fig-{name}'><img alt='{escape(FIGURE_TITLES[name])}' "
        f"src='data:image/png;base64,{data}'><figcaption>{escape(FIGURE_TITLES[name])}"
        "</figcaption></figure>"
        for name, data in figures.items()
    )


def _method(m: dict) -> str:
    d, p = m["data"], m["params"]
    fit = m.get("fit") or {}
    notes = [
        f"Features are signal scores as of {', '.join(map(str, d['horizons']))} days before each "
        "decision; weights are fitted at the longest horizon and cut-offs at the alert horizon "
        f"({d['alert_horizon']} days).",
        f"Out-of-time split: the newest {m['holdout_share']:.0%} of decisions are held out "
        f"(from {d.get('cut_date') or 'n/a'}); weights, cut-offs and probabilities are fitted on "
        "the older ones only, and the proposal is exactly what was tested.",
        "Model: logistic regression on 100 - signal score with one intercept per segment, "
        "non-negative coefficients and an "
        f"elastic-net penalty (L1 share {p['l1_ratio']}, strength {num(fit.get('alpha'), 4)} "
        "chosen by cross-validation, one-standard-error rule); missing scores imputed with the "
        "segment median. Weights are the coefficients normalised to 100.",
        f"Segments: own fit shrunk toward the all-segment fit as (n·segment + "
        f"{p['shrinkage_k']:g}·global)/(n + {p['shrinkage_k']:g}), n = outcomes of the rarer "
        f"kind: {', '.join(f'{s} {n}' for s, n in (fit.get('outcomes') or {}).items())}.",
        "Churn probability: isotonic regression of churn on score per segment, shrunk the same "
        f"way, published in {p['probability_band_width']}-point score bands. The current "
        "weights get a probability map fitted the same way, so Brier scores compare like with "
        "like.",
        f"Red cut-off: the lowest that caught {p['target_recall']:.0%} of training churns, unless "
        f"that flagged over {p['max_false_alarm']:.0%} of renewals; green: the score at most "
        f"{p['green_churn_share']:.0%} of churned accounts reached. Early-warning figures replay "
        "daily history with hysteresis.",
        f"Intervals: {p['n_bootstrap']} stratified bootstrap resamples, 95% percentile.",
    ]
    return "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in notes) + "</ul>"


def _apply_hint(m: dict) -> str:
    command = f"<code>healthscore calibrate --apply {escape(m['version'])}</code>"
    if m["supported"]:
        return f"After review, apply with {command}."
    return f"{command} refuses this proposal unless explicitly overridden."


def render_report(m: dict, figures: dict[str, str]) -> str:
    summary = "".join(f"<li>{escape(p)}</li>" for p in summary_points(m))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Health score calibration {escape(m["version"])}</title><style>{_STYLE}</style></head>
<body>
<h1>Health score calibration — proposal {escape(m["version"])}</h1>
<p>Created {escape(m["created_at"])}. {_apply_hint(m)}</p>
{_verdict(m)}
<h2>In plain words</h2><ul id="summary">{summary}</ul>
<h2>Held-out performance</h2>{_ranking_table(m)}{_warning_table(m)}
<h2>Figures</h2>{_figures(figures)}
<h2>Proposed configuration</h2>{_weights_table(m)}{_bands_table(m)}
<h2>Signals one at a time</h2>{_signals_table(m)}
<h2>Method and data</h2>{_method(m)}
</body></html>
"""
