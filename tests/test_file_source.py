"""The file source: strict types, quarantine with lineage, contract errors, incremental events.

Each scenario builds its own small folder of files; loads that several tests read are made once
per module, because a dlt run costs about a second.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion import file_source as file_source_module
from ingestion import sentiment
from ingestion.contract import ENTITY_BY_NAME
from ingestion.file_reader import RawFile
from ingestion.file_source import (
    ContractError,
    LoadReport,
    file_source,
    files_pipeline,
    load_files,
)
from ingestion.validation import Validator

ACCOUNTS_CSV = "account_id,name\na1,Acme\na2,Beta\n"
CONTRACTS_CSV = "contract_id,account_id,start_date,end_date\nc1,a1,2024-01-01,2025-01-01\n"
EVENT_COLUMNS = ("account_id", "event_name", "occurred_at", "user_id", "event_id", "quantity")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    return write(path, "".join(json.dumps(record) + "\n" for record in records))


def write_parquet(path: Path, columns: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def events_csv(*rows: str) -> str:
    return ",".join(EVENT_COLUMNS) + "\n" + "".join(row + "\n" for row in rows)


def string_events(*rows: tuple[str, ...]) -> dict[str, list[str]]:
    """Event rows as the demo generator writes Parquet: every column a string."""
    return {name: [row[i] for row in rows] for i, name in enumerate(EVENT_COLUMNS)}


def base_folder(root: Path) -> Path:
    """The smallest valid folder: the required accounts and contracts, no events yet."""
    write(root / "accounts.csv", ACCOUNTS_CSV)
    write(root / "contracts.csv", CONTRACTS_CSV)
    return root


def load(source: Path, workdir: Path) -> LoadReport:
    return load_files(source, workdir / "warehouse.duckdb", pipelines_dir=workdir / "dlt")


def query(workdir: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the warehouse and close it again: dlt needs the file for the next load."""
    with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.sql(sql).fetchall()


def utc(*parts: int) -> datetime:
    """Timestamps are stored as UTC without a zone, so they read back naive."""
    return datetime(*parts)


# --- every format, with native and string types -------------------------------------------


@pytest.fixture(scope="module")
def formats(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadReport, Path]:
    work = tmp_path_factory.mktemp("formats")
    source = work / "source"
    write(
        source / "accounts.csv",
        "account_id,name,arr,seats,created_at,region\n"
        "a1,Acme,1200.5,10,2024-01-01T10:00:00,emea\n"
        "a2,Beta,,3.0,2024-01-01T10:00:00+02:00,\n",
    )
    write_parquet(
        source / "contracts.parquet",
        {
            "contract_id": ["c1"],
            "account_id": ["a1"],
            "start_date": pa.array([date(2024, 1, 1)], pa.date32()),
            "end_date": pa.array([date(2025, 1, 1)], pa.date32()),
            "arr": pa.array([1200.5]),
            "outcome": ["renewed"],
        },
    )
    write_jsonl(
        source / "users.jsonl",
        [
            {"user_id": f"u{i}", "account_id": "a1", "is_executive": flag}
            for i, flag in enumerate([True, "yes", "No", 1, "TRUE", "False"], start=1)
        ],
    )
    write(source / "features.csv", "event_name,feature,is_core\nlogin,core,True\nexport,,0\n")
    write(
        source / "events" / "2025-01.csv",
        events_csv("a1,login,2025-01-05T10:00:00,u1,e1,1", "a2,export,2025-01-06T10:00:00Z,,e2,"),
    )
    write_parquet(
        source / "events" / "2025-02.parquet",
        string_events(("a1", "login", "2025-02-01T12:00:00+01:00", "u1", "e3", "2.5")),
    )
    write_jsonl(
        source / "events" / "2025-03.jsonl",
        [{"account_id": "a1", "event_name": "login", "occurred_at": "2025-03-01", "quantity": 4}],
    )
    write_parquet(
        source / "events" / "2025-04.parquet",
        {
            "account_id": ["a2"],
            "event_name": ["login"],
            "occurred_at": pa.array(
                [datetime(2025, 4, 1, 11, tzinfo=UTC)], pa.timestamp("us", tz="Europe/Paris")
            ),
            "event_id": ["e5"],
            "quantity": pa.array([7], pa.int64()),
        },
    )
    return load(source, work), work


