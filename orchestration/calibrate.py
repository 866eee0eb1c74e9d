"""Calibration as an asset: a versioned proposal of weights, cut-offs and churn probabilities,
with its figures as metadata and a check that says whether the data supports it (DESIGN §7).

Nothing here changes the live configuration: a person reads the report and applies the
proposal (`apply_proposal`), which refuses an unsupported one by itself.

The engine is imported when the asset runs: it brings scikit-learn, SciPy and matplotlib,
which would otherwise slow down every run of every job, since each run loads the code location.
"""

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_dbt import get_asset_key_for_model
from pydantic import Field

from orchestration.resources import HealthscorePaths
from orchestration.transform import healthscore_dbt

if TYPE_CHECKING:
    from healthscore.calibration import CalibrationResult

CALIBRATION_GROUP = "calibration"
SUPPORTED_CHECK = "calibration_supported"
INPUT_MODELS = ("fct_calibration_observations", "fct_account_signals_daily")


class CalibrationConfig(Config):
    horizons: list[int] = Field(
        default=[60, 90],
        description="Days before each renewal decision at which signal scores are read.",
    )
    holdout_share: float = Field(
        default=0.25, description="Share of the newest decisions held out to judge the weights."
    )
    n_bootstrap: int | None = Field(
        default=None,
        description=(
            "Bootstrap resamples behind each AUC interval (default: the engine's, 1000); "
            "fewer is faster and rougher."
        ),
    )


def _value(value: bool | int | float | str) -> MetadataValue:
    if isinstance(value, bool):
        return MetadataValue.bool(value)
    if isinstance(value, int):
        return MetadataValue.int(value)
    if isinstance(value, float):
        return MetadataValue.float(value)
    return MetadataValue.text(value)


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def signal_auc_table(signals: list[dict[str, Any]]) -> str:
    """Each signal alone: does a low score go with churn (AUC above 0.5), and how sure is it."""
    lines = ["| signal | ROC AUC | 95% interval | verdict |", "|---|---|---|---|"]
    lines += [
        f"| {s['signal']} | {_number(s['auc'])} | {_number(s['auc_low'])} to "
        f"{_number(s['auc_high'])} | {s['verdict']} |"
        for s in signals
    ]
    return "\n".join(lines)


def weights_table(weights: dict[str, dict[str, dict[str, float]]]) -> str:
    """Signals by segment, each cell `current → proposed` in points out of 100."""
    before, after = weights["template"], weights["calibrated"]
    segments = list(after)
    signals = list(dict.fromkeys(s for segment in segments for s in after[segment]))
    lines = [
        "| signal | " + " | ".join(segments) + " |",
        "|---|" + "---|" * len(segments),
    ]
    for signal in signals:
        cells = [
            f"{before.get(segment, {}).get(signal, 0.0):g} → {after[segment].get(signal, 0.0):g}"
            for segment in segments
        ]
        lines.append(f"| {signal} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def proposal_metadata(result: "CalibrationResult") -> dict[str, MetadataValue]:
    """Headline figures as numbers (so the UI plots them across runs), per-signal AUC, the
    weights before and after, the engine's summary and charts, and where the proposal is."""
    shown = result.metadata()
    signals = result.metrics.get("signals", [])  # absent when there were too few outcomes
    metadata = {key: _value(value) for key, value in shown["values"].items()}
    metadata |= {
        f"signal_auc/{s['signal']}": MetadataValue.float(s["auc"])
        for s in signals
        if s["auc"] is not None
    }
    metadata["weights"] = MetadataValue.md(weights_table(result.metrics["weights"]))
    if signals:
        metadata["signal_auc"] = MetadataValue.md(signal_auc_table(signals))
    metadata |= {key: MetadataValue.md(text) for key, text in shown["markdown"].items()}
    metadata |= {key: MetadataValue.path(path) for key, path in shown["paths"].items()}
    return metadata


def supported_result(result: "CalibrationResult") -> AssetCheckResult:
    """WARN, not ERROR: an unsupported proposal is a correct answer about the data (too few
    outcomes, no signal beyond chance), nothing applies it automatically, and the live weights
    stay as they are. It asks a person to wait for more outcomes, not to fix a failure."""
    failed = [g for g in result.guardrails if not g.passed]
    return AssetCheckResult(
        check_name=SUPPORTED_CHECK,
        passed=result.supported,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "verdict": result.metrics["verdict"],
            "failed_guardrails": {g.name: g.detail for g in failed},
        },
    )


@asset(
    group_name=CALIBRATION_GROUP,
    deps=[get_asset_key_for_model([healthscore_dbt], model) for model in INPUT_MODELS],
    check_specs=[
        AssetCheckSpec(
            SUPPORTED_CHECK,
            asset="calibration_proposal",
            description="The guardrails of DESIGN §7 say the data supports calibrated weights.",
        )
    ],
    kinds={"python", "scikitlearn"},
)
def calibration_proposal(
    context: AssetExecutionContext, config: CalibrationConfig, paths: HealthscorePaths
) -> MaterializeResult:
    """Fit weights on renewal and churn outcomes, backtest them on the newest decisions, and
    write a versioned proposal with its report under the data folder's `calibration/`."""
    from healthscore.calibration import CalibrationParams, run_calibration

    params = CalibrationParams()
    if config.n_bootstrap is not None:
        params = replace(params, n_bootstrap=config.n_bootstrap)
    try:
        result = run_calibration(
            paths.warehouse(),
            horizons=config.horizons,
            holdout_share=config.holdout_share,
            progress=context.log.info,
            params=params,
        )
    except ValueError as error:  # no decisions to learn from: say why, retrying cannot help
        raise Failure(description=str(error), allow_retries=False) from error
    for line in result.summary_lines():
        context.log.info(line)
    return MaterializeResult(
        metadata=proposal_metadata(result), check_results=[supported_result(result)]
    )
