"""`check_sources`: every problem with the sources file, each naming its setting."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingestion import zendesk_source
from ingestion.sources_check import check_sources, entity_owners
from tests.fakes import FakeHubSpot
from tests.fakes.zendesk_server import FakeZendesk

OVERRIDES = ("status", "reason", "expires_at", "set_by")


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch):
    with FakeHubSpot(search_per_second=None) as hs, FakeZendesk() as zd:
        for name in ("customer_tier", *(f"health_override_{c}" for c in OVERRIDES)):
            hs.define_property("companies", name, "string", "text")
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hs.token)
        monkeypatch.setenv("ZENDESK_API_TOKEN", zd.token)
        yield hs, zd


def _write(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "sources.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _config(hs: FakeHubSpot, zd: FakeZendesk) -> dict[str, Any]:
    return {
        "files": {"enabled": True},
        "hubspot": {"base_url": hs.url, "accounts": {"segment_property": "customer_tier"}},
        "zendesk": {"base_url": zd.url},
    }


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_good_configuration_has_no_problems(services, tmp_path):
    assert check_sources(_write(tmp_path, _config(*services))) == []


def test_each_problem_names_its_setting(services, tmp_path, monkeypatch):
    hs, zd = services
    config = _config(hs, zd)
    config["hubspot"]["accounts"]["segment_property"] = "tier"
    config["hubspot"]["entities"] = ["accounts", "invoices"]
    config["hubspot"]["users"] = {"executive_title_pattern": "(unclosed"}
    config["zendesk"]["base_url"] = _closed_port_url()
    config["salesforce"] = {"enabled": True}

    problems = check_sources(_write(tmp_path, config))

    assert problems == [
        "salesforce: unknown source section (known: files, hubspot, product_db, zendesk)",
        "hubspot.entities: invoices not one of accounts, overrides, users, contracts, "
        "email_events, meetings",
        "hubspot.users.executive_title_pattern: not a valid regular expression: "
        "missing ), unterminated subpattern at position 0",
        f"zendesk.base_url: cannot reach {config['zendesk']['base_url']}/api/v2/users/me.json "
        "(ConnectionError)",
    ]
    del config["hubspot"]["entities"], config["hubspot"]["users"], config["salesforce"]
    assert check_sources(_write(tmp_path, config))[0] == (
        "hubspot.accounts.segment_property: no companies property named 'tier' in this portal"
    )


def test_rejected_credentials_and_missing_secrets_name_the_variable_setting(
    services, tmp_path, monkeypatch
):
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-revoked")
    monkeypatch.delenv("ZENDESK_API_TOKEN")

    problems = check_sources(_write(tmp_path, _config(*services)))

    assert [p.split(":")[0] for p in problems] == ["hubspot.token_env", "zendesk.token_env"]
    assert "HubSpot rejected the credentials (401" in problems[0]
    assert problems[1] == "zendesk.token_env: environment variable ZENDESK_API_TOKEN is unset"


def test_an_entity_has_one_owner(services, tmp_path, monkeypatch):
    monkeypatch.setattr(zendesk_source, "owned_entities", lambda _: ("tickets", "users"))
    config = _config(*services)

    assert check_sources(_write(tmp_path, config)) == [
        "hubspot, zendesk: each loads users; keep it in one section only"
    ]
    config["zendesk"]["enabled"] = False
    assert entity_owners(config) == dict.fromkeys(
        ("accounts", "overrides", "users", "contracts", "email_events", "meetings"), "hubspot"
    )
