"""The demo generator: deterministic, contract-shaped, dirty in exactly the counted places,
and faithful to its hidden truth (archetypes, churn at contract ends, health-driven churn)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ingestion.contract import ENTITIES, Entity, Kind
from ingestion.demo.crm import email_events_table, meetings_table
from ingestion.demo.product import build_users
from ingestion.demo.world import DECISION_WINDOW, PRE_DAYS, Window, World, build_world, stream
from ingestion.demo_data import GenerationSummary, generate, main

END = date(2025, 6, 30)
SMALL = {"accounts": 40, "days": 200, "seed": 7, "end_date": END}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("demo"), **SMALL)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> GenerationSummary:
    return generate(tmp_path_factory.mktemp("clean"), **SMALL, dirt=False)


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    return pd.read_parquet(path)


def read_entity(source: Path, name: str) -> pd.DataFrame:
    """An entity as the contract allows it: one file of any format, or a folder of parts."""
    files = sorted(source.glob(f"{name}.*")) + sorted((source / name).glob("*"))
    assert files, f"no files for {name}"
    return pd.concat([_read(f) for f in files], ignore_index=True)


def _timestamps(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce")


def _parsed(values: pd.Series, kind: Kind) -> pd.Series:
    """Values parsed per the contract kind; NaN/NaT where they do not parse."""
    if kind == Kind.TIMESTAMP:
        return _timestamps(values)
    if kind == Kind.DATE:
        return pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    if kind in (Kind.INTEGER, Kind.NUMBER):
        number = pd.to_numeric(values, errors="coerce")
        return number.where(number % 1 == 0) if kind == Kind.INTEGER else number
    if kind == Kind.BOOLEAN:
        return values.map({"true": True, "false": False, True: True, False: False})
    return values


def contract_violations(frame: pd.DataFrame, entity: Entity) -> int:
    """Rows breaking the entity's contract: a missing required value, a value that does not
    parse as its kind, or one outside its bounds or allowed set."""
    bad = pd.Series(False, index=frame.index)
    for column in entity.columns:
        values = frame[column.name]
        present = values.notna()
        parsed = _parsed(values[present], column.kind)
        wrong = parsed.isna()
        if column.minimum is not None:
            wrong |= parsed < column.minimum
        if column.maximum is not None:
            wrong |= parsed > column.maximum
        if column.allowed is not None:
            wrong |= ~values[present].isin(column.allowed)
        bad |= ~present if column.required else False
        bad[present] |= wrong
    return int(bad.sum())


def repeated_keys(frame: pd.DataFrame, entity: Entity) -> int:
    """Rows whose unique key (contract) repeats an earlier row's; blank keys are exempt."""
    if not entity.unique_key:
        return 0
    keys = frame[list(entity.unique_key)].dropna()
    return int(keys.duplicated().sum())


def meta(summary: GenerationSummary) -> dict:
    return json.loads(summary.meta_path.read_text())


def truth(summary: GenerationSummary, name: str) -> pd.DataFrame:
    return pd.read_parquet(summary.ground_truth_dir / f"{name}.parquet")


def _file_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_same_arguments_give_identical_files_and_another_seed_does_not(
    demo: GenerationSummary, tmp_path: Path
) -> None:
    again = generate(tmp_path / "again", **SMALL)
    other = generate(tmp_path / "other", **{**SMALL, "seed": 8})
    assert _file_bytes(again.out_dir) == _file_bytes(demo.out_dir)
    reseeded = _file_bytes(other.out_dir)
    assert reseeded.keys() >= {"source/accounts.csv", "ground_truth/meta.json"}
    assert reseeded["source/tickets.jsonl"] != _file_bytes(demo.out_dir)["source/tickets.jsonl"]


def test_dirt_leaves_the_clean_rows_untouched(
    demo: GenerationSummary, clean: GenerationSummary
) -> None:
    dirty, tidy = _file_bytes(demo.out_dir), _file_bytes(clean.out_dir)
    for name in ("accounts.csv", "contracts.csv", "users.csv", "meetings.csv"):
        assert dirty[f"source/{name}"] == tidy[f"source/{name}"]
    events = read_entity(demo.source_dir, "events")
    clean_events = read_entity(clean.source_dir, "events")
    planted = sum(n for kind, n in demo.dirt_counts.items() if kind.startswith("events_"))
    assert len(events) == len(clean_events) + planted


def test_every_contract_entity_is_written_with_all_its_columns(demo: GenerationSummary) -> None:
    for entity in ENTITIES:
        frame = read_entity(demo.source_dir, entity.name)
        assert list(frame.columns) == [c.name for c in entity.columns], entity.name
        assert len(frame) == demo.row_counts[entity.name] > 0, entity.name
    assert {p.suffix for paths in demo.files.values() for p in paths} == {
        ".csv",
        ".jsonl",
        ".parquet",
    }


