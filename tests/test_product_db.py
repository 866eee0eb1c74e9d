"""The product-database source against a real PostgreSQL holding a schema that is not ours.

One generated dataset is delivered twice: as files (warehouse A), and with organisations,
users and events in a foreign PostgreSQL schema (`tests.fake_product_db`) while the CRM side
stays in files (warehouse B). Both are built by dbt; the scores must be the same to the last
driver, which proves the mapping, the validation, the soft-delete filters, the JSON property
extraction and identity resolution together.
"""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from healthscore.dbt_runner import run_dbt
from ingestion.contract import ENTITIES
from ingestion.demo_data import GenerationSummary, generate
from ingestion.file_source import LoadReport, load_files
from ingestion.identity_report import identity_report
from ingestion.product_db import check, load_product_db, owned_entities
from ingestion.product_db_mapping import DEFAULT_URL_ENV
from ingestion.sources_config import SourceConfigError
from tests import fake_product_db as fake

END_DATE = date(2026, 6, 30)
ACTIVITY = "product_db:app.activity"
MODELS_ONLY = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")


@dataclass(frozen=True)
class Delivered:
    url: str
    generation: GenerationSummary
    foreign: fake.ForeignDataset
    files_warehouse: Path  # A: everything from files
    product_warehouse: Path  # B: organisations, users, events from PostgreSQL
    product_load: LoadReport  # B's product database load

    def connect(self, warehouse: Path) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(warehouse), read_only=True)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Delivered]:
    root = tmp_path_factory.mktemp("product_db")
    generation = generate(root / "demo", accounts=30, days=120, seed=5, end_date=END_DATE)
    source = generation.source_dir
    with fake.scratch_database() as url, pytest.MonkeyPatch.context() as env:
        env.setenv(DEFAULT_URL_ENV, url)
        foreign = fake.write_dataset(url, source)
        section = fake.example_section(chunk_size=4_000)  # several batches per table

        files_warehouse = root / "a" / "warehouse.duckdb"
        load_files(source, files_warehouse, pipelines_dir=root / "a" / "dlt")
        run_dbt(  # models only: B's build runs the tests
            ["build", "--select", "+fct_account_health_daily", *MODELS_ONLY],
            warehouse=files_warehouse,
            target_path=root / "a" / "target",
            quiet=True,
        )

        product_warehouse = root / "b" / "warehouse.duckdb"
        product_load = load_product_db(section, product_warehouse, pipelines_dir=root / "b" / "dlt")
        owned = set(owned_entities(section))
        rest = [e.name for e in ENTITIES if e.name not in owned]
        load_files(source, product_warehouse, pipelines_dir=root / "b" / "dlt", entities=rest)
        run_dbt(
            ["build", "--select", "+fct_account_health_daily", "--indirect-selection", "cautious"],
            warehouse=product_warehouse,
            target_path=root / "b" / "target",
            quiet=True,
        )
        yield Delivered(url, generation, foreign, files_warehouse, product_warehouse, product_load)


def test_files_and_product_database_score_alike(delivered: Delivered) -> None:
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{delivered.files_warehouse}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{delivered.product_warehouse}' AS b (READ_ONLY)")
        (rows,) = con.execute("SELECT count(*) FROM a.main.fct_account_health_daily").fetchone()
        only_a, only_b = (
            con.execute(
                f"SELECT count(*) FROM (SELECT * FROM {x}.main.fct_account_health_daily "
                f"EXCEPT ALL SELECT * FROM {y}.main.fct_account_health_daily)"
            ).fetchone()[0]
            for x, y in (("a", "b"), ("b", "a"))
        )
    assert rows > 2_000
    assert (only_a, only_b) == (0, 0)


def test_every_account_is_found_and_the_rest_are_listed(delivered: Delivered) -> None:
    with delivered.connect(delivered.product_warehouse) as con:
        report = identity_report(con)
        accounts = con.execute(
            "SELECT account_id, count(*) FROM main.int_account_identity "
            "WHERE match_status = 'matched' GROUP BY 1"
        ).fetchall()
    assert dict(accounts) == dict.fromkeys(delivered.foreign.org_of_account, 1)
    assert report["matched_by"] == {"domain": 15, "explicit_id": 15}
    assert (report["ambiguous"], report["unmatched"]) == (0, 2)
    reasons = {int(r["source_account_id"]): r["reason"] for r in report["unresolved"]}
    assert reasons == {
        fake.GHOST_ORG: "no live CRM account has domain ghost-labs.example",
        fake.TYPO_ORG: "crm_account_id A99999 is no CRM account",
    }


