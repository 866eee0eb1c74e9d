"""Property set-up through the real clients: created once, left alone after, mismatches named."""

from __future__ import annotations

import pytest

from healthscore.crm.hubspot_client import HubSpotClient, HubSpotSettings
from healthscore.crm.retry import RetryPolicy
from healthscore.crm.salesforce_client import SalesforceClient, SalesforceSettings
from healthscore.writeback import ensure_properties
from tests.fakes import FakeHubSpot, FakeSalesforce

FAST = RetryPolicy(backoff_base=0.01, backoff_max=0.05, rate_limit_backoff=0.01)
HEALTH = [
    "health_score",
    "health_status",
    "health_trend",
    "health_score_change_30d",
    "health_drivers",
    "churn_probability",
    "health_override",
    "health_updated_at",
]


@pytest.fixture
def hubspot():
    with FakeHubSpot() as server:
        yield server


def client_for(server: FakeHubSpot) -> HubSpotClient:
    return HubSpotClient(
        HubSpotSettings(base_url=server.url, access_token=server.token), policy=FAST
    )


def test_fresh_portal_gets_group_and_typed_properties(hubspot):
    report = ensure_properties("hubspot", client=client_for(hubspot))

    assert report.ok and not report.existing
    assert report.api_calls == 11  # two groups, eight company properties, one task property
    assert hubspot.groups["companies"]["customer_health"]["label"] == "Customer health"
    assert "customer_health" in hubspot.groups["tasks"]
    definitions = hubspot.properties["companies"]
    assert all(definitions[name]["groupName"] == "customer_health" for name in HEALTH)
    kinds = {name: (definitions[name]["type"], definitions[name]["fieldType"]) for name in HEALTH}
    assert kinds == {
        "health_score": ("number", "number"),
        "health_status": ("enumeration", "select"),
        "health_trend": ("enumeration", "select"),
        "health_score_change_30d": ("number", "number"),
        "health_drivers": ("string", "textarea"),
        "churn_probability": ("number", "number"),
        "health_override": ("string", "text"),
        "health_updated_at": ("datetime", "date"),
    }
    options = [o["value"] for o in definitions["health_status"]["options"]]
    assert options == ["green", "yellow", "red", "insufficient_data"]
    assert [o["label"] for o in definitions["health_trend"]["options"]] == [
        "Improving",
        "Stable",
        "Declining",
    ]
    task_property = hubspot.properties["tasks"]["healthscore_alert_id"]
    assert (task_property["type"], task_property["fieldType"]) == ("string", "text")


def test_second_run_leaves_existing_properties_alone(hubspot):
    client = client_for(hubspot)
    ensure_properties("hubspot", client=client)
    hubspot.properties["companies"]["health_score"]["label"] = "Renamed by an admin"

    report = ensure_properties("hubspot", client=client)

    assert report.ok and not report.created
    assert len(report.existing) == 11
    assert hubspot.log.statuses(r"/crm/v3/properties/").count(409) == 11
    assert hubspot.properties["companies"]["health_score"]["label"] == "Renamed by an admin"


def test_property_with_another_type_or_missing_options_is_reported(hubspot):
    hubspot._put_group("companies", "customer_health", "Customer health")
    hubspot.define_property("companies", "health_score", "string", "text")
    hubspot.define_property(
        "companies", "health_status", "enumeration", "select", options=("green", "yellow", "red")
    )

    report = ensure_properties("hubspot", client=client_for(hubspot))

    assert not report.ok
    assert report.problems == {
        "companies.health_score": "type is 'string', the sync writes 'number'",
        "companies.health_status": "enumeration lacks options ['insufficient_data']",
    }
    assert hubspot.properties["companies"]["health_score"]["type"] == "string"  # left alone


def test_create_retried_after_a_dropped_connection_counts_as_existing(hubspot):
    hubspot.drop_next(after_apply=True, method="POST", path=r"/crm/v3/properties/companies$")

    report = ensure_properties("hubspot", client=client_for(hubspot))

    assert report.ok
    assert "companies.health_score" in report.existing  # applied, answer lost, 409 on retry
    assert hubspot.properties["companies"]["health_score"]["type"] == "number"


def test_without_a_token_it_only_lists_what_it_would_create(hubspot, monkeypatch):
    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("HUBSPOT_BASE_URL", hubspot.url)

    report = ensure_properties("hubspot")

    assert report.dry_run and report.ok
    assert "companies.health_status" in report.created
    assert hubspot.log.count() == 0


def test_salesforce_fields_are_checked_not_created():
    with FakeSalesforce() as org:
        client = SalesforceClient(
            SalesforceSettings(instance_url=org.url, access_token=org.token), policy=FAST
        )
        assert ensure_properties("salesforce", client=client).ok

    with FakeSalesforce(health_fields=False) as org:
        client = SalesforceClient(
            SalesforceSettings(instance_url=org.url, access_token=org.token), policy=FAST
        )
        report = ensure_properties("salesforce", client=client)
        assert report.api_calls == 2  # one describe per object
        assert report.problems["Account.Health_Score__c"].startswith("missing")
        assert report.problems["Task.Healthscore_Alert_Id__c"].startswith("missing")
        assert len(report.problems) == 9