def column_types(work: Path, table: str) -> dict[str, str]:
    rows = query(
        work,
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = 'raw' AND table_name = '{table}'",
    )
    return dict(rows)


def test_every_format_loads_with_contract_types(formats: tuple[LoadReport, Path]) -> None:
    report, work = formats
    assert report.rows_loaded == {
        "accounts": 2,
        "contracts": 1,
        "users": 6,
        "features": 2,
        "events": 5,
    }
    assert query(work, "SELECT count(*) FROM raw.raw_quarantine") == [(0,)]
    assert column_types(work, "raw_events") == {
        "account_id": "VARCHAR",
        "event_name": "VARCHAR",
        "occurred_at": "TIMESTAMP",
        "user_id": "VARCHAR",
        "event_id": "VARCHAR",
        "quantity": "DOUBLE",
        "_extra": "VARCHAR",
        "_source_file": "VARCHAR",
        "_source_row": "BIGINT",
    }
    accounts = column_types(work, "raw_accounts")
    assert (accounts["arr"], accounts["seats"], accounts["created_at"]) == (
        "DOUBLE",
        "BIGINT",
        "TIMESTAMP",
    )
    assert column_types(work, "raw_contracts")["start_date"] == "DATE"
    assert column_types(work, "raw_users")["is_executive"] == "BOOLEAN"


def test_timestamps_without_zone_are_utc_and_offsets_are_converted(
    formats: tuple[LoadReport, Path],
) -> None:
    _, work = formats
    assert query(work, "SELECT account_id, created_at, seats FROM raw.raw_accounts ORDER BY 1") == [
        ("a1", utc(2024, 1, 1, 10), 10),
        ("a2", utc(2024, 1, 1, 8), 3),
    ]
    assert query(
        work, "SELECT _source_file, occurred_at, quantity FROM raw.raw_events ORDER BY 2"
    ) == [
        ("events/2025-01.csv", utc(2025, 1, 5, 10), 1.0),
        ("events/2025-01.csv", utc(2025, 1, 6, 10), None),
        ("events/2025-02.parquet", utc(2025, 2, 1, 11), 2.5),
        ("events/2025-03.jsonl", utc(2025, 3, 1), 4.0),
        ("events/2025-04.parquet", utc(2025, 4, 1, 11), 7.0),
    ]


def test_native_and_textual_values_parse_alike(formats: tuple[LoadReport, Path]) -> None:
    _, work = formats
    assert query(work, "SELECT is_executive FROM raw.raw_users ORDER BY user_id") == [
        (True,),
        (True,),
        (False,),
        (True,),
        (True,),
        (False,),
    ]
    assert query(work, "SELECT event_name, is_core FROM raw.raw_features ORDER BY 1") == [
        ("export", False),
        ("login", True),
    ]
    assert query(work, "SELECT start_date, end_date, arr FROM raw.raw_contracts") == [
        (date(2024, 1, 1), date(2025, 1, 1), 1200.5)
    ]


def test_lineage_and_extra_columns_are_kept(formats: tuple[LoadReport, Path]) -> None:
    _, work = formats
    rows = query(work, "SELECT account_id, _extra, _source_file, _source_row FROM raw.raw_accounts")
    assert sorted(rows) == [
        ("a1", '{"region":"emea"}', "accounts.csv", 1),
        ("a2", '{"region":""}', "accounts.csv", 2),
    ]
    assert query(work, "SELECT _extra FROM raw.raw_events WHERE event_id = 'e1'") == [(None,)]


def test_missing_optional_entities_are_reported_and_left_empty(
    formats: tuple[LoadReport, Path],
) -> None:
    report, work = formats
    assert sorted(report.missing_entities) == [
        "email_events",
        "meetings",
        "nps_responses",
        "overrides",
        "tickets",
    ]
    assert query(work, "SELECT count(*) FROM raw.raw_tickets") == [(0,)]
    assert "ticket_id" in column_types(work, "raw_tickets")


