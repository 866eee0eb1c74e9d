"""The storm guard: a mass drop or a stale-source run is held, operations hear about it once,
and a person releases (or discards) the batch with one call."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from healthscore.alerts import deliver_pending, discard_held, held_runs, release_held
from healthscore.alerts.config import AlertSettings
from healthscore.alerts.routing import Routing
from healthscore.alerts.slack_channel import SlackAlertChannel, SlackApi, SlackOpsChannel
from healthscore.alerts.storm_guard import StormCheck, stale_sources_from_dbt
from tests.fakes.alert_model import add_alerts, alert_row, deliveries, make_warehouse
from tests.fakes.slack_server import DROP, FakeSlack, Fault

NOW = dt.datetime(2025, 3, 3, 6, 0, tzinfo=dt.UTC)
ALERTS, OPS = "C0ALERTS1", "C0OPS0001"


@pytest.fixture
def slack():
    with FakeSlack(rate_interval=0) as fake:
        fake.add_channel(ALERTS, "cs-alerts")
        fake.add_channel(OPS, "cs-ops")
        yield fake


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "warehouse.duckdb", active_accounts=20)


def deliver(warehouse: Path, slack: FakeSlack, *, ops: str | None = OPS, **kwargs: Any):
    api = SlackApi(slack.token, slack.base_url, timeout=2)
    channels = [SlackAlertChannel(api, Routing(default=ALERTS)), SlackOpsChannel(api, ops)]
    return deliver_pending(
        warehouse, now=NOW, channels=channels, settings=AlertSettings(), **kwargs
    )


def statuses(warehouse: Path, channel: str) -> dict[str, str]:
    return {k: r["status"] for k, r in deliveries(warehouse, channel).items()}


def test_a_mass_drop_is_held_summarised_once_and_released_with_one_call(warehouse, slack):
    add_alerts(warehouse, [alert_row(n) for n in range(5)])  # 5 of 20 accounts: 25 % > 10 %
    report = deliver(warehouse, slack)

    assert report.held and slack.messages(ALERTS) == []
    assert report.storm.reasons == ("5 of 20 active accounts (25%) would alert; the limit is 10%",)
    assert set(statuses(warehouse, "slack").values()) == {"held"}
    summary = slack.messages(OPS)
    assert len(summary) == 1 and "Health alerts held: 5 alerts" in json.dumps(summary[0]["blocks"])
    assert "Account 4 (50,000 ARR)" in json.dumps(summary[0]["blocks"])  # biggest first
    assert report.as_metadata()["held"] is True
    [held] = held_runs(warehouse)
    assert (held["run_id"], held["held_alerts"]) == (report.run_id, 5)

    deliver(warehouse, slack)  # the next refresh neither re-summarises nor leaks the batch
    assert len(slack.messages(OPS)) == 1 and slack.messages(ALERTS) == []

    assert release_held(warehouse, run_id=report.run_id) == 5
    assert held_runs(warehouse) == []
    released = deliver(warehouse, slack)
    assert not released.held and released.count("sent", "slack") == 5
    deliver(warehouse, slack)
    assert len(slack.messages(ALERTS)) == 5


def test_a_stale_source_run_is_held_even_for_one_alert(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(1)])
    report = deliver(warehouse, slack, stale_sources=["raw.events", "raw.tickets"])
    assert report.held
    assert report.storm.reasons == ("sources failed dbt freshness: raw.events, raw.tickets",)
    assert slack.messages(ALERTS) == []
    assert "raw.events, raw.tickets" in slack.messages(OPS)[0]["text"]


def test_a_share_at_the_threshold_goes_out(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(1), alert_row(2)])  # 2 of 20 = 10 %, not more
    report = deliver(warehouse, slack)
    assert not report.held and len(slack.messages(ALERTS)) == 2 and slack.messages(OPS) == []


def test_the_threshold_is_configuration(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(n) for n in range(5)])
    api = SlackApi(slack.token, slack.base_url)
    channels = [SlackAlertChannel(api, Routing(default=ALERTS)), SlackOpsChannel(api, OPS)]
    settings = AlertSettings(storm_share=0.5)
    report = deliver_pending(warehouse, now=NOW, channels=channels, settings=settings)
    assert not report.held and len(slack.messages(ALERTS)) == 5


def test_an_unknown_number_of_active_accounts_holds(warehouse, slack) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table main.account_health_current")
    add_alerts(warehouse, [alert_row(1)])
    report = deliver(warehouse, slack)
    assert report.held and "number of active accounts is unknown" in report.storm.reasons[0]
    assert not deliver(warehouse, slack, active_accounts=1000).held  # the override is trusted


def test_discarding_drops_a_held_batch_for_good(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(n) for n in range(5)])
    deliver(warehouse, slack)
    assert discard_held(warehouse) == 5
    deliver(warehouse, slack)
    assert set(statuses(warehouse, "slack").values()) == {"discarded"}
    assert slack.messages(ALERTS) == [] and held_runs(warehouse) == []


def test_releasing_one_run_leaves_another_held(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(n) for n in range(3)])
    first = deliver(warehouse, slack)
    add_alerts(warehouse, [alert_row(n) for n in range(3, 6)])
    second = deliver(warehouse, slack)
    assert first.held and second.held and len(slack.messages(OPS)) == 2

    assert release_held(warehouse, run_id=second.run_id) == 3
    deliver(warehouse, slack)
    sent = {m["metadata"]["event_payload"]["alert_id"] for m in slack.messages(ALERTS)}
    assert sent == {"alert_0003", "alert_0004", "alert_0005"}
    assert [r["run_id"] for r in held_runs(warehouse)] == [first.run_id]


def test_the_summary_is_delivered_exactly_once_across_a_dropped_connection(warehouse, slack):
    slack.script(Fault("chat.postMessage", DROP, stored=True))
    add_alerts(warehouse, [alert_row(n) for n in range(5)])
    first = deliver(warehouse, slack)
    assert statuses(warehouse, "slack_ops") == {f"hold-{first.run_id}": "sending"}
    second = deliver(warehouse, slack)
    assert second.recovered == 1 and len(slack.messages(OPS)) == 1


def test_a_hold_without_an_operations_channel_is_still_visible(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(n) for n in range(5)])
    report = deliver(warehouse, slack, ops=None)
    assert report.held and report.errors[-1][1:] == ("slack_ops", "no route for slack_ops")
    assert slack.all_messages() == [] and len(held_runs(warehouse)) == 1


def test_stale_sources_are_read_from_the_dbt_freshness_artifact(tmp_path) -> None:
    artifact = tmp_path / "sources.json"
    results = [
        {"unique_id": "source.healthscore.raw.accounts", "status": "pass"},
        {"unique_id": "source.healthscore.raw.events", "status": "error"},
        {"unique_id": "source.healthscore.raw.tickets", "status": "warn"},
        {"unique_id": "source.healthscore.raw.nps", "status": "runtime error"},
    ]
    artifact.write_text(json.dumps({"metadata": {}, "results": results}))
    assert stale_sources_from_dbt(artifact) == ("raw.events", "raw.nps")


def test_no_alerts_means_nothing_to_hold() -> None:
    check = StormCheck(
        alerting_accounts=0, active_accounts=None, threshold=0.1, stale_sources=("x",)
    )
    assert not check.hold and check.reasons == ()