def test_only_the_planted_rows_break_the_contract_or_repeat_a_key(
    demo: GenerationSummary, clean: GenerationSummary
) -> None:
    expected = {
        "events": demo.dirt_counts["events_bad_timestamp"],
        "nps_responses": demo.dirt_counts["nps_out_of_range"],
        "tickets": demo.dirt_counts["tickets_missing_account_id"],
    }
    for entity in ENTITIES:
        assert contract_violations(read_entity(demo.source_dir, entity.name), entity) == (
            expected.get(entity.name, 0)
        ), entity.name
        tidy = read_entity(clean.source_dir, entity.name)
        assert contract_violations(tidy, entity) == repeated_keys(tidy, entity) == 0
        assert repeated_keys(read_entity(demo.source_dir, entity.name), entity) == (
            demo.dirt_counts["events_duplicate"] if entity.name == "events" else 0
        ), entity.name
    assert set(clean.dirt_counts.values()) == {0}


def test_meta_counts_each_kind_of_planted_dirt_exactly(demo: GenerationSummary) -> None:
    counted = meta(demo)["dirt"]
    assert counted == demo.dirt_counts and all(n > 0 for n in counted.values())
    events = read_entity(demo.source_dir, "events")
    accounts = read_entity(demo.source_dir, "accounts")
    nps = read_entity(demo.source_dir, "nps_responses")
    tickets = read_entity(demo.source_dir, "tickets")
    assert events.duplicated().sum() == counted["events_duplicate"]  # whole rows repeat
    assert (~events["account_id"].isin(accounts["account_id"])).sum() == (
        counted["events_unknown_account"]
    )
    assert _timestamps(events["occurred_at"]).isna().sum() == counted["events_bad_timestamp"]
    assert (~nps["score"].astype(int).between(0, 10)).sum() == counted["nps_out_of_range"]
    assert tickets["account_id"].isna().sum() == counted["tickets_missing_account_id"]
    assert meta(demo)["row_counts"] == demo.row_counts


def test_event_timestamps_mix_zones_but_mean_utc(demo: GenerationSummary) -> None:
    stamps = read_entity(demo.source_dir, "events")["occurred_at"]
    assert stamps.str.endswith("Z").mean() > 0.8
    assert (stamps.str.len() == len("2025-01-01T00:00:00")).sum() > 0  # naive = UTC
    assert stamps.str.contains(r"[+-]\d\d:\d\d$").sum() > 0
    for part in demo.files["events"]:  # each monthly file holds its own UTC month
        month = part.stem.removeprefix("events-")
        parsed = _timestamps(_read(part)["occurred_at"]).dropna()
        assert (parsed.dt.strftime("%Y-%m") == month).all()


def test_declining_accounts_end_low_and_healthy_ones_stay_high(demo: GenerationSummary) -> None:
    health = truth(demo, "account_health_daily")
    accounts = truth(demo, "accounts")
    assert (accounts["archetype"] == "healthy").mean() >= 0.10
    assert (accounts["archetype"] == "declining").mean() >= 0.08
    daily = health.merge(accounts, on=["account_id", "segment"])
    recent = daily[daily["date"] > END - timedelta(days=45)]
    declining = recent[recent["archetype"] == "declining"]
    assert declining["account_id"].nunique() == (accounts["archetype"] == "declining").sum()
    assert declining["true_health"].max() <= 20
    recent = daily[(daily["date"] > END - timedelta(days=120)) & ~daily["churned"]]
    assert recent.loc[recent["archetype"] == "healthy", "true_health"].min() >= 75
    assert health["true_health"].between(0, 100).all()


def test_churn_happens_only_at_contract_ends(demo: GenerationSummary) -> None:
    contracts = read_entity(demo.source_dir, "contracts")
    accounts = truth(demo, "accounts").set_index("account_id")
    churns = contracts[contracts["outcome"] == "churned"].set_index("account_id")
    assert churns.index.is_unique
    assert set(churns.index) == set(accounts.index[accounts["churned"]])
    churn_date = accounts.loc[churns.index, "churn_date"].astype(str)
    assert (churns["end_date"] == churn_date).all()
    assert (churns["outcome_date"] == churn_date).all()
    for account_id, history in contracts.groupby("account_id"):
        starts = pd.to_datetime(history["start_date"]).iloc[1:]
        ends = pd.to_datetime(history["end_date"]).iloc[:-1]
        assert (starts.to_numpy() == (ends + pd.Timedelta(days=1)).to_numpy()).all()
        decided = history["outcome"].iloc[:-1]
        assert (decided == "renewed").all(), account_id  # churn or open only at the end
        if history["outcome"].iloc[-1] == "open":
            assert pd.Timestamp(history["end_date"].iloc[-1]).date() >= END


