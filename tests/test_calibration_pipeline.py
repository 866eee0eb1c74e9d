"""End to end on DuckDB warehouses built from planted datasets: a proposal is written and
judged, the report renders, and applying it obeys the guardrails."""

import base64
import json
import re
import shutil
from dataclasses import replace

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from healthscore.calibration import (
    ProposalError,
    UnsupportedProposalError,
    apply_proposal,
    run_calibration,
)
from healthscore.calibration.params import CalibrationParams
from healthscore.calibration.seeds import SEED_FILES, read_config, write_config
from healthscore.calibration.synthetic import INFORMATIVE, NOISE, make_dataset, write_warehouse

PARAMS = CalibrationParams(n_bootstrap=100)
FIGURES = ("roc", "reliability", "lead_time", "weights", "signal_auc")


def calibrate(root, data, **kwargs):
    root.mkdir(parents=True, exist_ok=True)
    write_config(data.template, root / "seeds", SEED_FILES, "template")
    warehouse = write_warehouse(root / "warehouse.duckdb", data)
    result = run_calibration(
        warehouse, out_dir=root / "proposals", seeds_dir=root / "seeds", params=PARAMS, **kwargs
    )
    return result, root


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    data = make_dataset(n_accounts=400, seed=0)
    return (*calibrate(tmp_path_factory.mktemp("planted"), data), data)


@pytest.fixture(scope="module")
def independent(tmp_path_factory):
    data = make_dataset(n_accounts=300, seed=1, churn_follows_health=False)
    return calibrate(tmp_path_factory.mktemp("independent"), data)


def fresh_seeds(root, tmp_path):
    seeds = tmp_path / "seeds"
    shutil.copytree(root / "seeds", seeds)
    return seeds


def test_planted_signals_are_found_and_the_proposal_is_supported(planted):
    result, _, _ = planted
    assert result.supported, result.metrics["verdict"]
    headline = result.headline
    assert headline["auc_calibrated"] >= 0.78
    assert headline["auc_calibrated"] >= headline["auc_template"]
    assert headline["auc_calibrated_low"] > 0.5
    assert headline["recall_red"] >= 0.6 and headline["false_alarm"] <= 0.2
    weights = pd.DataFrame(result.metrics["weights"]["calibrated"]).T
    assert (weights[list(INFORMATIVE)].sum(axis=1) >= 90).all(), weights
    assert (weights[list(NOISE)].sum(axis=1) <= 10).all(), weights


def test_calibrated_ranking_comes_close_to_the_hidden_truth(planted):
    result, _, data = planted
    obs = data.observations
    held = (pd.to_datetime(obs["decision_date"]) >= result.metrics["data"]["cut_date"]) & (
        obs["horizon_days"] == 90
    )
    truth = roc_auc_score(obs.loc[held, "churned"], -data.hidden_health[held])
    assert result.headline["auc_calibrated"] >= truth - 0.05


def test_the_proposal_folder_is_a_versioned_copy_of_the_seeds(planted):
    result, _, _ = planted
    folder = result.proposal_dir
    assert folder.name == result.version
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", result.version)
    weights = pd.read_csv(folder / "weights.csv")
    assert list(weights.columns) == ["config_version", "segment", "signal", "weight"]
    assert (weights["config_version"] == result.version).all()
    assert weights.groupby("segment")["weight"].sum().round(6).eq(100).all()
    bands = pd.read_csv(folder / "bands.csv")
    assert list(bands.columns) == [
        "config_version",
        "segment",
        "red_below",
        "red_exit_at",
        "green_at",
        "min_coverage",
        "gate_cap",
    ]
    assert (bands["red_exit_at"] > bands["red_below"]).all()
    assert (bands["green_at"] > bands["red_exit_at"]).all()
    probability = pd.read_csv(folder / "churn_calibration.csv")
    assert list(probability.columns) == [
        "config_version",
        "segment",
        "score_lower",
        "score_upper",
        "churn_probability",
    ]
    for _, table in probability.groupby("segment"):
        assert table["churn_probability"].is_monotonic_decreasing
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["supported"] is True and metrics["version"] == result.version
    assert metrics["headline"] == result.headline


def test_report_renders_with_verdict_summary_and_every_chart(planted):
    result, _, _ = planted
    html = result.report_path.read_text()
    assert "id='verdict'" in html and "Supported" in html
    assert html.index("id='verdict'") < html.index("id='fig-roc'")
    for name in FIGURES:
        match = re.search(
            rf"<figure id='fig-{name}'><img [^>]*src='data:image/png;base64,([^']+)'", html
        )
        assert match, name
        assert base64.b64decode(match.group(1)).startswith(b"\x89PNG")
    assert html.count("<img ") == len(FIGURES)
    assert "http://" not in html and "https://" not in html
    auc = result.headline["auc_calibrated"]
    assert f"{auc:.2f}" in html


