"""The score rule as calibration replays it (DESIGN §6), and the leakage guards: nothing dated
after a decision's scoring date may change what calibration sees for it."""

import duckdb
import numpy as np
import pandas as pd
import pytest

from healthscore.calibration.backtest import (
    Replay,
    daily_scores,
    score_observations,
    warning_figures,
)
from healthscore.calibration.observations import (
    HISTORY_TABLE,
    LeakageError,
    load_daily_signals,
    prepare_observations,
    split_out_of_time,
)
from healthscore.calibration.params import CalibrationParams
from healthscore.calibration.scoring import health_score, red_history, red_now
from healthscore.calibration.seeds import ScoreConfig
from healthscore.calibration.synthetic import make_dataset

PARAMS = CalibrationParams()


def config(weights=None) -> ScoreConfig:
    weights = weights or {"a": 75.0, "b": 25.0}
    bands = pd.DataFrame(
        {
            "red_below": 40.0,
            "red_exit_at": 45.0,
            "green_at": 70.0,
            "min_coverage": 0.5,
            "gate_cap": 49.0,
        },
        index=["smb"],
    )
    return ScoreConfig(pd.DataFrame([weights], index=["smb"]), bands, pd.DataFrame())


def test_missing_signals_redistribute_their_weight_and_lower_coverage():
    signals = pd.DataFrame({"a": [80.0, np.nan, 80.0], "b": [np.nan, np.nan, 40.0]})
    scored = health_score(signals, pd.Series(["smb"] * 3), pd.Series([None] * 3), config())
    assert scored["score"].iloc[0] == pytest.approx(80.0)
    assert scored["coverage"].iloc[0] == pytest.approx(0.75)
    assert np.isnan(scored["score"].iloc[1]) and scored["coverage"].iloc[1] == 0
    assert scored["score"].iloc[2] == pytest.approx(70.0)


def test_gate_caps_only_accounts_known_never_to_have_adopted():
    signals = pd.DataFrame({"a": [90.0, 90.0, 90.0], "b": [90.0, 90.0, 90.0]})
    adopted = pd.Series([False, True, None], dtype=object)
    scored = health_score(signals, pd.Series(["smb"] * 3), adopted, config())
    assert scored["score"].tolist() == pytest.approx([49.0, 90.0, 90.0])


def test_a_segment_without_configuration_is_an_error():
    with pytest.raises(ValueError, match="enterprise"):
        health_score(
            pd.DataFrame({"a": [1.0]}), pd.Series(["enterprise"]), pd.Series([None]), config()
        )


def days(scores, coverage=None, account="A1", start="2024-01-01"):
    n = len(scores)
    return pd.DataFrame(
        {
            "account_id": account,
            "date": pd.date_range(start, periods=n, freq="D"),
            "segment": "smb",
            "score": scores,
            "coverage": coverage if coverage is not None else [1.0] * n,
        }
    )


def test_red_needs_red_exit_to_leave_and_reports_when_the_spell_began():
    history = red_history(days([50, 39, 42, 44, 45, 41, 39, 60]), config())
    assert history["red"].tolist() == [False, True, True, True, False, False, True, False]
    since = history["red_since"].dt.strftime("%d").tolist()
    assert since[1:4] == ["02", "02", "02"] and since[6] == "07"


def test_days_without_enough_coverage_are_not_red_but_do_not_end_the_state():
    history = red_history(days([39, 42, 42, 42], coverage=[1.0, 1.0, 0.2, 1.0]), config())
    assert history["red"].tolist() == [True, True, False, True]


def test_hysteresis_does_not_carry_from_one_account_to_the_next():
    frame = pd.concat([days([30, 30], account="A1"), days([42, 42], account="A2")])
    assert red_history(frame, config())["red"].tolist() == [True, True, False, False]


def planted_rows_and_days():
    data = make_dataset(n_accounts=60, days=700, seed=4)
    rows = prepare_observations(data.observations, list(data.template.weights.columns))
    rows = rows.loc[rows["horizon_days"] == 60].reset_index(drop=True)
    history = data.history.pivot_table(
        index=["account_id", "date_day", "segment"], columns="signal", values="signal_score"
    ).reset_index()
    history = history.rename(columns={"date_day": "date"})
    history = history.assign(adopted=history.pop("core_feature_adopted") > 0)
    return data, rows, history