# --- dirt goes to quarantine, with file, row and field ------------------------------------


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadReport, Path]:
    work = tmp_path_factory.mktemp("dirty")
    source = work / "source"
    write(source / "accounts.csv", "account_id,name,seats\na1,Acme,4\na2,Beta,\na3,Gamma,2.5\n")
    write(source / "contracts.csv", CONTRACTS_CSV)
    write(
        source / "events" / "2025-01.csv",
        events_csv(
            "a1,login,2025-01-05T10:00:00Z,u1,e1,1",
            "a1,login,2025-13-45T10:00:00Z,u1,e2,1",
            "zz,login,2025-01-05T10:00:00Z,u1,e3,1",
            "a2,export,2025-01-05T11:00:00Z,u2,e1,1",
            "a2,login,2025-01-05T12:00:00Z,u2,e5,1",
            "a2,,2025-01-05T12:00:00Z,u2,e6,1",
            "a2,login,2025-01-05T12:00:00Z",
        ),
    )
    write_parquet(
        source / "events" / "2025-02.parquet",
        string_events(
            ("a1", "login", "2025-02-01T10:00:00Z", "u1", "e7", "1"),
            ("a1", "login", "2025-02-01T11:00:00Z", "u1", "e5", "1"),
        ),
    )
    write(
        source / "nps_responses.csv",
        "account_id,score,responded_at\na1,9,2025-01-01\na2,11,2025-01-02\n",
    )
    write(source / "users.csv", "user_id,account_id,is_executive\nu1,a1,yes\nu2,a2,maybe\n")
    write_jsonl(
        source / "email_events.jsonl",
        [
            {"account_id": "a1", "event_type": "open", "occurred_at": "2025-01-01T00:00:00Z"},
            {"account_id": "a1", "event_type": "bounce", "occurred_at": "2025-01-01T00:00:00Z"},
        ],
    )
    write_jsonl(
        source / "tickets.jsonl",
        [
            {"ticket_id": "t1", "account_id": "a1", "created_at": "2025-01-01T00:00:00Z"},
            {"ticket_id": "t2", "account_id": "a1", "subject": "no date"},
        ],
    )
    return load(source, work), work


@pytest.mark.parametrize(
    ("entity", "source_file", "source_row", "field", "rule"),
    [
        ("accounts", "accounts.csv", 3, "seats", "invalid_integer"),
        ("events", "events/2025-01.csv", 2, "occurred_at", "invalid_timestamp"),
        ("events", "events/2025-01.csv", 3, "account_id", "unknown_account_id"),
        ("events", "events/2025-01.csv", 4, "event_id", "duplicate_key"),
        ("events", "events/2025-01.csv", 6, "event_name", "missing_required"),
        ("events", "events/2025-01.csv", 7, None, "malformed_row"),
        ("events", "events/2025-02.parquet", 2, "event_id", "duplicate_key"),
        ("nps_responses", "nps_responses.csv", 2, "score", "above_maximum"),
        ("users", "users.csv", 2, "is_executive", "invalid_boolean"),
        ("email_events", "email_events.jsonl", 2, "event_type", "not_allowed"),
        ("tickets", "tickets.jsonl", 2, "created_at", "missing_required"),
    ],
)
def test_dirt_is_quarantined_with_file_row_and_field(
    dirty: tuple[LoadReport, Path],
    entity: str,
    source_file: str,
    source_row: int,
    field: str | None,
    rule: str,
) -> None:
    _, work = dirty
    where = f"entity = '{entity}' AND source_file = '{source_file}' AND source_row = {source_row}"
    found = query(work, f"SELECT field, rule FROM raw.raw_quarantine WHERE {where}")
    assert found == [(field, rule)]


def test_quarantine_holds_every_bad_row_and_only_those(dirty: tuple[LoadReport, Path]) -> None:
    report, work = dirty
    assert query(work, "SELECT count(*) FROM raw.raw_quarantine") == [(11,)]
    assert report.rows_quarantined["events"] == {
        "invalid_timestamp": 1,
        "unknown_account_id": 1,
        "duplicate_key": 2,
        "missing_required": 1,
        "malformed_row": 1,
    }
    loaded = query(
        work, "SELECT _source_file, _source_row, event_id FROM raw.raw_events ORDER BY 1, 2"
    )
    assert loaded == [  # the first of each duplicated event_id is the one kept
        ("events/2025-01.csv", 1, "e1"),
        ("events/2025-01.csv", 5, "e5"),
        ("events/2025-02.parquet", 1, "e7"),
    ]