def test_bad_product_rows_are_quarantined_with_their_reason(delivered: Delivered) -> None:
    dirt = delivered.generation.dirt_counts
    expected = {
        "duplicate_key": dirt["events_duplicate"],
        "unknown_account_id": dirt["events_unknown_account"] + delivered.foreign.gone_org_events,
        "missing_required": delivered.foreign.null_times,
        **delivered.foreign.bad_props,
    }
    assert delivered.product_load.rows_quarantined["events"] == expected
    with delivered.connect(delivered.product_warehouse) as con:
        quarantined = dict(
            con.execute(
                "SELECT rule, count(*) FROM raw.raw_quarantine WHERE source_file = ? GROUP BY 1",
                [ACTIVITY],
            ).fetchall()
        )
        reasons = dict(
            con.execute(
                "SELECT rule, min(reason) FROM raw.raw_quarantine "
                "WHERE source_file = ? AND rule IN ('invalid_number', 'below_minimum') GROUP BY 1",
                [ACTIVITY],
            ).fetchall()
        )
        deleted = con.execute(
            "SELECT (SELECT count(*) FROM raw.raw_events WHERE event_id LIKE 'planted-deleted%') "
            "+ (SELECT count(*) FROM raw.raw_quarantine WHERE raw_record LIKE '%planted-deleted%')"
        ).fetchone()[0]
    assert quarantined == expected
    assert reasons == {
        "invalid_number": "quantity: 'lots' is not a number",
        "below_minimum": "quantity: '-2' is below the minimum 0",
    }
    assert deleted == 0  # soft-deleted rows are never read


