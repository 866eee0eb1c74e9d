"""CRM tasks for alerts, through hubspot-api-client and simple-salesforce against the local
HubSpot and Salesforce servers: created once per alert across faults, crashes and re-runs."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest

from healthscore.alerts import deliver_pending, release_held
from healthscore.alerts.alert import Alert
from healthscore.alerts.config import AlertSettings
from healthscore.alerts.crm_tasks import HubSpotTaskChannel, SalesforceTaskChannel, task_content
from healthscore.crm.hubspot_client import HubSpotClient, HubSpotSettings
from healthscore.crm.rate_limit import Unlimited
from healthscore.crm.retry import RetryPolicy
from healthscore.crm.salesforce_client import SalesforceClient, SalesforceSettings
from tests.fakes.alert_model import add_alerts, alert_row, deliveries, make_warehouse
from tests.fakes.hubspot_server import FakeHubSpot
from tests.fakes.salesforce_server import FakeSalesforce

NOW = dt.datetime(2025, 3, 3, 6, 0, tzinfo=dt.UTC)
TASKS = r"^/crm/v3/objects/tasks$"
SF_TASKS = r"/sobjects/Task/?$"
FAST = RetryPolicy(sleep=lambda _seconds: None)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture
def hubspot():
    with FakeHubSpot(search_per_second=None) as fake:
        fake.define_property("tasks", "healthscore_alert_id", "string", "text")
        yield fake


@pytest.fixture
def salesforce():
    with FakeSalesforce() as fake:
        yield fake


def hubspot_channel(hubspot: FakeHubSpot, *, search_lag_s: float = 0.0) -> HubSpotTaskChannel:
    settings = HubSpotSettings(base_url=hubspot.url, access_token=hubspot.token)
    client = HubSpotClient(settings, policy=FAST, limiter=Unlimited(), timeout=(1.0, 0.5))
    return HubSpotTaskChannel(lambda: client, AlertSettings(), search_lag_s=search_lag_s)


def salesforce_channel(salesforce: FakeSalesforce) -> SalesforceTaskChannel:
    settings = SalesforceSettings(
        instance_url=salesforce.url,
        access_token=salesforce.token,
        api_version=salesforce.api_version,
    )
    client = SalesforceClient(settings, policy=FAST, limiter=Unlimited(), timeout=(1.0, 0.5))
    return SalesforceTaskChannel(lambda: client, AlertSettings())


def deliver(warehouse: Path, channel: Any, **kwargs: Any):
    return deliver_pending(
        warehouse, now=NOW, channels=[channel], settings=AlertSettings(), **kwargs
    )


def hubspot_alerts(hubspot: FakeHubSpot, warehouse: Path, arrs: list[float]) -> list[str]:
    ids = [hubspot.add("companies", name=f"Account {n}") for n in range(len(arrs))]
    rows = [
        alert_row(n, arr=arr, crm_company_id=ids[n], driver_1_text="tickets <b>9</b> & rising")
        for n, arr in enumerate(arrs)
    ]
    add_alerts(warehouse, rows)
    return ids


def test_hubspot_task_says_why_is_due_prioritised_and_on_the_company(warehouse, hubspot) -> None:
    companies = hubspot_alerts(hubspot, warehouse, [10_000, 60_000, 250_000])
    deliver(warehouse, hubspot_channel(hubspot))
    deliver(warehouse, hubspot_channel(hubspot))

    tasks = {t["healthscore_alert_id"]: (oid, t) for oid, t in hubspot.all("tasks").items()}
    assert len(tasks) == 3
    priorities = [tasks[f"alert_{n:04d}"][1]["hs_task_priority"] for n in range(3)]
    assert priorities == ["LOW", "MEDIUM", "HIGH"]
    task_id, task = tasks["alert_0002"]
    assert task["hs_task_subject"] == "Health risk: Account 2 entered red"
    assert "tickets &lt;b&gt;9&lt;/b&gt; &amp; rising" in task["hs_task_body"]
    assert task["hs_timestamp"] == "2025-03-06T00:00:00.000Z"
    assert (task["hubspot_owner_id"], task["hs_task_status"]) == ("1002", "NOT_STARTED")
    [link] = hubspot.associations("tasks", task_id)
    assert (link["toObjectId"], link["associationTypeId"]) == (companies[2], 192)
    row = deliveries(warehouse, "hubspot_task")["alert_0002"]
    assert (row["status"], row["external_ref"], row["attempts"]) == ("sent", task_id, 1)


@pytest.mark.parametrize(
    "fault",
    ["drop-after-create", "timeout-after-create", "500", "drop-before-create"],
)
def test_hubspot_unknown_outcome_is_searched_before_creating_again(
    warehouse, hubspot, fault
) -> None:
    {
        "drop-after-create": lambda: hubspot.drop_next(method="POST", path=TASKS),
        "timeout-after-create": lambda: hubspot.delay_next(
            5.0, after_apply=True, method="POST", path=TASKS
        ),
        "500": lambda: hubspot.fail_next(500, method="POST", path=TASKS),
        "drop-before-create": lambda: hubspot.drop_next(
            after_apply=False, method="POST", path=TASKS
        ),
    }[fault]()
    hubspot_alerts(hubspot, warehouse, [50_000])
    deliver(warehouse, hubspot_channel(hubspot))
    row = deliveries(warehouse, "hubspot_task")["alert_0000"]
    assert row["status"] == "sending" and "outcome unknown" in row["last_error"]

    report = deliver(warehouse, hubspot_channel(hubspot))
    [(task_id, _)] = hubspot.all("tasks").items()
    row = deliveries(warehouse, "hubspot_task")["alert_0000"]
    assert (row["status"], row["external_ref"]) == ("sent", task_id)
    assert report.recovered == (1 if fault.endswith("after-create") else 0)


def test_hubspot_429_is_waited_out_and_a_400_fails_until_fixed(warehouse, hubspot) -> None:
    hubspot.fail_next(429, retry_after=0, times=2, method="POST", path=TASKS)
    hubspot_alerts(hubspot, warehouse, [50_000])
    assert deliver(warehouse, hubspot_channel(hubspot)).count("sent") == 1

    add_alerts(warehouse, [alert_row(7, crm_company_id="999999")])  # no such company
    deliver(warehouse, hubspot_channel(hubspot))
    row = deliveries(warehouse, "hubspot_task")["alert_0007"]
    assert row["status"] == "failed" and "does not exist" in row["last_error"]
    assert len(hubspot.all("tasks")) == 1


def test_a_lookup_waits_for_hubspots_search_index(warehouse) -> None:
    with FakeHubSpot(search_per_second=None, search_index_delay=0.3) as hubspot:
        hubspot.define_property("tasks", "healthscore_alert_id", "string", "text")
        hubspot.drop_next(method="POST", path=TASKS)
        hubspot_alerts(hubspot, warehouse, [50_000])
        deliver(warehouse, hubspot_channel(hubspot))

        deliver(warehouse, hubspot_channel(hubspot, search_lag_s=60))  # too soon to trust
        row = deliveries(warehouse, "hubspot_task")["alert_0000"]
        assert row["status"] == "sending" and row["last_error"].startswith("look-up failed")
        assert hubspot.log.count("POST", r"/search$") == 0

        time.sleep(0.35)  # longer than the index lag, and than the lag the channel allows
        deliver(warehouse, hubspot_channel(hubspot, search_lag_s=0.3))
        assert deliveries(warehouse, "hubspot_task")["alert_0000"]["status"] == "sent"
        assert len(hubspot.all("tasks")) == 1


def test_held_alerts_create_no_task_until_released(warehouse, hubspot) -> None:
    hubspot_alerts(hubspot, warehouse, [50_000] * 2)
    report = deliver(warehouse, hubspot_channel(hubspot), active_accounts=10)  # 20 % alert
    assert report.held and hubspot.all("tasks") == {}
    release_held(warehouse)
    deliver(warehouse, hubspot_channel(hubspot))
    assert len(hubspot.all("tasks")) == 2


def salesforce_alerts(salesforce: FakeSalesforce, warehouse: Path, arrs: list[float]) -> None:
    ids = [salesforce.add("Account", Name=f"Account {n}") for n in range(len(arrs))]
    owner = "005Hs0000000001AAA"
    add_alerts(
        warehouse,
        [
            alert_row(n, arr=arr, crm_company_id=ids[n], owner_id=owner)
            for n, arr in enumerate(arrs)
        ],
    )


def test_salesforce_task_is_created_once_on_the_account(warehouse, salesforce) -> None:
    salesforce_alerts(salesforce, warehouse, [10_000, 60_000, 250_000])
    deliver(warehouse, salesforce_channel(salesforce))
    deliver(warehouse, salesforce_channel(salesforce))

    tasks = {t["Healthscore_Alert_Id__c"]: t for t in salesforce.all("Task").values()}
    assert [tasks[f"alert_{n:04d}"]["Priority"] for n in range(3)] == ["Low", "Normal", "High"]
    task = tasks["alert_0001"]
    assert task["WhatId"] == deliveries(warehouse)["alert_0001/salesforce_task"]["destination"]
    assert task["ActivityDate"] == "2025-03-06" and task["Status"] == "Not Started"
    assert "- active users 41 → 12" in task["Description"].splitlines()
    assert task["OwnerId"] == "005Hs0000000001AAA"


@pytest.mark.parametrize("applied", [True, False], ids=["drop-after-create", "503"])
def test_salesforce_unknown_outcome_is_queried_before_creating_again(
    warehouse, salesforce, applied
) -> None:
    if applied:
        salesforce.drop_next(method="POST", path=SF_TASKS)
    else:
        salesforce.fail_next(503, method="POST", path=SF_TASKS)
    salesforce_alerts(salesforce, warehouse, [50_000])
    deliver(warehouse, salesforce_channel(salesforce))
    assert deliveries(warehouse, "salesforce_task")["alert_0000"]["status"] == "sending"

    report = deliver(warehouse, salesforce_channel(salesforce))
    assert len(salesforce.all("Task")) == 1 and report.recovered == int(applied)
    assert deliveries(warehouse, "salesforce_task")["alert_0000"]["status"] == "sent"


def test_salesforce_refusal_is_a_failed_delivery(warehouse, salesforce) -> None:
    add_alerts(warehouse, [alert_row(1, crm_company_id="not-an-account-id")])
    deliver(warehouse, salesforce_channel(salesforce))
    row = deliveries(warehouse, "salesforce_task")["alert_0001"]
    assert row["status"] == "failed" and "WhatId" in row["last_error"]
    assert salesforce.all("Task") == {}


def test_dry_run_records_the_task_it_would_create(warehouse) -> None:
    add_alerts(warehouse, [alert_row(1, arr=500_000.0)])
    deliver(warehouse, HubSpotTaskChannel(None, AlertSettings()))
    row = deliveries(warehouse, "hubspot_task")["alert_0001"]
    assert row["status"] == "dry_run" and '"priority": "HIGH"' in row["payload"]
    assert '"due_at": "2025-03-06T00:00:00+00:00"' in row["payload"]


def test_task_priority_thresholds_and_due_days_are_configuration() -> None:
    settings = AlertSettings(task_priority_arr=(1_000.0, 2_000.0), task_due_days=1)
    alert = Alert.from_row(alert_row(1, arr=1_500.0, account_name="x" * 400))
    content = task_content(alert, settings)
    assert content.priority == "medium" and len(content.subject) == 255
    assert content.due_date == alert.alert_date + dt.timedelta(days=1)