def test_quarantine_reasons_are_readable_and_keep_the_raw_record(
    dirty: tuple[LoadReport, Path],
) -> None:
    _, work = dirty
    reasons = dict(
        query(
            work,
            "SELECT source_row, reason FROM raw.raw_quarantine "
            "WHERE source_file = 'events/2025-01.csv'",
        )
    )
    assert reasons[2] == "occurred_at: '2025-13-45T10:00:00Z' is not an ISO-8601 timestamp"
    assert reasons[3] == "unknown account_id"
    assert reasons[4] == "duplicate event_id"
    assert reasons[6] == "event_name: required value is missing"
    [(record, quarantined_at)] = query(
        work,
        "SELECT raw_record, quarantined_at FROM raw.raw_quarantine "
        "WHERE source_file = 'events/2025-01.csv' AND source_row = 2",
    )
    assert json.loads(record) == dict(
        zip(EVENT_COLUMNS, ["a1", "login", "2025-13-45T10:00:00Z", "u1", "e2", "1"], strict=True)
    )
    assert abs(datetime.now(UTC).replace(tzinfo=None) - quarantined_at).total_seconds() < 600


def test_quarantine_table_has_its_own_columns_only(dirty: tuple[LoadReport, Path]) -> None:
    _, work = dirty
    assert column_types(work, "raw_quarantine") == {
        "entity": "VARCHAR",
        "source_file": "VARCHAR",
        "source_row": "BIGINT",
        "field": "VARCHAR",
        "rule": "VARCHAR",
        "reason": "VARCHAR",
        "raw_record": "VARCHAR",
        "quarantined_at": "TIMESTAMP",
    }


# --- contract errors ----------------------------------------------------------------------


def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    source = base_folder(tmp_path / "source")
    write(source / "events" / "part-1.csv", "account_id,event_name\na1,login\n")
    with pytest.raises(
        ContractError, match=r"events/part-1\.csv: missing required column 'occurred_at'"
    ):
        load(source, tmp_path)
    assert query(
        tmp_path, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw'"
    ) == [(0,)]


def test_missing_required_entity_names_folder_and_entity(tmp_path: Path) -> None:
    source = tmp_path / "source"
    write(source / "accounts.csv", ACCOUNTS_CSV)
    write(source / "events.csv", events_csv())
    with pytest.raises(ContractError, match="contracts") as raised:
        load(source, tmp_path)
    assert str(source) in str(raised.value)


# --- incremental events -------------------------------------------------------------------


def test_events_load_file_by_file(tmp_path: Path) -> None:
    source = base_folder(tmp_path / "source")
    january = write(
        source / "events" / "2025-01.csv",
        events_csv(
            "a1,login,2025-01-05T10:00:00Z,u1,e1,1", "a1,login,2025-01-06T10:00:00Z,u1,e2,1"
        ),
    )
    february_rows = [
        ("a1", "login", "2025-02-01T10:00:00Z", "u1", "e3", "1"),
        ("a1", "login", "not a date", "u1", "e4", "1"),
    ]
    february = write_parquet(source / "events" / "2025-02.parquet", string_events(*february_rows))

    def events() -> int:
        return query(tmp_path, "SELECT count(*) FROM raw.raw_events")[0][0]

    def quarantined() -> int:
        return query(tmp_path, "SELECT count(*) FROM raw.raw_quarantine")[0][0]

    first = load(source, tmp_path)
    assert (first.rows_loaded["events"], events(), quarantined()) == (3, 3, 1)

    again = load(source, tmp_path)
    assert again.rows_loaded.get("events", 0) == 0
    assert sorted(again.files_skipped) == ["events/2025-01.csv", "events/2025-02.parquet"]
    assert (events(), quarantined()) == (3, 1)

    write_jsonl(
        source / "events" / "2025-03.jsonl",
        [
            {"account_id": "a2", "event_name": "login", "occurred_at": "2025-03-01T00:00:00Z"},
            {"account_id": "a2", "event_name": "login", "occurred_at": "2025-03-02T00:00:00Z"},
        ],
    )
    added = load(source, tmp_path)
    assert added.rows_loaded["events"] == 2
    assert [f for f in added.files_loaded if f.startswith("events/")] == ["events/2025-03.jsonl"]
    assert events() == 5

    with january.open("a") as handle:  # the current month's file grows...
        handle.write("a2,export,2025-01-07T10:00:00Z,u2,e5,1\n")
    february_rows.append(("a2", "login", "2025-02-02T10:00:00Z", "u2", "e6", "1"))
    write_parquet(february, string_events(*february_rows))  # ...or is rewritten with more rows
    grown = load(source, tmp_path)
    assert grown.rows_loaded["events"] == 2
    assert grown.rows_already_loaded["events"] == 3
    assert (events(), quarantined()) == (7, 1)  # the bad February row is not quarantined twice
    new = "SELECT event_id FROM raw.raw_events WHERE event_id IN ('e5', 'e6') ORDER BY 1"
    assert query(tmp_path, new) == [("e5",), ("e6",)]


