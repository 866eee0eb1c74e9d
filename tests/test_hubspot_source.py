"""The HubSpot connector: a real dlt pipeline against the local portal into a temporary DuckDB,
asserting the requests it makes and the rows it lands."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion import hubspot_source
from ingestion.hubspot_source import load_hubspot
from ingestion.sources_config import SourceConfigError
from tests.fakes import FakeHubSpot
from tests.fakes.server import Request

OVERRIDE_COLUMNS = ("status", "reason", "expires_at", "set_by")
SECTION = {
    "accounts": {
        "segment_property": "customer_tier",
        "segment_values": {"Mid-Market": "mid_market"},
        "arr_property": "arr",
    },
    "contracts": {"filter": {"property": "dealtype", "values": ["existingbusiness"]}},
    "meetings": {"type_property": "hs_activity_type", "type_values": {"Check-in": "check_in"}},
}


@pytest.fixture
def portal(monkeypatch: pytest.MonkeyPatch):
    with FakeHubSpot(search_per_second=None) as server:
        server.define_property("companies", "customer_tier", "string", "text")
        server.define_property("companies", "arr", "number", "number")
        for column in OVERRIDE_COLUMNS:
            server.define_property("companies", f"health_override_{column}", "string", "text")
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", server.token)
        yield server


class Crm:
    """A small customer base in the portal; ids by name."""

    def __init__(self, hs: FakeHubSpot) -> None:
        owner = hs.add_owner("dana@vendor.example")
        self.acme = hs.add(
            "companies",
            name="Acme",
            domain="acme.example",
            customer_tier="Mid-Market",
            arr=120000,
            hubspot_owner_id=owner,
            health_override_status="Red",
            health_override_reason="Champion left",
            health_override_expires_at="2030-01-01T00:00:00Z",
        )
        self.beta = hs.add("companies", name="Beta", domain="beta.example", arr=5000)
        self.ceo = self._linked(hs, "contacts", self.acme, email="ceo@acme.example", jobtitle="CEO")
        self._linked(hs, "contacts", self.acme, email="dev@acme.example", jobtitle="Engineer")
        self.orphan = hs.add("contacts", email="who@nowhere.example")
        self._linked(
            hs,
            "deals",
            self.acme,
            amount=100000,
            closedate="2026-03-01T00:00:00Z",
            dealstage="closedwon",
            dealtype="existingbusiness",
        )
        self._linked(
            hs,
            "deals",
            self.beta,
            amount=4000,
            closedate="2026-05-15T00:00:00Z",
            dealstage="closedlost",
            dealtype="existingbusiness",
        )
        self._linked(
            hs, "deals", self.beta, amount=9, dealstage="closedwon", dealtype="newbusiness"
        )
        self.qbr = self._linked(
            hs,
            "meetings",
            self.acme,
            hs_meeting_title="Acme QBR",
            hs_meeting_start_time="2026-01-10T15:00:00Z",
            hs_meeting_outcome="COMPLETED",
        )
        hs.associate("meetings", self.qbr, "contacts", self.ceo)
        self._linked(
            hs,
            "meetings",
            self.beta,
            hs_activity_type="Check-in",
            hs_meeting_start_time="2026-01-12T15:00:00Z",
            hs_meeting_outcome="NO_SHOW",
        )
        self._linked(
            hs,
            "emails",
            self.acme,
            hs_timestamp="2026-01-11T10:00:00Z",
            hs_email_direction="EMAIL",
            hs_email_to_email="ceo@acme.example",
            hs_email_open_count=2,
        )
        self._linked(
            hs,
            "emails",
            self.acme,
            hs_timestamp="2026-01-12T09:00:00Z",
            hs_email_direction="INCOMING_EMAIL",
            hs_email_from_email="ceo@acme.example",
        )

    @staticmethod
    def _linked(hs: FakeHubSpot, object_type: str, company: str, **properties: Any) -> str:
        object_id = hs.add(object_type, **properties)
        hs.associate(object_type, object_id, "companies", company)
        return object_id


def _load(hs: FakeHubSpot, tmp_path: Path, **section: Any):
    hs.received.clear()
    return load_hubspot(
        {"base_url": hs.url, **SECTION, **section},
        tmp_path / "warehouse.duckdb",
        pipelines_dir=tmp_path / "dlt",
    )


def _rows(tmp_path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


def _data_requests(hs: FakeHubSpot) -> list[Request]:
    """Requests that read objects (the pre-flight check reads owners and properties)."""
    return [r for r in hs.received if "/objects/" in r.path or "/associations/" in r.path]


def _millis(stamp: str) -> str:
    return hubspot_source._epoch_millis(stamp)


def test_backfill_lands_every_entity_then_a_run_without_changes_loads_nothing(portal, tmp_path):
    crm = Crm(portal)

    first = _load(portal, tmp_path)

    listed = [r for r in _data_requests(portal) if r.method == "GET"]
    assert {r.path for r in listed} == {
        f"/crm/v3/objects/{t}" for t in ("companies", "contacts", "deals", "meetings", "emails")
    }
    assert not [r for r in portal.received if r.path.endswith("/search")]
    assert first.rows_loaded == {
        "accounts": 2,
        "overrides": 1,
        "users": 2,
        "contracts": 2,
        "email_events": 3,
        "meetings": 2,
    }
    assert first.rows_quarantined["users"] == {"missing_required": 1}
    assert _rows(
        tmp_path, "SELECT account_id, segment, owner_email, arr FROM raw.raw_accounts ORDER BY name"
    ) == [
        (crm.acme, "mid_market", "dana@vendor.example", 120000.0),
        (crm.beta, None, None, 5000.0),
    ]
    assert _rows(tmp_path, "SELECT status, reason FROM raw.raw_overrides") == [
        ("red", "Champion left")
    ]
    assert _rows(tmp_path, "SELECT email, is_executive FROM raw.raw_users ORDER BY email") == [
        ("ceo@acme.example", True),
        ("dev@acme.example", False),
    ]
    assert _rows(
        tmp_path,
        "SELECT account_id, CAST(start_date AS VARCHAR), CAST(end_date AS VARCHAR), outcome "
        "FROM raw.raw_contracts ORDER BY end_date",
    ) == [
        (crm.acme, "2025-03-01", "2026-03-01", "renewed"),
        (crm.beta, "2025-05-15", "2026-05-15", "churned"),
    ]
    assert _rows(
        tmp_path,
        "SELECT meeting_type, attended, executive_attended FROM raw.raw_meetings "
        "ORDER BY started_at",
    ) == [("qbr", True, True), ("check_in", False, False)]
    assert _rows(tmp_path, "SELECT event_type FROM raw.raw_email_events ORDER BY 1") == [
        ("open",),
        ("reply",),
        ("sent",),
    ]
    assert _rows(tmp_path, "SELECT rule, reason FROM raw.raw_quarantine") == [
        ("missing_required", "account_id: required value is missing")
    ]

    types = ("companies", "contacts", "deals", "meetings", "emails")
    cursors = {t: max(o.updated_at for o in portal.objects[t].values()) for t in types}
    second = _load(portal, tmp_path)

    searches = _data_requests(portal)
    assert {r.path for r in searches} == {f"/crm/v3/objects/{t}/search" for t in types}
    for request in searches:
        object_type = request.path.split("/")[4]
        (since,) = request.json()["filterGroups"][0]["filters"]
        assert since["operator"] == "GTE"
        assert since["value"] == _millis(cursors[object_type])
        assert request.json()["sorts"][0]["direction"] == "ASCENDING"
    assert sum(second.rows_loaded.values()) == 0
    assert _rows(tmp_path, "SELECT count(*) FROM raw.raw_quarantine") == [(1,)]


def test_changes_land_alone_and_a_cleared_override_is_deleted(portal, tmp_path):
    crm = Crm(portal)
    _load(portal, tmp_path)
    time.sleep(0.005)  # HubSpot stamps modifications to the millisecond
    portal.update("companies", crm.acme, name="Acme Corp", health_override_status=None)
    newcomer = portal.add("contacts", email="cfo@beta.example", jobtitle="VP Finance")
    portal.associate("contacts", newcomer, "companies", crm.beta)

    report = _load(portal, tmp_path)

    assert report.rows_loaded == {"accounts": 1, "overrides": 0, "users": 1}
    assert _rows(tmp_path, "SELECT name FROM raw.raw_accounts ORDER BY name") == [
        ("Acme Corp",),
        ("Beta",),
    ]
    assert _rows(tmp_path, "SELECT count(*) FROM raw.raw_overrides") == [(0,)]
    assert _rows(
        tmp_path, "SELECT count(*), count(*) FILTER (is_executive) FROM raw.raw_users"
    ) == [(3, 2)]


def test_a_deleted_company_is_marked_archived_by_the_sweep(portal, tmp_path):
    crm = Crm(portal)
    _load(portal, tmp_path, entities=["accounts"], archived_sweep_hours=0)
    portal.archive("companies", crm.beta)

    report = _load(portal, tmp_path, entities=["accounts"], archived_sweep_hours=0)

    swept = [r for r in portal.received if r.query.get("archived") == ["true"]]
    assert [r.path for r in swept] == ["/crm/v3/objects/companies"]
    assert report.rows_loaded["accounts"] == 1
    assert _rows(
        tmp_path, "SELECT name, archived_at IS NOT NULL FROM raw.raw_accounts ORDER BY name"
    ) == [("Acme", False), ("Beta", True)]

    _load(portal, tmp_path, entities=["accounts"])  # within the default 24 h: no sweep
    assert not [r for r in portal.received if r.query.get("archived") == ["true"]]


def test_a_search_past_the_result_window_restarts_from_the_last_modification(
    portal, tmp_path, monkeypatch
):
    monkeypatch.setattr(hubspot_source, "SEARCH_RESULT_CAP", 4)
    monkeypatch.setattr(hubspot_source, "SEARCH_LIMIT", 2)
    portal.search_result_cap = 4
    ids = [portal.add("companies", name=f"c{i}") for i in range(7)]
    _load(portal, tmp_path, entities=["accounts"])
    for oid in ids:
        time.sleep(0.002)
        portal.update("companies", oid, industry="Software")

    report = _load(portal, tmp_path, entities=["accounts"])

    bodies = [r.json() for r in portal.received if r.path.endswith("/search")]
    values = [b["filterGroups"][0]["filters"][0]["value"] for b in bodies]
    restart = _millis(portal.objects["companies"][ids[3]].updated_at)
    assert [(b.get("after"), v == restart) for b, v in zip(bodies, values, strict=True)] == [
        (None, False),
        ("2", False),
        (None, True),
        ("2", True),
    ]
    assert report.rows_loaded["accounts"] == 7


def test_bad_configuration_fails_before_loading_and_names_the_setting(
    portal, tmp_path, monkeypatch
):
    with pytest.raises(SourceConfigError, match=r"^hubspot\.accounts\.segment_property: .*'tier'"):
        _load(portal, tmp_path, accounts={"segment_property": "tier"})
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(SourceConfigError, match=r"^hubspot\.base_url: cannot reach http://127"):
        _load(portal, tmp_path, base_url=nowhere)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-revoked")
    with pytest.raises(SourceConfigError, match=r"^hubspot\.token_env: HubSpot rejected"):
        _load(portal, tmp_path)
    assert _data_requests(portal) == []
