"""The HubSpot write-back through hubspot-api-client against a local HubSpot portal."""

from __future__ import annotations

import json
import logging
import math
from datetime import datetime

import pytest

from healthscore.crm.errors import CrmError, UnknownOutcome
from healthscore.crm.hubspot_client import HubSpotClient, HubSpotSettings
from healthscore.crm.retry import RetryPolicy
from healthscore.writeback import ensure_properties, run_sync
from tests.fakes import FakeHubSpot
from tests.fakes.sync_models import (
    HealthRow,
    hubspot_crm_values,
    hubspot_expected,
    query,
    rescored,
    sample_rows,
    state_values,
    write_model,
)

TOKEN = "pat-na1-SECRET-hs-0042-do-not-log"
FAST = RetryPolicy(backoff_base=0.01, backoff_max=0.05, rate_limit_backoff=0.01)
BATCH_UPDATE = r"/batch/update$"


@pytest.fixture
def hubspot():
    with FakeHubSpot(token=TOKEN) as server:
        yield server


@pytest.fixture
def client(hubspot):
    client = HubSpotClient(HubSpotSettings(base_url=hubspot.url, access_token=TOKEN), policy=FAST)
    assert ensure_properties("hubspot", client=client).ok
    hubspot.log.clear()
    return client


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse.duckdb"


def seed(hubspot: FakeHubSpot, warehouse, count: int) -> list[HealthRow]:
    ids = [hubspot.add("companies", name=f"Company {i}") for i in range(count)]
    rows = sample_rows(ids)
    write_model(warehouse, "hubspot", rows)
    return rows


def assert_converged(hubspot: FakeHubSpot, warehouse, rows: list[HealthRow]) -> None:
    """The CRM holds exactly the warehouse values, and state claims exactly what it holds."""
    for row in rows:
        assert hubspot_crm_values(hubspot, row.record_id) == hubspot_expected(row)
    assert state_values(warehouse, "hubspot") == {
        row.record_id: hubspot_crm_values(hubspot, row.record_id) for row in rows
    }


def test_first_sync_sends_every_row_in_batches_of_100(hubspot, client, warehouse):
    rows = seed(hubspot, warehouse, 250)

    report = run_sync("hubspot", warehouse, client=client)

    assert report.status == "ok" and not report.dry_run
    assert report.api_calls == math.ceil(250 / 100) == hubspot.log.count("POST", BATCH_UPDATE)
    assert (report.candidates, report.changed, report.sent, report.confirmed) == (
        250,
        250,
        250,
        250,
    )
    assert report.failed == report.missing == report.rate_limited == 0
    assert_converged(hubspot, warehouse, rows)
    logged = query(warehouse, "select count(*), min(config_version) from writeback.publish_log")
    assert logged == [(250, "weights-v1")]
    runs = query(warehouse, "select status, confirmed, api_calls from writeback.sync_runs")
    assert runs == [("ok", 250, 3)]


def test_nothing_changed_means_no_calls(hubspot, client, warehouse):
    seed(hubspot, warehouse, 120)
    run_sync("hubspot", warehouse, client=client)
    hubspot.log.clear()

    report = run_sync("hubspot", warehouse, client=client)

    assert report.status == "ok" and report.changed == 0
    assert report.api_calls == 0 == hubspot.log.count()


def test_only_changed_rows_are_sent_and_the_timestamp_rides_along(hubspot, client, warehouse):
    rows = seed(hubspot, warehouse, 150)
    run_sync("hubspot", warehouse, client=client)
    next_day = sample_rows([r.record_id for r in rows], day=1)  # every timestamp moves
    changed = {3, 50, 149}
    next_day = [rescored(r) if i in changed else r for i, r in enumerate(next_day)]
    write_model(warehouse, "hubspot", next_day)
    hubspot.log.clear()

    report = run_sync("hubspot", warehouse, client=client)

    assert (report.changed, report.confirmed, report.api_calls) == (3, 3, 1)
    for i, row in enumerate(next_day):
        held = hubspot_crm_values(hubspot, row.record_id)
        expected = hubspot_expected(row if i in changed else rows[i])
        assert held == expected
    assert query(warehouse, "select count(*) from writeback.publish_log") == [(153,)]


def test_rows_without_a_crm_id_are_counted_not_sent(hubspot, client, warehouse):
    ids = [hubspot.add("companies", name=f"c{i}") for i in range(5)]
    write_model(warehouse, "hubspot", sample_rows([*ids, None, None]))

    report = run_sync("hubspot", warehouse, client=client)

    assert (report.candidates, report.unmapped, report.confirmed) == (5, 2, 5)


def test_two_accounts_on_one_company_break_the_contract(hubspot, client, warehouse):
    company = hubspot.add("companies", name="Shared")
    write_model(warehouse, "hubspot", sample_rows([company, company]))

    with pytest.raises(CrmError, match="several accounts to one CRM record"):
        run_sync("hubspot", warehouse, client=client)

    assert hubspot.log.count() == 0