def test_what_was_loaded_survives_losing_the_pipeline_folder(tmp_path: Path) -> None:
    source = base_folder(tmp_path / "source")
    write(source / "events.csv", events_csv("a1,login,2025-01-05T10:00:00Z,u1,e1,1"))
    load(source, tmp_path)
    shutil.rmtree(tmp_path / "dlt")  # dlt restores its state from the warehouse
    report = load(source, tmp_path)
    assert (report.rows_loaded.get("events", 0), report.files_skipped) == (0, ["events.csv"])


def test_a_run_that_died_before_loading_is_finished_once(tmp_path: Path) -> None:
    source = base_folder(tmp_path / "source")
    write(source / "events.csv", events_csv("a1,login,2025-01-05T10:00:00Z,u1,e1,1"))
    pipeline = files_pipeline(tmp_path / "warehouse.duckdb", tmp_path / "dlt")
    pipeline.extract(file_source(source))
    pipeline.normalize()  # ...and the process dies before `load`
    report = load(source, tmp_path)
    assert report.files_skipped == ["events.csv"]
    assert query(tmp_path, "SELECT count(*) FROM raw.raw_events") == [(1,)]


def test_a_changed_event_under_a_loaded_event_id_is_a_duplicate(tmp_path: Path) -> None:
    source = base_folder(tmp_path / "source")
    part = source / "events" / "2025-01.csv"
    write(part, events_csv("a1,login,2025-01-05T10:00:00Z,u1,e1,1"))
    load(source, tmp_path)
    write(
        part,
        events_csv(
            "a1,login,2025-01-05T10:00:00Z,u1,e1,1", "a2,export,2025-01-05T11:00:00Z,u2,e1,1"
        ),
    )
    report = load(source, tmp_path)
    assert report.rows_quarantined["events"] == {"duplicate_key": 1}
    assert query(tmp_path, "SELECT source_row FROM raw.raw_quarantine") == [(2,)]


# --- ticket sentiment ----------------------------------------------------------------------


def test_missing_ticket_sentiment_is_computed_once_and_a_given_one_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scored: list[str] = []

    def counting(subject: str | None, body: str | None) -> float | None:
        scored.append(subject or "")
        return sentiment.ticket_sentiment(subject, body)

    monkeypatch.setattr(file_source_module, "ticket_sentiment", counting)
    source = base_folder(tmp_path / "source")
    write(source / "events.csv", events_csv())
    ticket = {"account_id": "a1", "created_at": "2025-01-05T10:00:00Z"}
    angry = {"ticket_id": "t1", "subject": "Login broken", "body": "Terrible, we are furious"}
    tickets = [
        ticket | angry,
        ticket
        | {"ticket_id": "t2", "subject": "Thanks", "body": "Great, love it", "sentiment": 0.1},
        ticket | {"ticket_id": "t3", "subject": "Export", "body": "Works great, thank you!"},
        ticket | {"ticket_id": "t4"},  # no text: nothing to score
    ]
    write_jsonl(source / "tickets.jsonl", tickets)

    def sentiments() -> dict[str, float | None]:
        return dict(query(tmp_path, "SELECT ticket_id, sentiment FROM raw.raw_tickets"))

    load(source, tmp_path)
    first = sentiments()
    assert first == {
        "t1": pytest.approx(-0.8, abs=0.2),
        "t2": 0.1,  # given: kept, though the text reads positive
        "t3": pytest.approx(0.8, abs=0.2),
        "t4": None,
    }
    assert sorted(scored) == ["", "Export", "Login broken"]

    tickets[0] = ticket | angry | {"status": "solved", "body": "Fixed, thank you so much!"}
    tickets[2] = tickets[2] | {"sentiment": -0.5}  # the support tool tagged it later
    write_jsonl(source / "tickets.jsonl", tickets)
    load(source, tmp_path)

    assert sentiments() == first | {"t3": -0.5}  # t1 keeps its first score
    assert sorted(scored) == ["", "", "Export", "Login broken"]  # only t4, which has none yet


