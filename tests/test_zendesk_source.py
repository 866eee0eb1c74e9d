"""The Zendesk connector: a real dlt pipeline against the local Zendesk into a temporary DuckDB,
asserting the requests it makes, the rows it lands and when it scores sentiment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion import sentiment, zendesk_source
from ingestion.sources_config import SourceConfigError
from ingestion.zendesk_source import load_zendesk
from tests.fakes.zendesk_server import FakeZendesk

EXPORT = "/api/v2/incremental/tickets/cursor.json"


@pytest.fixture
def support(monkeypatch: pytest.MonkeyPatch):
    with FakeZendesk() as server:
        monkeypatch.setenv("ZENDESK_EMAIL", server.email)
        monkeypatch.setenv("ZENDESK_API_TOKEN", server.token)
        yield server


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    """Accounts loaded before tickets, as the CRM connector would leave them."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE SCHEMA raw; CREATE TABLE raw.raw_accounts (account_id VARCHAR, domain VARCHAR);"
            "INSERT INTO raw.raw_accounts VALUES ('A1', 'acme.example'), ('B2', 'beta.example')"
        )
    return path


@pytest.fixture
def scored(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Subjects of the tickets whose sentiment was computed."""
    calls: list[str] = []
    real = sentiment.ticket_sentiment

    def counting(subject: str | None, body: str | None) -> float | None:
        calls.append(subject or "")
        return real(subject, body)

    monkeypatch.setattr(zendesk_source, "ticket_sentiment", counting)
    return calls


def _load(zd: FakeZendesk, warehouse: Path, **section: Any):
    zd.received.clear()
    config = {"base_url": zd.url, "email_env": "ZENDESK_EMAIL", "start_date": "2024-01-01"}
    return load_zendesk(config | section, warehouse, pipelines_dir=warehouse.parent / "dlt")


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


def _exports(zd: FakeZendesk) -> list[dict[str, list[str]]]:
    return [r.query for r in zd.received if r.path == EXPORT]


def _epoch(stamp: str) -> str:
    return str(int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()))


def test_export_pages_by_cursor_then_resumes_from_the_last_change(
    support, warehouse, scored, monkeypatch
):
    monkeypatch.setattr(zendesk_source, "EXPORT_PAGE_SIZE", 2)
    field = support.add_ticket_field("Sentiment", "tagger")
    acme = support.add_organization("Acme", external_id="A1")
    beta = support.add_organization("Beta", domain_names=("Beta.example",))
    angry = support.add_ticket(acme, subject="Login broken", description="Terrible, we are furious")
    support.add_ticket(
        beta, subject="Export", description="How?", custom_fields={field: "positive"}
    )
    support.add_ticket(None, subject="Orphan", description="Nobody's ticket")
    support.rate(angry, "bad")

    first = _load(support, warehouse, sentiment_field_id=field)

    start = str(int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()))
    exports = _exports(support)
    assert [q.get("start_time") for q in exports] == [[start], None]
    assert exports[1]["cursor"]
    assert first.rows_loaded == {"tickets": 2}
    assert first.rows_quarantined == {"tickets": {"missing_required": 1}}
    assert _rows(
        warehouse, "SELECT account_id, satisfaction, sentiment FROM raw.raw_tickets ORDER BY 1"
    ) == [("A1", 1, pytest.approx(-0.8, abs=0.2)), ("B2", None, 0.5)]
    assert sorted(scored) == ["Login broken", "Orphan"]

    last_change = max(t["updated_at"] for t in support.tickets.values())
    second = _load(support, warehouse, sentiment_field_id=field)

    assert [q.get("start_time") for q in _exports(support)] == [[_epoch(last_change)]]
    assert sum(second.rows_loaded.values()) == 0
    assert sorted(scored) == ["Login broken", "Orphan"]

    support.update_ticket(angry, status="solved")
    third = _load(support, warehouse, sentiment_field_id=field)

    assert third.rows_loaded == {"tickets": 1}
    assert sorted(scored) == ["Login broken", "Orphan"]  # scored once, kept when it changes
    assert _rows(
        warehouse, "SELECT status, satisfaction FROM raw.raw_tickets WHERE account_id = 'A1'"
    ) == [("solved", 1)]


def test_rate_limit_is_honoured_with_retry_after(support, warehouse):
    support.add_ticket(
        support.add_organization("Acme", external_id="A1"), subject="Hi", description=""
    )
    support.fail_next(429, retry_after=1, path=EXPORT)

    report = _load(support, warehouse)

    hits = [h for h in support.log.hits if h.path == EXPORT]
    assert [h.status for h in hits] == [429, 200]
    assert hits[1].at - hits[0].at >= 1.0
    assert report.rows_loaded == {"tickets": 1}


def test_bad_configuration_names_the_setting(support, warehouse, monkeypatch):
    with pytest.raises(SourceConfigError, match=r"^zendesk\.sentiment_field_id: no ticket field"):
        _load(support, warehouse, sentiment_field_id=424242)
    monkeypatch.setenv("ZENDESK_API_TOKEN", "revoked")
    with pytest.raises(SourceConfigError, match=r"^zendesk\.token_env: Zendesk rejected"):
        _load(support, warehouse)
    assert _exports(support) == []
