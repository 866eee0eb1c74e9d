"""The Dagster code location: it loads with nothing configured, and its daily job scores a demo.

`orchestration` is imported inside the tests, never at the top: the first import must happen in
the `defs` fixture, which proves that importing reads no settings.
"""

from __future__ import annotations

import importlib
import os
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    Definitions,
    materialize,
)
from dagster_dbt import DbtProject

from healthscore import settings
from ingestion.contract import ENTITIES, ENTITY_BY_NAME
from ingestion.file_source import LoadReport

RAW_KEYS = {AssetKey(["raw", entity.table]) for entity in ENTITIES}
MARTS = ("dim_accounts", "fct_account_signals_daily", "fct_account_health_daily")
HEALTH_KEYS = {AssetKey(name) for name in (*MARTS, "account_health_current")}
WRITEBACK_KEYS = {
    AssetKey(name)
    for name in ("crm_properties", "hubspot_company_health", "salesforce_account_health")
}
FRESHNESS = "source_freshness"

pytestmark = pytest.mark.usefixtures("defs")


def _not_at_import(*_args: object) -> Path:
    raise AssertionError("settings were read while the code location was imported")


@pytest.fixture(scope="session")
def defs() -> Definitions:
    """Imported once per session, which also parses the dbt manifest at most once.

    Settings are read only when a run starts; here any read during the import fails it.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HEALTHSCORE_DATA_DIR", "HEALTHSCORE_WAREHOUSE", "HEALTHSCORE_SOURCE_DIR"):
            patch.delenv(name, raising=False)
        for reader in ("data_dir", "warehouse_path", "source_dir"):
            patch.setattr(settings, reader, _not_at_import)
        module = importlib.import_module("orchestration.definitions")
    Definitions.validate_loadable(module.defs)
    return module.defs


def test_definitions_load_with_lineage_checks_and_schedule(defs: Definitions) -> None:
    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    assert keys >= RAW_KEYS | HEALTH_KEYS
    assert AssetKey(["raw", "raw_events"]) in graph.get(AssetKey("stg_raw__events")).parent_keys

    groups = {key: graph.get(key).group_name for key in keys}
    assert {groups[key] for key in RAW_KEYS} == {"ingestion"}
    assert groups[AssetKey("stg_raw__events")] == "staging"
    assert groups[AssetKey("int_signal_scores")] == "intermediate"
    assert {groups[key] for key in HEALTH_KEYS} == {"health"}
    assert groups[AssetKey("signal_weights")] == "config"

    checks = graph.asset_check_keys
    assert AssetCheckKey(AssetKey("dim_accounts"), "unique_dim_accounts_account_id") in checks
    assert {check.asset_key for check in checks} >= HEALTH_KEYS
    raw_events = AssetKey(["raw", "raw_events"])
    assert AssetCheckKey(raw_events, "source_not_null_raw_raw_events_account_id") in checks
    assert AssetCheckKey(raw_events, FRESHNESS) in checks

    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "UTC")
    # The refresh covers ingest and every dbt node, with every check on them.
    from orchestration.transform import healthscore_dbt

    refreshed = RAW_KEYS | set(healthscore_dbt.keys)
    job = defs.resolve_job_def(schedule.job_name)
    assert set(job.asset_layer.selected_asset_keys) >= refreshed
    assert set(job.asset_layer.asset_graph.asset_check_keys) >= {
        check for check in checks if check.asset_key in refreshed
    }
    # Then it writes the scores back; alerts go out in their own run, started by a sensor.
    assert set(job.asset_layer.selected_asset_keys) >= WRITEBACK_KEYS
    assert AssetKey("alert_deliveries") not in job.asset_layer.selected_asset_keys


@pytest.mark.parametrize(
    ("resource_type", "fqn", "group"),
    [
        ("model", ["healthscore", "staging", "raw", "stg_raw__events"], "staging"),
        ("model", ["healthscore", "intermediate", "signals", "int_signals__nps"], "intermediate"),
        ("model", ["healthscore", "marts", "health", "dim_accounts"], "health"),
        ("model", ["healthscore", "marts", "sync", "sync_hubspot__companies"], "sync"),
        ("model", ["healthscore", "marts", "fct_loose"], "marts"),
        ("seed", ["healthscore", "signal_weights"], "config"),
        ("model", ["healthscore", "at_root"], None),
    ],
)
def test_folder_group(resource_type: str, fqn: list[str], group: str | None) -> None:
    from orchestration.transform import folder_group

    assert folder_group(resource_type, fqn) == group


def test_manifest_goes_stale_when_a_project_file_changes(tmp_path: Path) -> None:
    from orchestration.transform import manifest_is_stale

    (tmp_path / "models").mkdir()
    (tmp_path / "dbt_project.yml").write_text("name: p\n")
    (tmp_path / "models" / "a.sql").write_text("select 1\n")
    project = DbtProject(project_dir=tmp_path, target_path=Path("target", "dagster"))
    assert manifest_is_stale(project)

    project.manifest_path.parent.mkdir(parents=True)
    project.manifest_path.write_text("{}")
    past = project.manifest_path.stat().st_mtime - 60
    for path in (tmp_path / "dbt_project.yml", tmp_path / "models", tmp_path / "models" / "a.sql"):
        os.utime(path, (past, past))
    assert not manifest_is_stale(project)

    (tmp_path / "models" / "a.sql").unlink()  # a deletion only touches the folder
    assert manifest_is_stale(project)


def test_entity_metadata_reports_loads_quarantine_and_missing_entities() -> None:
    from orchestration.ingest import entity_metadata

    report = LoadReport(
        rows_loaded={"events": 90},
        rows_quarantined={"events": {"unknown_account": 2, "bad_timestamp": 1}},
        rows_already_loaded={"events": 5},
        missing_entities=["meetings"],
    )
    assert entity_metadata(report, ENTITY_BY_NAME["events"]) == {
        "rows_loaded": 90,
        "rows_quarantined": 3,
        "quarantined_by_rule": {"bad_timestamp": 1, "unknown_account": 2},
        "missing_from_source": False,
        "rows_already_loaded": 5,
    }
    meetings = entity_metadata(report, ENTITY_BY_NAME["meetings"])
    assert (meetings["rows_loaded"], meetings["missing_from_source"]) == (0, True)


@pytest.mark.parametrize(
    ("status", "passed", "severity"),
    [
        ("pass", True, AssetCheckSeverity.ERROR),
        ("warn", False, AssetCheckSeverity.WARN),
        ("error", False, AssetCheckSeverity.ERROR),
        ("runtime error", False, AssetCheckSeverity.ERROR),
    ],
)
def test_freshness_result_maps_dbt_status(
    status: str, passed: bool, severity: AssetCheckSeverity
) -> None:
    from orchestration.freshness import freshness_result

    entry = {
        "status": status,
        "max_loaded_at": "2026-06-30T23:00:00",
        "max_loaded_at_time_ago_in_s": 7200.0,
    }
    if status == "runtime error":
        entry = {"status": status, "error": "Catalog Error: Table raw_events does not exist"}
    result = freshness_result(entry, AssetKey(["raw", "raw_events"]))
    assert (result.passed, result.severity) == (passed, severity)
    assert result.metadata["dbt_status"].value == status


def test_daily_refresh_scores_a_demo_warehouse(
    defs: Definitions, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingestion.demo_data import generate

    demo = generate(tmp_path / "demo", accounts=30, days=120, seed=7, end_date=date(2026, 6, 30))
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("HEALTHSCORE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HEALTHSCORE_SOURCE_DIR", str(demo.source_dir))
    monkeypatch.setenv("HEALTHSCORE_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt_target"))  # keep the repo clean

    result = defs.resolve_job_def("daily_refresh").execute_in_process(
        instance=DagsterInstance.ephemeral()
    )

    assert result.success
    materialized = {m.asset_key for m in result.get_asset_materialization_events()}
    assert materialized >= RAW_KEYS | HEALTH_KEYS
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not [name for name, e in evaluations.items() if not e.passed and name != FRESHNESS]
    stale = evaluations[FRESHNESS]  # the demo's newest event is long past
    assert (stale.passed, stale.severity) == (False, AssetCheckSeverity.ERROR)
    assert stale.metadata["max_loaded_at"].value.startswith("2026-06-30")
    loads = {m.asset_key: m.metadata for m in result.asset_materializations_for_node("raw_files")}
    with duckdb.connect(str(warehouse), read_only=True) as db:
        (loaded,) = db.execute("select count(*) from raw.raw_accounts").fetchone()
        customers, current = db.execute(
            "select (select count(*) from dim_accounts where not is_churned),"
            " (select count(*) from account_health_current)"
        ).fetchone()
    assert loads[AssetKey(["raw", "raw_accounts"])]["rows_loaded"].value == loaded
    assert current > 0
    assert current == customers
    # files only: every account is its own identity, observed on int_account_identity
    (identity,) = [
        e.event_specific_data.asset_observation.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_OBSERVATION"
        and e.event_specific_data.asset_observation.asset_key == AssetKey("int_account_identity")
    ]
    assert identity["organizations"].value == loaded
    assert identity["unmatched"].value == 0


def test_a_contract_break_fails_the_load_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestration.ingest import raw_files
    from orchestration.resources import build_resources

    monkeypatch.setenv("HEALTHSCORE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HEALTHSCORE_SOURCE_DIR", str(tmp_path))  # no contract files at all

    result = materialize(
        [raw_files],
        resources=build_resources(),
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "breaks the file contract" in message
    assert "accounts" in message
