"""Exactly-once delivery to Slack through slack-sdk, against the local Slack server, across
rate limits, refusals, unknown outcomes, crashes and a killed process."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from healthscore.alerts import deliver_pending
from healthscore.alerts.config import AlertSettings
from healthscore.alerts.delivery import DeliveryInProgress
from healthscore.alerts.routing import Routing
from healthscore.alerts.slack_channel import SlackAlertChannel, SlackApi, SlackOpsChannel
from tests.fakes.alert_model import TODAY, add_alerts, alert_row, deliveries, make_warehouse
from tests.fakes.slack_server import DROP, ERROR, HTTP_ERROR, RATELIMIT, SLOW, FakeSlack, Fault

NOW = dt.datetime(2025, 3, 3, 6, 0, tzinfo=dt.UTC)
ALERTS, OPS = "C0ALERTS1", "C0OPS0001"
POST = "chat.postMessage"


@pytest.fixture
def slack():
    with FakeSlack(rate_interval=0) as fake:
        fake.add_channel(ALERTS, "cs-alerts")
        fake.add_channel(OPS, "cs-ops")
        fake.add_user("owner1@example.com", "U0OWNER01")
        yield fake


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "warehouse.duckdb")


def slack_channels(
    slack: FakeSlack,
    *,
    token: str | None = None,
    routing: Routing | None = None,
    timeout: float = 2,
    rate_limit_retries: int = 3,
) -> list[Any]:
    api = SlackApi(
        token or slack.token, slack.base_url, timeout=timeout, rate_limit_retries=rate_limit_retries
    )
    routing = routing or Routing(default=ALERTS)
    return [SlackAlertChannel(api, routing), SlackOpsChannel(api, OPS)]


def deliver(warehouse: Path, channels: list[Any], **kwargs: Any):
    return deliver_pending(
        warehouse, now=NOW, channels=channels, settings=AlertSettings(), **kwargs
    )


def test_each_alert_is_posted_once_and_its_ts_recorded(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(n) for n in (1, 2, 3)])
    first = deliver(warehouse, slack_channels(slack))
    again = deliver(warehouse, slack_channels(slack))

    messages = slack.messages(ALERTS)
    assert len(messages) == 3 and slack.call_count(POST) == 3
    assert first.new_alerts == 3 and first.count("sent", "slack") == 3
    assert again.new_alerts == 0 and sum(again.outcomes.values()) == 0
    rows = deliveries(warehouse, "slack")
    by_alert = {m["metadata"]["event_payload"]["alert_id"]: m["ts"] for m in messages}
    for alert_id, row in rows.items():
        assert (row["status"], row["attempts"], row["destination"]) == ("sent", 1, ALERTS)
        assert row["external_ref"] == by_alert[alert_id]
    assert "<@U0OWNER01>" in rows["alert_0001"]["payload"]  # owner found by e-mail


def test_alerts_first_seen_later_are_sent_in_a_later_run(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(1)])
    deliver(warehouse, slack_channels(slack))
    add_alerts(warehouse, [alert_row(2)])
    report = deliver(warehouse, slack_channels(slack))
    assert report.new_alerts == 1 and len(slack.messages(ALERTS)) == 2


def test_owner_lookup_is_made_once_per_email(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(n, owner_email="owner1@example.com") for n in (1, 2)])
    deliver(warehouse, slack_channels(slack))
    assert slack.call_count("users.lookupByEmail") == 1


def test_scripted_429_is_waited_out_and_posted_once(warehouse, slack) -> None:
    slack.script(Fault(POST, RATELIMIT, retry_after=0), Fault(POST, RATELIMIT, retry_after=0))
    add_alerts(warehouse, [alert_row(1)])
    report = deliver(warehouse, slack_channels(slack))
    assert report.count("sent") == 1
    assert slack.call_count(POST) == 3 and len(slack.messages(ALERTS)) == 1


def test_per_channel_rate_limit_is_honoured_with_retry_after(warehouse) -> None:
    with FakeSlack(rate_interval=1.0) as slack:  # about one a second, as Slack
        slack.add_channel(ALERTS, "cs-alerts")
        add_alerts(warehouse, [alert_row(1), alert_row(2)])
        report = deliver(warehouse, slack_channels(slack))
        assert report.count("sent") == 2 and len(slack.messages(ALERTS)) == 2
        assert slack.call_count(POST) == 3  # the second post was answered 429 once


def test_rate_limit_outlasting_the_retries_fails_and_is_retried_next_run(warehouse, slack):
    slack.script(*[Fault(POST, RATELIMIT, retry_after=0)] * 2)
    add_alerts(warehouse, [alert_row(1)])
    deliver(warehouse, slack_channels(slack, rate_limit_retries=1))
    row = deliveries(warehouse, "slack")["alert_0001"]
    assert (row["status"], row["last_error"]) == ("failed", "ratelimited")

    deliver(warehouse, slack_channels(slack))
    row = deliveries(warehouse, "slack")["alert_0001"]
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert len(slack.messages(ALERTS)) == 1


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "invalid_auth"])
def test_slack_refusal_fails_with_reason_and_succeeds_once_fixed(warehouse, slack, error) -> None:
    slack.add_channel("C0PRIVATE", "private", member=False)
    broken = {
        "channel_not_found": {"routing": Routing(default="C0MISSING")},
        "not_in_channel": {"routing": Routing(default="C0PRIVATE")},
        "invalid_auth": {"token": "xoxb-revoked"},
    }[error]
    add_alerts(warehouse, [alert_row(1)])
    report = deliver(warehouse, slack_channels(slack, **broken))
    row = deliveries(warehouse, "slack")["alert_0001"]
    assert (row["status"], row["last_error"], row["attempts"]) == ("failed", error, 1)
    assert report.errors == [("alert_0001", "slack", error)]
    assert slack.all_messages() == []

    deliver(warehouse, slack_channels(slack))
    row = deliveries(warehouse, "slack")["alert_0001"]
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, None)
    assert len(slack.messages(ALERTS)) == 1


def test_invalid_blocks_is_a_refusal_not_an_unknown_outcome(warehouse, slack) -> None:
    slack.script(Fault(POST, ERROR, error="invalid_blocks"))
    add_alerts(warehouse, [alert_row(1)])
    deliver(warehouse, slack_channels(slack))
    assert deliveries(warehouse, "slack")["alert_0001"]["status"] == "failed"
    deliver(warehouse, slack_channels(slack))
    assert slack.call_count("conversations.history") == 0  # no look-up needed
    assert len(slack.messages(ALERTS)) == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault(POST, DROP, stored=True),
        Fault(POST, DROP, stored=False),
        Fault(POST, SLOW, stored=True, delay=5.0),
        Fault(POST, HTTP_ERROR, stored=True, status=500),
        Fault(POST, HTTP_ERROR, stored=False, status=503),
        Fault(POST, ERROR, error="internal_error"),
    ],
    ids=["drop-after-store", "drop", "timeout-after-store", "500-after-store", "503", "ok-false"],
)
def test_unknown_outcome_is_looked_up_before_sending_again(warehouse, slack, fault) -> None:
    slack.script(fault)
    add_alerts(warehouse, [alert_row(1), alert_row(2)])
    deliver(warehouse, slack_channels(slack, timeout=0.5))
    row = deliveries(warehouse, "slack")["alert_0001"]
    assert row["status"] == "sending" and row["last_error"].startswith("outcome unknown")
    assert deliveries(warehouse, "slack")["alert_0002"]["status"] == "sent"
    posts = slack.call_count(POST)

    report = deliver(warehouse, slack_channels(slack))
    row = deliveries(warehouse, "slack")["alert_0001"]
    mine = [
        m
        for m in slack.messages(ALERTS)
        if m["metadata"]["event_payload"]["alert_id"] == "alert_0001"
    ]
    assert len(mine) == 1 and row["status"] == "sent" and row["external_ref"] == mine[0]["ts"]
    assert slack.call_count("conversations.history") == 1
    assert report.recovered == (1 if fault.stored else 0)
    assert slack.call_count(POST) == posts + (0 if fault.stored else 1)


def test_failed_lookup_keeps_the_outcome_unknown(warehouse, slack) -> None:
    slack.script(Fault(POST, DROP, stored=True))
    add_alerts(warehouse, [alert_row(1)])
    deliver(warehouse, slack_channels(slack))
    slack.script(Fault("conversations.history", ERROR, error="ratelimited"))
    deliver(warehouse, slack_channels(slack))
    row = deliveries(warehouse, "slack")["alert_0001"]
    assert row["status"] == "sending" and row["last_error"].startswith("look-up failed")

    deliver(warehouse, slack_channels(slack))
    assert deliveries(warehouse, "slack")["alert_0001"]["status"] == "sent"
    assert len(slack.messages(ALERTS)) == 1 and slack.call_count(POST) == 1


class _Dies:
    """A channel whose process dies just before, or just after, its request."""

    def __init__(self, inner: Any, after_request: bool) -> None:
        self._inner, self._after = inner, after_request
        self.name, self.subject, self.dry_run = inner.name, inner.subject, inner.dry_run
        self.route, self.find = inner.route, inner.find

    def send(self, subject: Any, destination: str | None) -> Any:
        if self._after:
            self._inner.send(subject, destination)
        raise SystemExit("killed")


@pytest.mark.parametrize("after_request", [False, True], ids=["before-post", "after-post"])
def test_a_crash_around_the_post_never_duplicates(warehouse, slack, after_request) -> None:
    add_alerts(warehouse, [alert_row(1)])
    alert_channel, ops_channel = slack_channels(slack)
    with pytest.raises(SystemExit):
        deliver(warehouse, [_Dies(alert_channel, after_request), ops_channel])
    assert deliveries(warehouse, "slack")["alert_0001"]["status"] == "sending"

    deliver(warehouse, slack_channels(slack))
    assert deliveries(warehouse, "slack")["alert_0001"]["status"] == "sent"
    assert len(slack.messages(ALERTS)) == 1


_CHILD = """
import datetime as dt, sys
from pathlib import Path
from healthscore.alerts import deliver_pending
deliver_pending(Path(sys.argv[1]), now=dt.datetime(2025, 3, 3, 6, tzinfo=dt.UTC))
"""


def slack_env(monkeypatch, slack: FakeSlack, tmp_path: Path) -> dict[str, str]:
    routing = tmp_path / "routing.yaml"
    routing.write_text(f"default: {ALERTS}\n")
    env = {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_BASE_URL": slack.base_url,
        "HEALTHSCORE_ALERT_ROUTING": str(routing),
        "HEALTHSCORE_OPS_CHANNEL": OPS,
        "HEALTHSCORE_CRM_RECORD_URL": "https://crm.example/company/{crm_company_id}",
    }
    for name in ("HUBSPOT_ACCESS_TOKEN", "SALESFORCE_INSTANCE_URL", "SALESFORCE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_a_killed_process_after_slack_stored_the_message_is_recovered(
    warehouse, slack, tmp_path, monkeypatch
) -> None:
    slack_env(monkeypatch, slack, tmp_path)
    slack.script(Fault(POST, SLOW, stored=True, delay=60))  # the answer never comes in time
    add_alerts(warehouse, [alert_row(1)])
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(warehouse)], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 30
        while not slack.all_messages():
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert deliveries(warehouse, "slack")["alert_0001"]["status"] == "sending"

    report = deliver_pending(warehouse, now=NOW)
    assert (
        report.recovered == 1 and deliveries(warehouse, "slack")["alert_0001"]["status"] == "sent"
    )
    assert len(slack.messages(ALERTS)) == 1 and slack.call_count(POST) == 1


def test_environment_configuration_and_no_secret_is_kept(
    warehouse, slack, tmp_path, monkeypatch, caplog
) -> None:
    env = slack_env(monkeypatch, slack, tmp_path)
    add_alerts(warehouse, [alert_row(1)])
    said: list[str] = []
    report = deliver_pending(warehouse, now=NOW, progress=said.append)

    message = slack.messages(ALERTS)[0]
    assert message["blocks"][3]["elements"][0]["url"] == "https://crm.example/company/900001"
    assert report.count("sent", "slack") == 1 and report.count("dry_run", "hubspot_task") == 1
    with duckdb.connect(str(warehouse)) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'alerts'"
            ).fetchall()
        ]
        dumped = " ".join(str(con.execute(f"select * from alerts.{t}").fetchall()) for t in tables)
    logged = caplog.text + " ".join(said) + str(report.as_metadata())
    assert env["SLACK_BOT_TOKEN"] not in dumped + logged


def test_without_a_token_it_records_what_would_be_sent(warehouse, monkeypatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "HUBSPOT_ACCESS_TOKEN", "SALESFORCE_INSTANCE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SALESFORCE_USERNAME", raising=False)
    add_alerts(warehouse, [alert_row(1)])
    report = deliver_pending(warehouse, now=NOW)
    rows = deliveries(warehouse)
    assert {k: r["status"] for k, r in rows.items()} == {
        "alert_0001/hubspot_task": "dry_run",
        "alert_0001/slack": "dry_run",
    }
    assert '"blocks"' in rows["alert_0001/slack"]["payload"]
    assert "health_risk" not in rows["alert_0001/hubspot_task"]["payload"]
    assert report.count("dry_run") == 2
    assert sum(deliver_pending(warehouse, now=NOW).outcomes.values()) == 0


def test_an_alert_with_no_route_fails_visibly(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(1)])
    report = deliver(warehouse, slack_channels(slack, routing=Routing()))
    assert deliveries(warehouse, "slack")["alert_0001"]["last_error"] == "no route for slack"
    assert report.count("failed") == 1 and slack.call_count(POST) == 0


def test_alerts_too_old_to_matter_are_kept_but_not_sent(warehouse, slack) -> None:
    add_alerts(warehouse, [alert_row(1, alert_date=TODAY - dt.timedelta(days=30)), alert_row(2)])
    report = deliver(warehouse, slack_channels(slack))
    assert (report.new_alerts, report.too_old) == (2, 1)
    assert list(deliveries(warehouse, "slack")) == ["alert_0002"]


def test_a_second_concurrent_delivery_is_refused(warehouse, slack) -> None:
    lock_path = warehouse.with_name(warehouse.name + ".alerts.lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with pytest.raises(DeliveryInProgress):
            deliver(warehouse, slack_channels(slack))