def test_activity_starts_at_creation_and_stops_after_churn(demo: GenerationSummary) -> None:
    accounts = read_entity(demo.source_dir, "accounts").set_index("account_id")
    created = _timestamps(accounts["created_at"]).dt.normalize()
    gone = truth(demo, "accounts").set_index("account_id")["churn_date"].dropna()
    assert (created > pd.Timestamp(END - timedelta(days=SMALL["days"]), tz="UTC")).any()
    activity = {
        "events": "occurred_at",
        "tickets": "created_at",
        "nps_responses": "responded_at",
        "meetings": "started_at",
        "email_events": "occurred_at",
    }
    for name, column in activity.items():
        frame = read_entity(demo.source_dir, name)
        frame = frame[frame["account_id"].isin(accounts.index)]
        when = _timestamps(frame[column]).dt.normalize()
        frame, when = frame[when.notna()], when[when.notna()]
        assert (when >= created.loc[frame["account_id"]].to_numpy()).all(), name
        churned = frame["account_id"].isin(gone.index)
        last = pd.to_datetime(gone.loc[frame.loc[churned, "account_id"]].astype(str), utc=True)
        assert (when[churned].to_numpy() <= last.to_numpy()).all(), name


def test_meta_records_the_arguments_and_the_uninformative_signals(
    demo: GenerationSummary,
) -> None:
    assert meta(demo)["uninformative_signals"] == ["email_engagement", "qbr_attendance"]
    assert meta(demo)["args"] == {
        **SMALL,
        "end_date": END.isoformat(),
        "churn_driven_by_health": True,
        "dirt": True,
    }


def test_only_the_uninformative_behaviours_ignore_health() -> None:
    world = build_world(5, 600, Window(END, 400), churn_driven_by_health=True)
    users = build_users(stream(5, "users"), world)
    health = pd.Series(world.health.mean(axis=1), index=world.account_ids)

    def share(table: pa.Table, rows: pa.Array, column: str) -> pd.Series:
        frame = table.filter(rows).select(["account_id", column]).to_pandas()
        return frame.groupby("account_id")[column].mean()

    def correlation(per_account: pd.Series) -> float:
        return float(np.corrcoef(per_account, health[per_account.index])[0, 1])

    meetings = meetings_table(stream(5, "meetings"), world)
    emails = email_events_table(stream(5, "email"), world, users).to_pandas()
    kinds = emails.groupby(["account_id", "event_type"]).size().unstack(fill_value=0)
    qbr = share(meetings, pc.equal(meetings["meeting_type"], "qbr"), "attended")
    executives = share(
        meetings, pc.equal(meetings["meeting_type"], "check_in"), "executive_attended"
    )
    assert abs(correlation(qbr)) < 0.12
    assert abs(correlation((kinds["open"] + kinds["reply"]) / kinds["sent"])) < 0.12
    assert correlation(executives) > 0.4


def _decisions(world: World) -> tuple[np.ndarray, np.ndarray]:
    """Mean true health over each renewal's decision window, and whether it churned."""
    c = world.contracts
    decided = c["outcome"] != "open"
    first, last = (PRE_DAYS + c["end_day"][decided] - d for d in DECISION_WINDOW)
    health = [
        world.health[a, lo:hi].mean()
        for a, lo, hi in zip(c["account"][decided], first, last, strict=True)
    ]
    return np.array(health), c["outcome"][decided] == "churned"


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    rank = pd.Series(score).rank().to_numpy()
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return float((rank[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@pytest.mark.parametrize("by_health", [True, False])
def test_churn_follows_health_only_when_asked(by_health: bool) -> None:
    world = build_world(3, 1500, Window(END, 400), churn_driven_by_health=by_health)
    health, churned = _decisions(world)
    assert len(health) > 1000
    assert 0.12 <= churned.mean() <= 0.25
    auc = _auc(-health, churned)
    if by_health:
        assert 0.8 <= auc <= 0.97
    else:
        assert abs(np.corrcoef(health, churned)[0, 1]) < 0.08
        assert abs(auc - 0.5) < 0.06


def test_command_line_writes_a_dataset(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["--out", str(tmp_path), "--accounts", "6", "--end-date", "2025-01-31", "--quiet"]
    assert main([*args, "--days", "90"]) == 0
    assert main([*args, "--days", "30", "--random-churn", "--no-dirt"]) == 0
    assert "done in" in capsys.readouterr().out
    written = json.loads((tmp_path / "ground_truth" / "meta.json").read_text())
    assert written["args"]["churn_driven_by_health"] is False
    assert written["churn_model"]["kind"] == "coin"
    assert set(written["dirt"].values()) == {0}
    parts = sorted(p.name for p in (tmp_path / "source" / "events").iterdir())
    assert parts == ["events-2025-01.parquet"]  # the longer run's older months are gone
    with pytest.raises(SystemExit) as refused:
        main([*args, "--days", "5"])
    assert refused.value.code == 2
