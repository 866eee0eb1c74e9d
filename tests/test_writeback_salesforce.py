"""The Salesforce write-back through simple-salesforce against a local Salesforce org."""

from __future__ import annotations

import json
import logging
import math
from datetime import date

import pytest

from healthscore.crm.errors import UnknownOutcome
from healthscore.crm.retry import RetryPolicy
from healthscore.crm.salesforce_client import SalesforceClient, SalesforceSettings
from healthscore.writeback import run_sync
from tests.fakes import FakeSalesforce
from tests.fakes.sync_models import (
    HealthRow,
    query,
    rescored,
    salesforce_crm_values,
    salesforce_expected,
    sample_rows,
    state_as_salesforce,
    state_values,
    write_model,
)

TOKEN = "00Dxx0000001gPL!SECRET-sf-session-0042"
FAST = RetryPolicy(backoff_base=0.01, backoff_max=0.05, rate_limit_backoff=0.01)
COLLECTIONS = r"/composite/sobjects$"


@pytest.fixture
def org():
    with FakeSalesforce(token=TOKEN) as server:
        yield server


@pytest.fixture
def client(org):
    return SalesforceClient(
        SalesforceSettings(instance_url=org.url, access_token=TOKEN), policy=FAST
    )


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse.duckdb"


def seed(org: FakeSalesforce, warehouse, count: int) -> list[HealthRow]:
    ids = [org.add("Account", Name=f"Account {i}") for i in range(count)]
    rows = sample_rows(ids)
    write_model(warehouse, "salesforce", rows)
    return rows


def assert_converged(org: FakeSalesforce, warehouse, rows: list[HealthRow]) -> None:
    for row in rows:
        assert salesforce_crm_values(org, row.record_id) == salesforce_expected(row)
    for record_id, values in state_values(warehouse, "salesforce").items():
        assert state_as_salesforce(values) == salesforce_crm_values(org, record_id)
    assert set(state_values(warehouse, "salesforce")) == {row.record_id for row in rows}


def test_first_sync_uses_collections_of_200_with_typed_values(org, client, warehouse):
    rows = seed(org, warehouse, 450)

    report = run_sync("salesforce", warehouse, client=client)

    assert report.status == "ok" and report.confirmed == 450
    assert report.api_calls == math.ceil(450 / 200) == org.log.count("PATCH", COLLECTIONS)
    assert_converged(org, warehouse, rows)
    held = org.get("Account", rows[1].record_id)
    assert isinstance(held["Health_Score__c"], float)
    assert held["Health_Updated_At__c"] == "2024-05-01T06:00:00.000+0000"


def test_nothing_changed_means_no_calls(org, client, warehouse):
    rows = seed(org, warehouse, 50)
    run_sync("salesforce", warehouse, client=client)
    write_model(warehouse, "salesforce", sample_rows([r.record_id for r in rows], day=3))
    org.log.clear()

    report = run_sync("salesforce", warehouse, client=client)

    assert report.changed == 0 and report.api_calls == 0 == org.log.count()


def test_per_record_failures_fail_only_those_records(org, client, warehouse):
    rows = seed(org, warehouse, 60)
    deleted, invalid = rows[7], rows[30]
    org.delete("Account", deleted.record_id)
    rows[30] = HealthRow(**{**invalid.__dict__, "health_trend": "sideways"})
    write_model(warehouse, "salesforce", rows)

    report = run_sync("salesforce", warehouse, client=client)

    assert (report.confirmed, report.missing, report.failed, report.api_calls) == (58, 1, 1, 1)
    reasons = {f["record_id"]: f["category"] for f in report.failures}
    assert reasons == {
        deleted.record_id: "ENTITY_IS_DELETED",
        invalid.record_id: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    }
    parked = query(warehouse, "select record_id from writeback.parked_records")
    assert parked == [(deleted.record_id,)]
    kept = [r for i, r in enumerate(rows) if i not in (7, 30)]
    for row in kept:
        assert salesforce_crm_values(org, row.record_id) == salesforce_expected(row)

    rows[30] = rescored(invalid)  # the model is fixed: the record goes through next run
    write_model(warehouse, "salesforce", rows)
    again = run_sync("salesforce", warehouse, client=client)
    assert (again.changed, again.confirmed, again.parked) == (1, 1, 1)