def test_a_live_run_without_credentials_is_refused(hubspot, warehouse, monkeypatch):
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    seed(hubspot, warehouse, 3)

    with pytest.raises(CrmError, match="HUBSPOT_ACCESS_TOKEN"):
        run_sync("hubspot", warehouse, dry_run=False)


def test_archived_company_is_reported_once_then_parked(hubspot, client, warehouse):
    rows = seed(hubspot, warehouse, 30)
    gone = [rows[4].record_id, rows[17].record_id]
    for record_id in gone:
        hubspot.archive("companies", record_id)

    first = run_sync("hubspot", warehouse, client=client)

    assert first.status == "partial"
    assert (first.confirmed, first.missing, first.failed) == (28, 2, 0)
    assert {f["record_id"] for f in first.failures} == set(gone)
    assert all(f["category"] == "OBJECT_NOT_FOUND" for f in first.failures)
    assert sorted(
        r for (r,) in query(warehouse, "select record_id from writeback.parked_records")
    ) == sorted(gone)
    assert set(gone).isdisjoint(state_values(warehouse, "hubspot"))

    write_model(warehouse, "hubspot", [rescored(r) if r.record_id in gone else r for r in rows])
    hubspot.log.clear()
    second = run_sync("hubspot", warehouse, client=client)
    assert (second.parked, second.changed, second.api_calls) == (2, 0, 0)

    hubspot.objects["companies"][gone[0]].archived = False  # restored from the recycle bin
    third = run_sync("hubspot", warehouse, client=client, retry_parked=True)
    assert (third.confirmed, third.missing) == (1, 1)


def test_an_invalid_value_is_isolated_and_the_rest_is_written(hubspot, client, warehouse):
    rows = seed(hubspot, warehouse, 100)
    bad = rows[42]
    rows[42] = HealthRow(**{**bad.__dict__, "health_status": "purple"})
    write_model(warehouse, "hubspot", rows)

    report = run_sync("hubspot", warehouse, client=client)

    assert (report.confirmed, report.failed) == (99, 1)
    assert report.failures[0]["record_id"] == bad.record_id
    assert report.failures[0]["category"] == "VALIDATION_ERROR"
    assert report.api_calls <= 1 + 2 * 7  # one batch, then halving down to the bad row
    assert bad.record_id not in state_values(warehouse, "hubspot")
    assert_converged(hubspot, warehouse, rows[:42] + rows[43:])

    again = run_sync("hubspot", warehouse, client=client)  # failed rows are retried
    assert (again.changed, again.failed) == (1, 1)


def test_an_unknown_property_stops_the_run_instead_of_bisecting(hubspot, warehouse):
    bare = HubSpotClient(HubSpotSettings(base_url=hubspot.url, access_token=TOKEN), policy=FAST)
    seed(hubspot, warehouse, 150)

    report = run_sync("hubspot", warehouse, client=bare)

    assert report.status == "aborted"
    assert "PROPERTY_DOESNT_EXIST" in report.message
    assert report.api_calls == 1
    assert state_values(warehouse, "hubspot") == {}


def test_safety_valve_blocks_a_large_change_unless_forced(hubspot, client, warehouse, monkeypatch):
    rows = seed(hubspot, warehouse, 20)
    run_sync("hubspot", warehouse, client=client)  # a first sync overwrites nothing
    moved = [rescored(r, 5) if i < 12 else r for i, r in enumerate(rows)]  # 60 % change
    write_model(warehouse, "hubspot", moved)
    hubspot.log.clear()

    blocked = run_sync("hubspot", warehouse, client=client)

    assert blocked.status == "blocked" and blocked.api_calls == 0 == hubspot.log.count()
    assert "60%" in blocked.message and "force" in blocked.message
    assert_converged(hubspot, warehouse, rows)  # nothing moved
    monkeypatch.setenv("HEALTHSCORE_SYNC_MAX_CHANGE_SHARE", "0.7")
    assert run_sync("hubspot", warehouse, client=client, dry_run=True).status == "dry_run"
    monkeypatch.setenv("HEALTHSCORE_SYNC_MAX_CHANGE_SHARE", "0.5")

    forced = run_sync("hubspot", warehouse, client=client, force=True)

    assert (forced.status, forced.confirmed) == ("ok", 12)
    assert_converged(hubspot, warehouse, moved)
    statuses = query(warehouse, "select status from writeback.sync_runs order by started_at")
    assert [s for (s,) in statuses] == ["ok", "blocked", "dry_run", "ok"]


