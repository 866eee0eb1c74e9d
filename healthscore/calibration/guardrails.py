"""When calibrated weights must not be used (DESIGN §7): too few outcomes to fit or judge them,
a signal too good to be true (a leak), no signal found, or a holdout AUC interval that reaches
0.5 (no better than chance)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from healthscore.calibration.params import CalibrationParams
from healthscore.calibration.signal_analysis import SUSPECTED_LEAK


@dataclass(frozen=True)
class Guardrail:
    name: str
    passed: bool
    detail: str
    # A failure that means the signals carry no usable information, not just too little data.
    about_signal: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _outcomes(data: dict, params: CalibrationParams) -> Guardrail:
    train, holdout = data["train"], data["holdout"]
    passed = (
        train["churned"] >= params.min_churns
        and train["renewed"] >= params.min_renewals
        and min(holdout["churned"], holdout["renewed"]) >= params.min_holdout_outcomes
    )
    detail = (
        f"training has {train['churned']} churns and {train['renewed']} renewals (needs at "
        f"least {params.min_churns} and {params.min_renewals}); the holdout has "
        f"{holdout['churned']} churns and {holdout['renewed']} renewals (needs at least "
        f"{params.min_holdout_outcomes} of each)"
    )
    return Guardrail("enough outcomes", passed, ("" if passed else "too few outcomes: ") + detail)


def _signal(fitted: bool) -> Guardrail:
    if fitted:
        return Guardrail("signal found", True, "at least one signal earned a positive weight", True)
    detail = "the fit gave every signal a zero weight, so the proposal keeps the current weights"
    return Guardrail("signal found", False, detail, True)


def _holdout_auc(horizon: int, figures: dict | None) -> Guardrail:
    name = f"holdout AUC at {horizon} days"
    low = math.nan if figures is None else figures["auc_low"]
    if low is None or math.isnan(low):
        detail = f"no holdout AUC interval could be computed at {horizon} days"
        return Guardrail(name, False, detail)
    interval = (
        f"at {horizon} days the held-out ROC AUC is {figures['auc']:.2f} (95% interval "
        f"{figures['auc_low']:.2f} to {figures['auc_high']:.2f})"
    )
    if low > 0.5:
        return Guardrail(name, True, interval, True)
    return Guardrail(name, False, f"{interval}, which includes 0.5: no better than chance", True)


def _no_leak(signals: list[dict], horizon: int, params: CalibrationParams) -> Guardrail:
    leaking = [s for s in signals if s["verdict"] == SUSPECTED_LEAK]
    if not leaking:
        detail = f"no single signal has a training ROC AUC of {params.leak_auc:.2f} or more"
        return Guardrail("no suspected leak", True, detail)
    named = ", ".join(f"{s['signal']} (ROC AUC {s['auc']:.2f})" for s in leaking)
    return Guardrail(
        "no suspected leak",
        False,
        f"suspected leak: {named} alone separates churns from renewals {horizon} days ahead "
        "almost perfectly, which points to the outcome leaking into the signal or into the "
        "observation dates rather than to a measure of health; check that it uses only what was "
        "known on the as-of date",
    )


def check_guardrails(
    data: dict,
    fitted: bool | None,
    ranking: dict[int, dict[str, dict]],
    signals: list[dict],
    params: CalibrationParams,
) -> list[Guardrail]:
    """Every horizon must pass: a score that warns only at one horizon is not trusted at all.
    `fitted` is None when there were too few outcomes to attempt a fit (and `signals` empty)."""
    checks = [_outcomes(data, params)]
    if fitted is not None:
        checks += [_no_leak(signals, data["fit_horizon"], params), _signal(fitted)]
    checks += [_holdout_auc(h, ranking.get(h, {}).get("calibrated")) for h in data["horizons"]]
    return checks


def verdict(guardrails: list[Guardrail]) -> str:
    failed = [g for g in guardrails if not g.passed]
    if not failed:
        return "The data supports the calibrated weights. Review the report, then apply them."
    about_data = [g.detail for g in failed if not g.about_signal]
    about_signal = [g.detail for g in failed if g.about_signal]
    text = "The data does not support calibrated weights, and nothing is applied."
    if about_data:
        joined = "; ".join(about_data)
        text += f" {joined[0].upper()}{joined[1:]}."
    if about_signal:
        text += f" There is no reliable signal: {'; '.join(about_signal)}."
    return text