# --- parsing rules, checked without a pipeline --------------------------------------------

BASE_ROWS = {
    "accounts": {"account_id": "a1", "name": "Acme"},
    "users": {"user_id": "u1", "account_id": "a1"},
    "contracts": {
        "contract_id": "c1",
        "account_id": "a1",
        "start_date": "2024-01-01",
        "end_date": "2025-01-01",
    },
}


def validate_one(entity: str, column: str, text: str) -> tuple[Any, str | None]:
    """The typed value and the rule broken (if any) for one value in an otherwise valid row."""
    validator = Validator(quarantined_at=datetime.now(UTC))
    validator.set_known_accounts(pa.chunked_array([["a1"]]))
    row = BASE_ROWS[entity] | {column: text}
    table = pa.table({name: [value] for name, value in row.items()}).append_column(
        "_source_row", pa.array([1], pa.int64())
    )
    batch = validator.validate(
        ENTITY_BY_NAME[entity], RawFile(f"{entity}.csv", table, RawFile.empty().malformed)
    )
    if batch.quarantine.num_rows:
        return None, batch.quarantine["rule"][0].as_py()
    return batch.valid[column][0].as_py(), None


@pytest.mark.parametrize(
    ("entity", "column", "text", "value"),
    [
        ("accounts", "created_at", "2025-01-01T10:00:00", utc(2025, 1, 1, 10)),
        ("accounts", "created_at", "2025-01-01 10:00:00.5Z", utc(2025, 1, 1, 10, 0, 0, 500000)),
        ("accounts", "created_at", "2025-01-01T10:00:00+02:00", utc(2025, 1, 1, 8)),
        ("accounts", "created_at", "2025-01-01T10:00:00-0130", utc(2025, 1, 1, 11, 30)),
        ("accounts", "created_at", "2025-01-01", utc(2025, 1, 1)),
        ("accounts", "seats", "12", 12),
        ("accounts", "seats", "3.0", 3),
        ("accounts", "seats", "", None),
        ("accounts", "arr", "1e3", 1000.0),
        ("accounts", "arr", ".5", 0.5),
        ("users", "is_executive", "TRUE", True),
        ("users", "is_executive", "True", True),
        ("users", "is_executive", "yes", True),
        ("users", "is_executive", "1", True),
        ("users", "is_executive", "No", False),
        ("users", "is_executive", "0", False),
        ("contracts", "outcome_date", "2024-02-29", date(2024, 2, 29)),
    ],
)
def test_accepted_spellings(entity: str, column: str, text: str, value: Any) -> None:
    assert validate_one(entity, column, text) == (value, None)


@pytest.mark.parametrize(
    ("entity", "column", "text", "rule"),
    [
        ("accounts", "created_at", "2025-13-45T10:00:00Z", "invalid_timestamp"),
        ("accounts", "created_at", "2024-02-30T00:00:00", "invalid_timestamp"),
        ("accounts", "created_at", "31/12/2024 10:00", "invalid_timestamp"),
        ("accounts", "created_at", "2025-01-01T10:00:00 Europe/Paris", "invalid_timestamp"),
        ("accounts", "created_at", "1735725600", "invalid_timestamp"),
        ("accounts", "seats", "2.5", "invalid_integer"),
        ("accounts", "seats", "0x10", "invalid_integer"),
        ("accounts", "seats", "-1", "below_minimum"),
        ("accounts", "arr", "inf", "invalid_number"),
        ("accounts", "arr", "1,5", "invalid_number"),
        ("accounts", "arr", "1e400", "invalid_number"),
        ("accounts", "name", "  ", "missing_required"),
        ("users", "is_executive", "maybe", "invalid_boolean"),
        ("users", "is_executive", "t", "invalid_boolean"),
        ("contracts", "end_date", "2025-1-1", "invalid_date"),
        ("contracts", "end_date", "2025-01-01T00:00:00", "invalid_date"),
        ("contracts", "outcome", "Renewed", "not_allowed"),
    ],
)
def test_rejected_spellings(entity: str, column: str, text: str, rule: str) -> None:
    assert validate_one(entity, column, text) == (None, rule)