def test_metadata_and_headline_lines_for_cli_and_dagster(planted):
    result, _, _ = planted
    meta = result.metadata()
    assert meta["values"]["supported"] is True
    assert meta["values"]["auc_calibrated"] == result.headline["auc_calibrated"]
    assert set(meta["markdown"]) == {"summary", *(f"figure_{n}" for n in FIGURES)}
    assert meta["markdown"]["figure_roc"].startswith("![")
    assert meta["paths"]["report"] == str(result.report_path)
    lines = "\n".join(result.summary_lines())
    assert "SUPPORTED" in lines and str(result.report_path) in lines
    assert f"{result.headline['auc_template']:.2f}" in lines


def test_apply_writes_the_seeds_with_the_proposal_version(planted, tmp_path):
    result, root, _ = planted
    seeds = fresh_seeds(root, tmp_path)
    applied = apply_proposal(result.version, proposals_dir=root / "proposals", seeds_dir=seeds)
    assert applied.supported and not applied.overridden
    live = read_config(seeds)
    assert live.version == result.version
    proposed = pd.read_csv(result.proposal_dir / "weights.csv")
    assert pd.read_csv(seeds / "signal_weights.csv").equals(proposed)
    assert pd.read_csv(seeds / "churn_calibration.csv")["config_version"].eq(result.version).all()
    log = (root / "proposals" / "applied.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["version"] == result.version


def test_an_edited_proposal_is_refused(planted, tmp_path):
    result, root, _ = planted
    proposals = tmp_path / "proposals"
    shutil.copytree(result.proposal_dir, proposals / result.version)
    weights = proposals / result.version / "weights.csv"
    weights.write_text(weights.read_text().replace(",0.0\n", ",1.0\n", 1))
    with pytest.raises(ProposalError, match="edited"):
        apply_proposal(
            result.version, proposals_dir=proposals, seeds_dir=fresh_seeds(root, tmp_path)
        )
    with pytest.raises(ProposalError, match="not a proposal version"):
        apply_proposal("../../etc", proposals_dir=proposals, seeds_dir=tmp_path)


def test_holdout_outcomes_do_not_change_the_proposal(planted, tmp_path):
    result, _, data = planted
    cut = pd.Timestamp(result.metrics["data"]["cut_date"])
    obs = data.observations
    held = pd.to_datetime(obs["decision_date"]) >= cut
    flipped = obs.assign(
        churned=obs["churned"].where(~held, 1 - obs["churned"]),
        outcome=obs["outcome"].where(
            ~held, obs["outcome"].map({"churned": "renewed", "renewed": "churned"})
        ),
    )
    rerun, _ = calibrate(tmp_path, replace(data, observations=flipped))
    assert rerun.metrics["data"]["cut_date"] == result.metrics["data"]["cut_date"]
    # Same configuration hash: weights, cut-offs and probabilities saw training decisions only.
    assert rerun.version.split("-")[1] == result.version.split("-")[1]
    assert rerun.headline["auc_calibrated"] != result.headline["auc_calibrated"]


def test_independent_churn_yields_no_reliable_signal(independent):
    result, _ = independent
    assert not result.supported
    assert "does not support calibrated weights" in result.metrics["verdict"]
    assert "no reliable signal" in result.metrics["verdict"]
    html = result.report_path.read_text()
    assert "class='verdict unsupported'" in html and "no reliable signal" in html
    assert "NOT SUPPORTED" in "\n".join(result.summary_lines())
    assert result.metadata()["values"]["supported"] is False


def test_apply_refuses_an_unsupported_proposal_unless_overridden(independent, tmp_path):
    result, root = independent
    seeds = fresh_seeds(root, tmp_path)
    before = {name: (seeds / name).read_text() for name in SEED_FILES}
    with pytest.raises(UnsupportedProposalError, match="not supported"):
        apply_proposal(result.version, proposals_dir=root / "proposals", seeds_dir=seeds)
    assert {name: (seeds / name).read_text() for name in SEED_FILES} == before
    applied = apply_proposal(
        result.version, allow_unsupported=True, proposals_dir=root / "proposals", seeds_dir=seeds
    )
    assert applied.overridden and read_config(seeds).version == result.version


def test_too_few_outcomes_are_reported_not_fitted(tmp_path):
    data = make_dataset(n_accounts=25, days=500, seed=3)
    result, _ = calibrate(tmp_path, data)
    assert not result.supported
    assert "too few outcomes" in result.metrics["verdict"].lower()
    assert "too few outcomes" in result.report_path.read_text().lower()


def test_a_signal_that_carries_the_outcome_is_flagged_as_a_leak(tmp_path):
    data = make_dataset(n_accounts=200, seed=2)
    obs = data.observations
    # As when an observation's date is anchored on the outcome: one signal nearly is the label.
    leaky = obs.assign(ticket_volume=60.0 - 30.0 * obs["churned"] + obs["horizon_days"] / 10)
    result, _ = calibrate(tmp_path, replace(data, observations=leaky))
    assert not result.supported
    assert "suspected leak: ticket_volume" in result.metrics["verdict"].lower()
    leak = next(s for s in result.metrics["signals"] if s["signal"] == "ticket_volume")
    assert leak["verdict"] == "suspected leak"