def test_without_a_token_it_is_a_dry_run_that_records_what_it_would_send(
    hubspot, warehouse, monkeypatch
):
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("HUBSPOT_BASE_URL", hubspot.url)
    rows = seed(hubspot, warehouse, 40)

    report = run_sync("hubspot", warehouse)
    run_sync("hubspot", warehouse)  # a second dry run replaces the records

    assert report.dry_run and report.status == "dry_run"
    assert "DRY RUN" in report.message and "HUBSPOT_ACCESS_TOKEN" in report.message
    assert hubspot.log.count() == 0
    assert len(report.would_send) == 40 and len(report.metadata()["would_send"]) == 20
    recorded = query(
        warehouse, "select record_id, payload from writeback.dry_run_records order by record_id"
    )
    assert len(recorded) == 40
    first = rows[0]
    assert json.loads(recorded[0][1]) == {
        "id": first.record_id,
        "properties": hubspot_expected(first),
    }
    assert state_values(warehouse, "hubspot") == {}


def test_live_sync_is_configured_from_the_environment(hubspot, client, warehouse, monkeypatch):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("HUBSPOT_BASE_URL", hubspot.url)
    monkeypatch.setenv("HEALTHSCORE_CRM_RATE_LIMIT", "190")
    rows = seed(hubspot, warehouse, 10)

    report = run_sync("hubspot", warehouse)

    assert not report.dry_run and report.confirmed == 10
    assert_converged(hubspot, warehouse, rows)
    assert run_sync("hubspot", warehouse, dry_run=True).status == "dry_run"


def test_progress_is_reported_after_each_batch(hubspot, client, warehouse):
    seed(hubspot, warehouse, 230)
    seen: list[tuple[int, int]] = []

    run_sync(
        "hubspot", warehouse, client=client, progress=lambda done, total: seen.append((done, total))
    )

    assert seen == [(100, 230), (200, 230), (230, 230)]


def test_no_secret_reaches_logs_metadata_or_tables(hubspot, client, warehouse, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    rows = seed(hubspot, warehouse, 150)
    hubspot.archive("companies", rows[0].record_id)
    hubspot.fail_next(429)
    hubspot.fail_next(500, skip=1)
    hubspot.drop_next(skip=2)  # the first batch meets a 429, a 500, a dropped connection
    reports = [run_sync("hubspot", warehouse, client=client)]
    reports.append(ensure_properties("hubspot", client=client))
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("HUBSPOT_BASE_URL", hubspot.url + "/wrong-prefix")
    reports.append(run_sync("hubspot", warehouse, force=True, retry_parked=True))
    reports.append(run_sync("hubspot", warehouse, dry_run=True, retry_parked=True))

    assert (reports[0].rate_limited, reports[0].retries) == (1, 3)
    assert reports[2].status == "aborted"
    texts = [caplog.text, *(json.dumps(r.metadata(), default=str) for r in reports)]
    texts.append(repr(HubSpotSettings(base_url=hubspot.url, access_token=TOKEN)))
    tables = query(warehouse, "select table_schema, table_name from information_schema.tables")
    for schema, table in tables:
        texts.append(str(query(warehouse, f"select * from {schema}.{table}")))
    assert all(TOKEN not in text for text in texts)
    assert "pat-na1" not in caplog.text


def test_task_is_created_on_the_company_and_found_by_alert_id(hubspot, client):
    company = hubspot.add("companies", name="Acme")

    task_id = client.create_task(
        company_id=company,
        alert_id="alert-7f3a",
        subject="Acme turned red",
        body="Score 38 (was 61): logins down 60 %",
        due_at=datetime(2024, 5, 2, 9, 0),
        owner_id="4242",
    )

    held = hubspot.get("tasks", task_id)
    assert held["hs_timestamp"] == "2024-05-02T09:00:00.000Z"
    assert (held["healthscore_alert_id"], held["hs_task_priority"]) == ("alert-7f3a", "HIGH")
    assert held["hubspot_owner_id"] == "4242"
    links = hubspot.associations("tasks", task_id)
    assert links == [
        {
            "toObjectType": "companies",
            "toObjectId": company,
            "associationCategory": "HUBSPOT_DEFINED",
            "associationTypeId": 192,
        }
    ]
    assert client.find_task_by_alert_id("alert-7f3a") == task_id
    assert client.find_task_by_alert_id("alert-other") is None


def test_task_create_is_not_resent_after_an_unknown_outcome(hubspot, client):
    company = hubspot.add("companies", name="Acme")
    hubspot.drop_next(after_apply=True, path=r"/objects/tasks$")
    task = {
        "company_id": company,
        "alert_id": "alert-1",
        "subject": "s",
        "body": "b",
        "due_at": datetime(2024, 5, 2),
    }

    with pytest.raises(UnknownOutcome):
        client.create_task(**task)

    assert hubspot.log.count("POST", r"/objects/tasks$") == 1
    assert len(hubspot.all("tasks")) == 1  # applied once, not twice
    assert client.find_task_by_alert_id("alert-1") == next(iter(hubspot.all("tasks")))

    hubspot.fail_next(429, path=r"/objects/tasks$")  # a 429 was not processed: safe to retry
    client.create_task(**{**task, "alert_id": "alert-2"})
    assert len(hubspot.all("tasks")) == 2
