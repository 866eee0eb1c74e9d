"""The record of one run — metrics.json — and the result handed to the CLI and Dagster. The
report, the headline lines and the Dagster metadata are all rendered from this one record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from healthscore.calibration import figures as charts
from healthscore.calibration.backtest import score_observations
from healthscore.calibration.guardrails import Guardrail, check_guardrails, verdict
from healthscore.calibration.narrative import headline_lines, summary_markdown
from healthscore.calibration.seeds import ScoreConfig
from healthscore.calibration.study import Findings, Study, outcome_counts

# A warehouse template_score further than this from the Python rescoring counts as a mismatch.
_SCORE_TOLERANCE = 0.5
_ECE_LIMIT = 0.05


@dataclass(frozen=True)
class CalibrationResult:
    version: str
    supported: bool
    headline: dict
    guardrails: list[Guardrail]
    proposal_dir: Path
    report_path: Path
    metrics: dict  # exactly what metrics.json holds
    figures: dict[str, str]  # name → base64 PNG

    def summary_lines(self) -> list[str]:
        """Headline figures for the command line."""
        return headline_lines(self.metrics)

    def metadata(self) -> dict[str, dict]:
        """Plain values for Dagster asset metadata, grouped by how to show them: `values`
        (numbers, flags, short text), `markdown` (the summary and one embedded chart per
        figure) and `paths`."""
        values = {
            key: value
            for key, value in self.headline.items()
            if isinstance(value, bool | int | float | str) and value == value and key != "report"
        }
        markdown = {"summary": summary_markdown(self.metrics)}
        for name, data in self.figures.items():
            title = charts.FIGURE_TITLES[name]
            markdown[f"figure_{name}"] = f"![{title}](data:image/png;base64,{data})"
        paths = {"report": str(self.report_path), "proposal": str(self.proposal_dir)}
        return {"values": values, "markdown": markdown, "paths": paths}


def _consistency_caution(observations: pd.DataFrame, template: ScoreConfig) -> list[str]:
    """The backtest rescoring must match what dbt published, or its figures describe another
    score."""
    if "template_score" not in observations:
        return []
    rescored = score_observations(observations, template)["score"]
    gap = (rescored - observations["template_score"]).abs().dropna()
    off = gap > _SCORE_TOLERANCE
    if not len(gap) or off.mean() <= 0.01:
        return []
    return [
        f"Rescoring the current weights in Python differs from the warehouse template_score on "
        f"{off.mean():.0%} of observations (largest gap {gap.max():.1f} points): the comparison "
        "may not describe the published score."
    ]


def _cautions(study: Study, found: Findings) -> list[str]:
    notes = list(found.cautions)
    fit_ranking = found.ranking[study.fit_horizon].metrics
    calibrated, template = fit_ranking["calibrated"], fit_ranking["template"]
    if calibrated["auc"] < template["auc"]:
        notes.append(
            f"The calibrated weights ranked held-out decisions worse than the current weights "
            f"(ROC AUC {calibrated['auc']:.2f} against {template['auc']:.2f})."
        )
    if calibrated["ece"] > _ECE_LIMIT:
        notes.append(
            f"Held-out churn probabilities are off by {calibrated['ece']:.1%} on average, more "
            f"than {_ECE_LIMIT:.0%} (chance alone would give about "
            f"{calibrated['ece_noise_floor']:.1%} on this many decisions): treat "
            "churn_probability as a rough guide."
        )
    without = found.warning["calibrated"]["without_history"]
    if without:
        notes.append(
            f"{without} held-out decisions had no daily history near their alert date; their "
            "status was judged from the observation alone, without hysteresis."
        )
    missing = [s for s in study.template.weights.columns if s not in study.signals]
    if missing:
        notes.append(
            f"Weighted signals missing from the observations (no data, so no weight proposed): "
            f"{', '.join(missing)}."
        )
    return notes + _consistency_caution(study.observations, study.template)


def _by_segment(table: pd.DataFrame) -> dict:
    return {segment: row.to_dict() for segment, row in table.iterrows()}


def build_metrics(study: Study, found: Findings | None, holdout_share: float) -> dict:
    """Everything the run found; `found` is None when there were too few outcomes to fit."""
    split, template = study.split, study.template
    data = {
        **outcome_counts(study.observations),
        "first_decision": study.observations["decision_date"].min(),
        "last_decision": study.observations["decision_date"].max(),
        "cut_date": split.cut_date,
        "train": outcome_counts(split.train),
        "holdout": outcome_counts(split.holdout),
        "horizons": study.horizons,
        "fit_horizon": study.fit_horizon,
        "alert_horizon": study.alert_horizon,
        "signals": study.signals,
    }
    ranking = {h: r.metrics for h, r in found.ranking.items()} if found else {}
    fitted = found.fit.fitted if found else None
    signals = found.signals.to_dict("records") if found else []
    guardrails = check_guardrails(data, fitted, ranking, signals, study.params)
    calibrated = found.calibrated if found else template
    metrics = {
        "supported": all(g.passed for g in guardrails),
        "verdict": verdict(guardrails),
        "guardrails": [g.as_dict() for g in guardrails],
        "data": data,
        "holdout_share": holdout_share,
        "params": study.params.as_dict(),
        "weights": {
            "template": _by_segment(template.weights),
            "calibrated": _by_segment(calibrated.weights),
        },
        "bands": {
            "template": _by_segment(template.bands),
            "proposed": _by_segment(calibrated.bands),
        },
        "ranking": ranking,
        "cautions": _cautions(study, found) if found else [],
    }
    if found:
        fit = found.fit
        metrics["fit"] = {
            "fitted": fit.fitted,
            "alpha": fit.alpha,
            "l1_ratio": study.params.l1_ratio,
            "shrinkage_k": study.params.shrinkage_k,
            "outcomes": fit.outcomes,
            "global_weights": fit.global_weights.to_dict(),
            "segment_weights_before_shrinkage": {
                s: None if w is None else w.to_dict() for s, w in fit.segment_weights.items()
            },
        }
        metrics["signals"] = signals
        metrics["warning"] = found.warning
    return metrics


def headline(metrics: dict, report: Path) -> dict:
    """The figures the CLI prints and Dagster shows first (NaN where not computed)."""
    data = metrics["data"]
    ranking = metrics["ranking"].get(data["fit_horizon"], {})
    calibrated, template = ranking.get("calibrated", {}), ranking.get("template", {})
    warning = metrics.get("warning", {})
    nan = float("nan")
    return {
        "version": metrics["version"],
        "supported": metrics["supported"],
        "horizon_days": data["fit_horizon"],
        "auc_template": template.get("auc", nan),
        "auc_calibrated": calibrated.get("auc", nan),
        "auc_calibrated_low": calibrated.get("auc_low", nan),
        "auc_calibrated_high": calibrated.get("auc_high", nan),
        "ece": calibrated.get("ece", nan),
        "alert_horizon_days": data["alert_horizon"],
        "recall_red": warning.get("calibrated", {}).get("recall", nan),
        "false_alarm": warning.get("calibrated", {}).get("false_alarm", nan),
        "recall_red_template": warning.get("template", {}).get("recall", nan),
        "false_alarm_template": warning.get("template", {}).get("false_alarm", nan),
        "holdout_decisions": data["holdout"]["decisions"],
        "holdout_churns": data["holdout"]["churned"],
        "report": str(report),
    }