def test_events_load_incrementally_by_cursor(
    delivered: Delivered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of warehouse B with a fresh working folder: the cursor comes back from the
    warehouse's own dlt state, so nothing is read twice."""
    monkeypatch.setenv(DEFAULT_URL_ENV, delivered.url)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(delivered.product_warehouse, warehouse)
    section = fake.example_section()

    again = load_product_db(section, warehouse, pipelines_dir=tmp_path / "dlt")
    assert again.rows_loaded["events"] == 0
    assert sum(again.rows_quarantined["events"].values()) == 0

    added = fake.add_day(delivered.url)
    new_day = load_product_db(section, warehouse, pipelines_dir=tmp_path / "dlt")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        newest, on_newest = con.execute(
            "SELECT max(occurred_at)::date, count(*) FILTER (WHERE occurred_at::date = "
            "(SELECT max(occurred_at)::date FROM raw.raw_events)) FROM raw.raw_events"
        ).fetchone()
    assert added > 50
    assert new_day.rows_loaded["events"] == added == on_newest
    assert newest == END_DATE + timedelta(days=1)


def test_a_lost_warehouse_is_read_from_the_start(
    delivered: Delivered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The product database as the accounts' system of record, into a warehouse that is then
    deleted while the dlt working folder stays: the cursor must not skip what it passed."""
    monkeypatch.setenv(DEFAULT_URL_ENV, delivered.url)
    section = fake.example_section()
    tables = dict(section["tables"])
    tables["accounts"] = {
        "table": "organizations",
        "filter": "deleted_at is null",
        "columns": {"account_id": "id", "name": "org_name", "domain": "website", "segment": "plan"},
    }
    del tables["organizations"]
    section["tables"] = tables
    warehouse = tmp_path / "warehouse.duckdb"
    first = load_product_db(section, warehouse, pipelines_dir=tmp_path / "dlt")
    warehouse.unlink()
    second = load_product_db(section, warehouse, pipelines_dir=tmp_path / "dlt")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        accounts = con.execute("SELECT count(*) FROM raw.raw_accounts").fetchone()[0]
        organizations = con.execute(
            "SELECT count(*) FROM raw.raw_product_organizations"
        ).fetchone()[0]
    assert first.rows_loaded["events"] == second.rows_loaded["events"] > 10_000
    assert accounts == len(delivered.foreign.org_of_account) + 2  # + Ghost Labs and Typo Inc
    assert organizations == 0  # mapped as accounts: no organisations to resolve


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"url_env": "HEALTHSCORE_TEST_UNSET_URL"},
            "product_db.url_env: environment variable HEALTHSCORE_TEST_UNSET_URL is unset",
        ),
        ({"schema": "ap"}, "product_db.schema: no schema 'ap'"),
        ({"chunk_size": 0}, "product_db.chunk_size: expected a positive integer"),
        (
            {"tables.events.table": "activty"},
            "product_db.tables.events.table: no table or view 'activty' in schema app",
        ),
        (
            {"tables.events.cursor": "happend_at"},
            "product_db.tables.events.cursor: column 'happend_at' not in table activity",
        ),
        (
            {"tables.users.columns.email": "mail"},
            "product_db.tables.users.columns.email: column 'mail' not in table members",
        ),
        (
            {"tables.events.columns.qty": "props"},
            "product_db.tables.events.columns.qty: not a column of events",
        ),
        (
            {"tables.events.columns.quantity": "props->>count"},
            "product_db.tables.events.columns.quantity: rejected by the database",
        ),
        (
            {"tables.users.filter": "deleted is null"},
            "product_db.tables.users.filter: rejected by the database",
        ),
        ({"tables.events.cursor": None}, "product_db.tables.events.cursor: required"),
        (
            {"tables.organisations": {"table": "organizations"}},
            "product_db.tables.organisations: unknown entity",
        ),
    ],
)
def test_bad_configuration_fails_fast_naming_the_setting(
    delivered: Delivered,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, Any],
    message: str,
) -> None:
    monkeypatch.setenv(DEFAULT_URL_ENV, delivered.url)
    section = _changed(fake.example_section(), change)
    with pytest.raises(SourceConfigError, match=_literal(message)):
        load_product_db(section, tmp_path / "warehouse.duckdb", pipelines_dir=tmp_path / "dlt")
    assert not (tmp_path / "warehouse.duckdb").exists()  # nothing was read or written
    assert any(message in problem for problem in check(section))


def test_sql_that_fails_on_a_row_names_its_table(
    delivered: Delivered, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cast passes the no-rows probe, then meets the planted count 'lots'."""
    monkeypatch.setenv(DEFAULT_URL_ENV, delivered.url)
    section = _changed(
        fake.example_section(), {"tables.events.columns.quantity": "(props->>'count')::numeric"}
    )
    message = "product_db.tables.events: the database failed reading the rows: invalid input"
    with pytest.raises(SourceConfigError, match=_literal(message)):
        load_product_db(section, tmp_path / "w.duckdb", pipelines_dir=tmp_path / "dlt")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere",
            "product_db.url_env: cannot connect to postgresql+psycopg2://postgres@127.0.0.1:1/",
        ),
        ("not a url", "product_db.url_env: HEALTHSCORE_PRODUCT_DB_URL is not a SQLAlchemy URL"),
        (
            "postgresq://u:secret@h/db",
            "product_db.url_env: HEALTHSCORE_PRODUCT_DB_URL names an unknown dialect",
        ),
    ],
)
def test_a_wrong_url_fails_fast_without_showing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setenv(DEFAULT_URL_ENV, url)
    with pytest.raises(SourceConfigError, match=_literal(message)) as raised:
        load_product_db(fake.example_section(), tmp_path / "w.duckdb")
    assert "secret" not in str(raised.value)


def test_every_problem_of_a_section_is_listed_at_once() -> None:
    section = fake.example_section(chunk_size=-1, tables={"events": {"table": "activity"}})
    with pytest.raises(SourceConfigError) as raised:
        owned_entities(section)
    assert str(raised.value).splitlines() == [
        "product_db.chunk_size: expected a positive integer, got -1",
        "product_db.tables.events.cursor: required: the column events load incrementally by "
        "(a time or rising id)",
        "product_db.tables: map exactly one of organizations (matched to CRM accounts) or "
        "accounts (the product database is the system of record); found neither",
    ]


def _changed(section: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of `section` with dotted keys set (None deletes)."""
    section = copy.deepcopy(section)
    for dotted, value in change.items():
        *path, last = dotted.split(".")
        target = section
        for key in path:
            target = target[key]
        if value is None:
            target.pop(last)
        else:
            target[last] = value
    return section


def _literal(text: str) -> str:
    return re.escape(text)
