"""`run_calibration`: warehouse observations in, a versioned proposal out (DESIGN §7).

Everything that chooses something — weights, cut-offs, probabilities, imputation values — sees
training decisions only; the held-out newest decisions are used for nothing but judging."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from healthscore import settings
from healthscore.calibration import figures as charts
from healthscore.calibration.backtest import (
    Candidate,
    daily_scores,
    rank_candidates,
    score_observations,
    warning_figures,
)
from healthscore.calibration.cutoffs import recommend_bands
from healthscore.calibration.fit import fit_weights, rarer_outcomes
from healthscore.calibration.guardrails import Guardrail
from healthscore.calibration.observations import (
    load_daily_signals,
    load_observations,
    split_out_of_time,
)
from healthscore.calibration.params import CalibrationParams
from healthscore.calibration.probability import fit_probability_map
from healthscore.calibration.proposal import (
    REPORT_FILE,
    jsonable,
    new_version,
    proposals_root,
    write_proposal,
)
from healthscore.calibration.record import CalibrationResult, build_metrics, headline
from healthscore.calibration.report import render_report
from healthscore.calibration.seeds import ScoreConfig, read_config
from healthscore.calibration.signal_analysis import analyse_signals
from healthscore.calibration.study import Findings, Study, at_horizon


def _probability(
    frame: pd.DataFrame, config: ScoreConfig, params: CalibrationParams
) -> pd.DataFrame:
    return fit_probability_map(
        score_observations(frame, config)["score"].to_numpy(),
        frame["churned"].to_numpy(),
        frame["segment"].to_numpy(),
        list(config.weights.index),
        band_width=params.probability_band_width,
        shrinkage_k=params.shrinkage_k,
    )


def _windows(rows: pd.DataFrame, start: pd.Series, end: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"account_id": rows["account_id"], "start": start, "end": end})


def _daily_signals(study: Study, windows: pd.DataFrame) -> pd.DataFrame:
    signals = list(dict.fromkeys([*study.template.weights.columns, *study.signals]))
    return load_daily_signals(study.warehouse, windows, signals)


def _proposed_bands(study: Study, weights: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Cut-offs for the new weights, replaying each training decision's last `warmup_days`
    before its alert date — and nothing after it."""
    rows = at_horizon(study.split.train, study.alert_horizon)
    warmup = pd.Timedelta(days=study.params.warmup_days)
    windows = _windows(rows, rows["as_of_date"] - warmup, rows["as_of_date"])
    config = replace(study.template, weights=weights)
    scored_days = daily_scores(_daily_signals(study, windows), config)
    return recommend_bands(rows, scored_days, config, study.params)


def _fit_and_test(study: Study, rng: np.random.Generator, say: Callable[[str], None]) -> Findings:
    p, split, template = study.params, study.split, study.template
    train_fit = at_horizon(split.train, study.fit_horizon)
    say("analysing signals one at a time")
    signals = analyse_signals(
        train_fit, study.signals, n_boot=p.n_bootstrap, rng=rng, leak_auc=p.leak_auc
    )
    say("fitting weights")
    fit = fit_weights(train_fit, study.signals, list(template.weights.index), p)
    current = replace(template, probability=_probability(train_fit, template, p))
    cautions = []
    calibrated = current
    if fit.fitted:
        bands, cautions = _proposed_bands(study, fit.weights)
        calibrated = ScoreConfig(fit.weights, bands, pd.DataFrame())
        calibrated = replace(calibrated, probability=_probability(train_fit, calibrated, p))
    say("backtesting on held-out decisions")
    candidates = [Candidate("template", current), Candidate("calibrated", calibrated)]
    ranking = {
        h: rank_candidates(at_horizon(split.holdout, h), candidates, p, rng) for h in study.horizons
    }
    say("replaying daily history of held-out accounts")
    rows = at_horizon(split.holdout, study.alert_horizon)
    lookback = pd.Timedelta(days=p.lookback_days)
    daily = _daily_signals(
        study, _windows(rows, rows["decision_date"] - lookback, rows["decision_date"])
    )
    variants = {
        "template": current,
        "calibrated_current_bands": replace(calibrated, bands=template.bands),
        "calibrated": calibrated,
    }
    warning = {k: warning_figures(rows, daily, c, p) for k, c in variants.items()}
    return Findings(fit, signals, calibrated, ranking, warning, cautions)


def _figures(study: Study, found: Findings | None) -> dict[str, str]:
    if found is None:
        return {}
    ranking = found.ranking
    return {
        "roc": charts.roc_figure(
            {h: r.roc for h, r in ranking.items()}, {h: r.metrics for h, r in ranking.items()}
        ),
        "reliability": charts.reliability_figure(ranking[study.fit_horizon].reliability),
        "lead_time": charts.lead_time_figure(found.warning, study.alert_horizon),
        "weights": charts.weights_figure(study.template.weights, found.calibrated.weights),
        "signal_auc": charts.signal_auc_figure(found.signals),
    }


def run_calibration(
    warehouse: Path,
    *,
    horizons: Sequence[int] = (60, 90),
    holdout_share: float = 0.25,
    out_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    params: CalibrationParams | None = None,
    seeds_dir: Path | None = None,
) -> CalibrationResult:
    """Fit, backtest and write a proposal under `out_dir` (default: data_dir()/calibration).
    Never touches the live seeds; `apply_proposal` does that after review."""
    params = params or CalibrationParams()
    say = progress or (lambda _message: None)
    rng = np.random.default_rng(params.seed)
    horizons = sorted(set(horizons))
    template = read_config(Path(seeds_dir) if seeds_dir else settings.DBT_PROJECT_DIR / "seeds")
    say("reading observations")
    observations, signals = load_observations(Path(warehouse))
    observations = observations.loc[observations["horizon_days"].isin(horizons)]
    absent = set(horizons) - set(observations["horizon_days"])
    if absent:
        raise ValueError(
            f"no renewal or churn decisions to calibrate on at {sorted(absent)} days before the "
            "decision: the warehouse has no contract outcomes with enough history yet"
        )
    alert = params.alert_horizon_days if params.alert_horizon_days in horizons else horizons[0]
    study = Study(
        warehouse=Path(warehouse),
        observations=observations,
        split=split_out_of_time(observations, holdout_share),
        template=template,
        signals=signals,
        horizons=horizons,
        fit_horizon=horizons[-1],
        alert_horizon=alert,
        params=params,
    )
    train_fit = at_horizon(study.split.train, study.fit_horizon)
    fittable = rarer_outcomes(train_fit["churned"].to_numpy()) >= 2
    found = _fit_and_test(study, rng, say) if fittable else None
    config = found.calibrated if found else template
    now = dt.datetime.now(dt.UTC)
    version = new_version(config, now)
    root = proposals_root(out_dir)
    report_path = root / version / REPORT_FILE
    metrics = {"version": version, "created_at": now.isoformat(timespec="seconds")}
    metrics |= build_metrics(study, found, holdout_share)
    metrics["headline"] = headline(metrics, report_path)
    metrics = jsonable(metrics)
    say("drawing figures and writing the report")
    figures = _figures(study, found)
    folder = write_proposal(root, version, config, metrics, render_report(metrics, figures))
    say(f"proposal {version} written to {folder}")
    return CalibrationResult(
        version=version,
        supported=metrics["supported"],
        headline=metrics["headline"],
        guardrails=[Guardrail(**g) for g in metrics["guardrails"]],
        proposal_dir=folder,
        report_path=report_path,
        metrics=metrics,
        figures=figures,
    )
