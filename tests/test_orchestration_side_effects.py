"""The Dagster side of write-back, alerts and calibration, run in process against the built
demo warehouse and the local HubSpot and Slack servers.

As in test_orchestration.py, `orchestration` is imported inside the tests, so that test's
proof that importing the code location reads no settings stays meaningful.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    ExecuteInProcessResult,
    Failure,
    build_sensor_context,
    materialize,
)

from healthscore.writeback import SyncReport
from tests.conftest import BuiltWarehouse
from tests.fakes import FakeHubSpot
from tests.fakes.slack_server import FakeSlack
from tests.fakes.sync_models import (
    HUBSPOT_COLUMNS,
    HealthRow,
    hubspot_crm_values,
    hubspot_expected,
)

HUBSPOT_TOKEN = "pat-na1-SECRET-dagster-0042"
ALERTS_CHANNEL, OPS_CHANNEL = "C0ALERTS1", "C0OPS0001"
# The demo data ends 2026-06-30; its alerts are judged as of that morning, not today.
AS_OF = dt.datetime(2026, 6, 30, 6, 0, tzinfo=dt.UTC)
SECRET_VARIABLES = (
    "HUBSPOT_ACCESS_TOKEN",
    "SALESFORCE_ACCESS_TOKEN",
    "SALESFORCE_USERNAME",
    "SALESFORCE_PASSWORD",
    "SLACK_BOT_TOKEN",
    "HEALTHSCORE_CRM_DESTINATIONS",
)


@pytest.fixture
def warehouse(built_warehouse: BuiltWarehouse, tmp_path: Path, monkeypatch) -> Path:
    """A private copy of the built warehouse, named by the settings the resources read."""
    copy = built_warehouse.copy(tmp_path)
    monkeypatch.setenv("HEALTHSCORE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HEALTHSCORE_WAREHOUSE", str(copy))
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return copy


@pytest.fixture
def hubspot(monkeypatch) -> Iterator[FakeHubSpot]:
    with FakeHubSpot(token=HUBSPOT_TOKEN) as server:
        monkeypatch.setenv("HUBSPOT_BASE_URL", server.url)
        yield server


@pytest.fixture
def slack(tmp_path: Path, monkeypatch) -> Iterator[FakeSlack]:
    with FakeSlack(rate_interval=0) as server:
        server.add_channel(ALERTS_CHANNEL, "cs-alerts")
        server.add_channel(OPS_CHANNEL, "cs-ops")
        routing = tmp_path / "routing.yml"
        routing.write_text(f"default: {ALERTS_CHANNEL}\n")
        monkeypatch.setenv("SLACK_BOT_TOKEN", server.token)
        monkeypatch.setenv("SLACK_BASE_URL", server.base_url)
        monkeypatch.setenv("HEALTHSCORE_ALERT_ROUTING", str(routing))
        monkeypatch.setenv("HEALTHSCORE_OPS_CHANNEL", OPS_CHANNEL)
        # Well above the demo's share of alerting accounts: only a stale source holds alerts.
        monkeypatch.setenv("HEALTHSCORE_STORM_SHARE", "0.5")
        yield server


def sync_rows(warehouse: Path) -> list[HealthRow]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"select {', '.join(HUBSPOT_COLUMNS)} from main.sync_hubspot__companies"
        ).fetchall()
    return [HealthRow(*row) for row in rows]


def map_accounts_to_portal(warehouse: Path, hubspot: FakeHubSpot) -> None:
    """One portal company per account, its id written into the sync model as the CRM id
    (the demo's accounts carry their own ids, which the portal assigns itself)."""
    with duckdb.connect(str(warehouse)) as con:
        accounts = con.execute("select account_id from main.sync_hubspot__companies").fetchall()
        for (account_id,) in accounts:
            company = hubspot.add("companies", name=account_id)
            con.execute(
                "update main.sync_hubspot__companies set hubspot_company_id = ? "
                "where account_id = ?",
                [company, account_id],
            )


def run(assets: list[Any], instance: DagsterInstance | None = None, **kwargs: Any):
    from orchestration.resources import build_resources

    return materialize(
        assets,
        resources=build_resources(),
        instance=instance or DagsterInstance.ephemeral(),
        **kwargs,
    )


def metadata_of(result: ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    (event,) = [
        m for m in result.get_asset_materialization_events() if m.asset_key == AssetKey(asset)
    ]
    return {key: value.value for key, value in event.materialization.metadata.items()}


# -- write-back ---------------------------------------------------------------------------------


def test_hubspot_sync_writes_the_sync_model_into_the_portal(warehouse, hubspot, monkeypatch):
    from orchestration.writeback import crm_properties, hubspot_company_health

    map_accounts_to_portal(warehouse, hubspot)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", HUBSPOT_TOKEN)

    result = run([crm_properties, hubspot_company_health])

    rows = sync_rows(warehouse)
    assert len(rows) > 50
    assert {row.record_id: hubspot_crm_values(hubspot, row.record_id) for row in rows} == {
        row.record_id: hubspot_expected(row) for row in rows
    }
    sync = metadata_of(result, "hubspot_company_health")
    assert (sync["status"], sync["dry_run"], sync["confirmed"]) == ("ok", False, len(rows))
    properties = metadata_of(result, "crm_properties")
    assert properties["hubspot"]["ok"] and properties["disabled"] == ["salesforce"]
    assert HUBSPOT_TOKEN not in repr(result.all_events)


def test_without_a_token_the_sync_is_a_dry_run_and_sends_nothing(warehouse, hubspot):
    from orchestration.writeback import (
        crm_properties,
        hubspot_company_health,
        salesforce_account_health,
    )

    result = run([crm_properties, hubspot_company_health, salesforce_account_health])

    assert hubspot.log.count() == 0
    sync = metadata_of(result, "hubspot_company_health")
    assert (sync["status"], sync["dry_run"], sync["sent"]) == ("dry_run", True, 0)
    assert sync["changed"] == len(sync_rows(warehouse)) and sync["would_send"]
    assert metadata_of(result, "crm_properties")["hubspot"]["dry_run"]
    assert metadata_of(result, "salesforce_account_health")["status"] == "disabled"


@pytest.mark.parametrize(
    ("raw", "enabled"),
    [
        (None, ("hubspot",)),
        ("", ()),
        (" Salesforce, hubspot,salesforce", ("salesforce", "hubspot")),
    ],
)
def test_enabled_destinations(raw: str | None, enabled: tuple[str, ...]) -> None:
    from orchestration.writeback import enabled_destinations

    assert enabled_destinations(raw) == enabled


def test_an_unknown_destination_fails_instead_of_syncing_nowhere() -> None:
    from orchestration.writeback import enabled_destinations

    with pytest.raises(Failure, match="pipedrive"):
        enabled_destinations("hubspot,pipedrive")


@pytest.mark.parametrize(
    ("status", "retried"), [("blocked", False), ("aborted", True), ("partial", None)]
)
def test_sync_outcome_maps_to_failure_retry_or_success(status: str, retried: bool | None) -> None:
    from orchestration.writeback import sync_result

    report = SyncReport(run_id="r1", destination="hubspot", dry_run=False, status=status)
    report.message = "stopped"
    if retried is None:
        assert sync_result(report, "hubspot_company_health").metadata["status"] == status
        return
    with pytest.raises(Failure) as failure:
        sync_result(report, "hubspot_company_health")
    assert failure.value.allow_retries is retried
    assert failure.value.metadata["status"].value == status
    if status == "blocked":
        assert "force: true" in failure.value.description


# -- alerts -------------------------------------------------------------------------------------


def alerts_due(warehouse: Path) -> int:
    """Alerts young enough to send as of AS_OF (the default HEALTHSCORE_ALERT_MAX_AGE_DAYS)."""
    cutoff = AS_OF.date() - dt.timedelta(days=7)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select count(*) from main.fct_health_alerts where alert_date >= ?", [cutoff]
        ).fetchone()[0]


def deliver(instance: DagsterInstance):
    from orchestration.alerts import alert_deliveries, no_held_alerts

    config = {"ops": {"alert_deliveries": {"config": {"as_of": AS_OF.isoformat()}}}}
    return run([alert_deliveries, no_held_alerts], instance, run_config=config)


def held_check(result: ExecuteInProcessResult):
    (evaluation,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "no_held_alerts"
    ]
    return evaluation


def test_each_due_alert_is_posted_once_across_deliveries(warehouse, slack):
    instance = DagsterInstance.ephemeral()
    due = alerts_due(warehouse)

    first = deliver(instance)
    again = deliver(instance)

    assert due > 0
    assert len(slack.messages(ALERTS_CHANNEL)) == due
    assert metadata_of(first, "alert_deliveries")["slack.sent"] == due
    assert metadata_of(again, "alert_deliveries")["new_alerts"] == 0
    assert slack.call_count("chat.postMessage") == due
    assert held_check(first).passed and held_check(again).passed


def test_a_stale_source_holds_alerts_and_the_check_warns(warehouse, slack):
    instance = DagsterInstance.ephemeral()
    instance.report_runless_asset_event(
        AssetCheckEvaluation(
            asset_key=AssetKey(["raw", "raw_events"]),
            check_name="source_freshness",
            passed=False,
            severity=AssetCheckSeverity.ERROR,
        )
    )

    result = deliver(instance)

    delivery = metadata_of(result, "alert_deliveries")
    assert delivery["held"] and "raw.raw_events" in delivery["hold_reasons"][0]
    assert slack.messages(ALERTS_CHANNEL) == [] and len(slack.messages(OPS_CHANNEL)) == 1
    check = held_check(result)
    assert (check.passed, check.severity) == (False, AssetCheckSeverity.WARN)
    assert check.metadata["held_alerts"].value == alerts_due(warehouse)


def test_the_sensor_requests_one_delivery_per_new_build_of_the_alerts():
    from orchestration.alerts import deliver_alerts_after_refresh

    instance = DagsterInstance.ephemeral()

    def tick(cursor: str | None = None):
        context = build_sensor_context(instance=instance, cursor=cursor)
        return deliver_alerts_after_refresh.evaluate_tick(context)

    assert not tick().run_requests  # nothing built yet
    instance.report_runless_asset_event(AssetMaterialization("fct_health_alerts"))
    first, repeated = tick(), tick()
    (request,) = first.run_requests
    assert request.run_key.startswith("alerts-")
    assert [r.run_key for r in repeated.run_requests] == [request.run_key]  # deduplicated
    assert not tick(first.cursor).run_requests

    instance.report_runless_asset_event(AssetMaterialization("fct_health_alerts"))
    (later,) = tick(first.cursor).run_requests
    assert later.run_key != request.run_key


# -- calibration --------------------------------------------------------------------------------


def test_calibration_reports_headline_figures_and_whether_data_supports_them(warehouse, tmp_path):
    from orchestration.calibrate import calibration_proposal

    config = {"ops": {"calibration_proposal": {"config": {"n_bootstrap": 50}}}}
    result = run([calibration_proposal], run_config=config)

    metadata = metadata_of(result, "calibration_proposal")
    for figure in ("auc_template", "auc_calibrated", "recall_red", "false_alarm"):
        assert isinstance(metadata[figure], float)
    assert isinstance(metadata["holdout_decisions"], int)
    assert any(key.startswith("signal_auc/") for key in metadata)
    assert "→" in metadata["weights"]
    report = Path(metadata["report"])
    assert report.is_file() and report.is_relative_to(tmp_path / "calibration")
    (check,) = result.get_asset_check_evaluations()
    assert check.passed is metadata["supported"]
    assert check.severity is AssetCheckSeverity.WARN