def test_status_at_the_alert_date_ignores_every_later_row():
    data, rows, history = planted_rows_and_days()
    signals = list(data.template.weights.columns)
    before = Replay.build(rows, daily_scores(history, data.template), data.template, PARAMS)
    red_before = before.red(data.template.bands)[0]
    # Rewrite everything after each account's first as_of date to the worst possible scores.
    first_as_of = rows.groupby("account_id")["as_of_date"].min()
    later = history["date"] > history["account_id"].map(first_as_of)
    poisoned = history.copy()
    poisoned.loc[later, signals] = 0.0
    after = Replay.build(rows, daily_scores(poisoned, data.template), data.template, PARAMS)
    first_rows = rows["as_of_date"] == rows["account_id"].map(first_as_of)
    assert later.any() and first_rows.any()
    red_after = after.red(data.template.bands)[0]
    first = first_rows.to_numpy()
    assert red_before[first].any()
    np.testing.assert_array_equal(red_before[first], red_after[first])
    # The poison is real: decisions scored after it do change.
    assert (red_before[~first] != red_after[~first]).any()


def test_early_warning_figures_ignore_rows_after_each_decision():
    data, rows, history = planted_rows_and_days()
    last_decision = rows.groupby("account_id")["decision_date"].max()
    past = history.loc[history["date"] <= history["account_id"].map(last_decision)]
    # The last 30 days before each account's last decision, replayed after it at the worst score.
    tail = past.loc[past["date"] > past["account_id"].map(last_decision) - pd.Timedelta(days=30)]
    future = tail.assign(date=tail["date"] + pd.Timedelta(days=30), login_frequency=0.0)
    assert (future["date"] > future["account_id"].map(last_decision)).all()
    with_future = pd.concat([past, future], ignore_index=True)
    clean = warning_figures(rows, past, data.template, PARAMS)
    planted = warning_figures(rows, with_future, data.template, PARAMS)
    np.testing.assert_array_equal(clean.pop("lead_times"), planted.pop("lead_times"))
    assert clean == planted


def test_the_daily_loader_reads_nothing_after_a_window_ends(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    history = pd.DataFrame(
        {
            "account_id": "A1",
            "date_day": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03"]),
            "segment": "smb",
            "signal": ["a", "a", "a", "core_feature_adopted"],
            "is_gate": [False, False, False, True],
            "raw_value": [0.1, 0.2, 0.9, 1.0],
            "signal_score": [10.0, 20.0, 90.0, 100.0],
        }
    )
    with duckdb.connect(str(warehouse)) as con:
        con.register("history", history)
        con.execute(f"create table {HISTORY_TABLE} as select * from history")
    windows = pd.DataFrame(
        {
            "account_id": ["A1"],
            "start": pd.to_datetime(["2023-12-01"]),
            "end": pd.to_datetime(["2024-01-02"]),
        }
    )
    loaded = load_daily_signals(warehouse, windows, ["a", "b"]).sort_values("date")
    assert loaded["date"].max() == pd.Timestamp("2024-01-02")
    assert loaded["a"].tolist() == [10.0, 20.0]
    assert loaded["b"].isna().all() and loaded["adopted"].isna().all()


def test_observations_scored_after_their_horizon_are_refused():
    data = make_dataset(n_accounts=20, days=400, seed=1)
    frame = data.observations.copy()
    frame.loc[0, "as_of_date"] = frame.loc[0, "decision_date"]
    with pytest.raises(LeakageError, match="after decision_date - horizon"):
        prepare_observations(frame, list(data.template.weights.columns))


def test_out_of_time_split_keeps_every_training_decision_older():
    data = make_dataset(n_accounts=80, days=500, seed=2)
    rows = prepare_observations(data.observations, list(data.template.weights.columns))
    split = split_out_of_time(rows, 0.25)
    assert split.train["decision_date"].max() < split.holdout["decision_date"].min()
    assert not set(split.train["decision_id"]) & set(split.holdout["decision_id"])
    share = split.holdout["decision_id"].nunique() / rows["decision_id"].nunique()
    assert 0.25 <= share < 0.35
    with pytest.raises(ValueError):
        split_out_of_time(rows, 1.0)


def test_decisions_without_daily_history_fall_back_to_their_own_observation():
    data, rows, history = planted_rows_and_days()
    no_history = history.iloc[0:0]
    figures = warning_figures(rows, no_history, data.template, PARAMS)
    single_day = red_now(score_observations(rows, data.template), rows["segment"], data.template)
    churned = rows["churned"].to_numpy() == 1
    assert figures["without_history"] == len(rows)
    assert figures["recall"] == pytest.approx(single_day[churned].mean())
    assert figures["false_alarm"] == pytest.approx(single_day[~churned].mean())
    assert figures["lead_times"].size == 0