def test_locked_rows_are_retried_next_run(org, client, warehouse):
    rows = seed(org, warehouse, 250)
    org.partial_next(5)  # UNABLE_TO_LOCK_ROW for the first five records of the next call

    first = run_sync("salesforce", warehouse, client=client)
    second = run_sync("salesforce", warehouse, client=client)

    assert (first.confirmed, first.failed) == (245, 5)
    assert {f["category"] for f in first.failures} == {"UNABLE_TO_LOCK_ROW"}
    assert (second.changed, second.confirmed, second.api_calls) == (5, 5, 1)
    assert_converged(org, warehouse, rows)


def test_429_retry_after_and_5xx_are_retried(org, client, warehouse):
    rows = seed(org, warehouse, 300)
    org.fail_next(429, retry_after=0.4)
    org.fail_next(503, skip=1)
    org.fail_next(500, skip=2)

    report = run_sync("salesforce", warehouse, client=client)

    assert (report.confirmed, report.rate_limited, report.retries) == (300, 1, 3)
    patches = [hit for hit in org.log.hits if hit.method == "PATCH"]
    assert patches[1].at - patches[0].at >= 0.4  # Retry-After honoured
    assert_converged(org, warehouse, rows)


def test_without_credentials_it_is_a_dry_run(org, warehouse, monkeypatch):
    for name in ("SALESFORCE_ACCESS_TOKEN", "SALESFORCE_USERNAME", "SALESFORCE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", org.url)
    rows = seed(org, warehouse, 3)

    report = run_sync("salesforce", warehouse)

    assert report.status == "dry_run" and org.log.count() == 0
    payload = json.loads(query(warehouse, "select payload from writeback.dry_run_records")[0][0])
    assert payload["attributes"] == {"type": "Account"} and payload["id"] == rows[0].record_id
    assert payload["Health_Score__c"] == rows[0].health_score


def test_live_sync_is_configured_from_the_environment_and_logs_no_secret(
    org, warehouse, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", org.url)
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SALESFORCE_API_VERSION", "59.0")
    rows = seed(org, warehouse, 5)
    org.fail_next(503)
    org.drop_next(skip=1)

    report = run_sync("salesforce", warehouse)

    assert (report.confirmed, report.retries) == (5, 2)
    assert_converged(org, warehouse, rows)
    texts = [caplog.text, json.dumps(report.metadata()), repr(SalesforceSettings.from_env())]
    tables = query(warehouse, "select table_schema, table_name from information_schema.tables")
    texts += [str(query(warehouse, f"select * from {s}.{t}")) for s, t in tables]
    assert all(TOKEN not in text for text in texts)


def test_expired_session_stops_the_run(org, warehouse):
    seed(org, warehouse, 5)
    stale = SalesforceClient(
        SalesforceSettings(instance_url=org.url, access_token="00Dxx!expired"), policy=FAST
    )

    report = run_sync("salesforce", warehouse, client=stale)

    assert report.status == "aborted" and "Session expired" in report.message
    assert report.api_calls == 1


def test_task_is_created_on_the_account_and_found_by_alert_id(org, client):
    account = org.add("Account", Name="Acme")

    task_id = client.create_task(
        account_id=account,
        alert_id="alert-'quoted'\\id",
        subject="Acme turned red",
        description="Score 38 (was 61)",
        due_date=date(2024, 5, 2),
    )

    held = org.get("Task", task_id)
    assert (held["WhatId"], held["ActivityDate"], held["Priority"]) == (
        account,
        "2024-05-02",
        "High",
    )
    assert held["Healthscore_Alert_Id__c"] == "alert-'quoted'\\id"
    assert client.find_task_by_alert_id("alert-'quoted'\\id") == task_id
    assert client.find_task_by_alert_id("alert-other") is None


def test_task_create_is_not_resent_after_an_unknown_outcome(org, client):
    account = org.add("Account", Name="Acme")
    org.delay_next(1.0, after_apply=True, path=r"/sobjects/Task/?$")
    timed_out = SalesforceClient(
        SalesforceSettings(instance_url=org.url, access_token=TOKEN),
        policy=FAST,
        timeout=(1.0, 0.3),
    )

    with pytest.raises(UnknownOutcome):
        timed_out.create_task(
            account_id=account, alert_id="a-1", subject="s", description="d", due_date=date.today()
        )

    assert org.log.count("POST") == 1 and len(org.all("Task")) == 1  # applied once
    assert client.find_task_by_alert_id("a-1") == next(iter(org.all("Task")))
