"""Alert messages: untrusted strings render as text, and Block Kit limits hold for any input."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from healthscore.alerts.alert import Alert
from healthscore.alerts.config import AlertSettings, ConfigError
from healthscore.alerts.messages import (
    EXAMPLE_PATH,
    escape,
    mrkdwn_fit,
    render_hold_summary,
    render_message,
    write_example,
)
from healthscore.alerts.routing import Routing
from healthscore.alerts.storm_guard import HoldSummary
from tests.fakes.alert_model import alert_row
from tests.fakes.slack_server import FakeSlack, block_errors

INJECTIONS = (
    "<!channel>",
    "<!here|here>",
    "<!everyone>",
    "<@U0ADMIN01>",
    "<#C0SECRET1|secret>",
    "<!subteam^S0TEAM|@team>",
    "<https://evil.example/login|Open in CRM>",
    "a & b > c < d",
    "&lt;!channel&gt;",
)
OWN_MENTION = "<@U0OWNER01>"
ENTITY = re.compile(r"&(amp|lt|gt);")


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Every string Slack parses as mrkdwn: the fallback text and mrkdwn text objects."""
    found = [message["text"]]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message["blocks"])
    return found


def mrkdwn_objects(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = message["blocks"]
    objects = [b["text"] for b in blocks if b.get("text", {}).get("type") == "mrkdwn"]
    objects += [f for b in blocks for f in b.get("fields", [])]
    objects += [e for b in blocks if b["type"] == "context" for e in b["elements"]]
    return objects


@pytest.mark.parametrize("payload", INJECTIONS)
def test_user_strings_cannot_inject_markup(payload: str) -> None:
    row = alert_row(
        1,
        account_name=f"Acme {payload}",
        owner_email=f"{payload}@example.com",
        segment=payload,
        driver_1_text=f"ticket says {payload}",
        driver_2_signal="ticket_sentiment",
        driver_2_text=None,
        crm_company_id=f"9{payload}",
        alert_id=f"id {payload}",
        config_version=payload,
    )
    message = render_message(row, owner_slack_id="U0OWNER01")

    for text in mrkdwn_texts(message):
        rest = ENTITY.sub("", text.replace(OWN_MENTION, ""))
        assert "<" not in rest and ">" not in rest and "&" not in rest, text
    assert escape(payload) in message["blocks"][2]["text"]["text"]
    assert all(obj["verbatim"] is True for obj in mrkdwn_objects(message))
    # plain_text is never parsed for mentions or links, so it shows the name as typed
    assert payload in message["blocks"][0]["text"]["text"]


def test_owner_without_slack_account_is_named_not_mentioned() -> None:
    message = render_message(alert_row(1, owner_email="jane@example.com"))
    facts = [f["text"] for f in message["blocks"][1]["fields"]]
    assert "*Owner*\njane@example.com" in facts
    assert not any("<@" in text for text in mrkdwn_texts(message))


def test_long_names_and_many_drivers_stay_within_block_kit_limits() -> None:
    drivers: dict[str, Any] = {}
    for i in range(1, 31):
        drivers |= {f"driver_{i}_signal": f"signal_{i}", f"driver_{i}_text": "<&>" * 1500}
    row = alert_row(
        1,
        account_name="&" * 5000,
        owner_email="x" * 5000 + "@example.com",
        segment="<" * 5000,
        alert_id="a" * 4000,
        **drivers,
    )
    message = render_message(row, record_url_template="https://crm.example/{crm_company_id}")

    assert block_errors(message["blocks"]) == []
    assert len(message["blocks"]) <= 50
    assert len(message["text"]) <= 3000
    assert len(message["blocks"][0]["text"]["text"]) <= 150
    why = message["blocks"][2]["text"]["text"]
    assert why.startswith("*Why*\n• ") and re.search(r"…and \d+ more$", why)
    for text in mrkdwn_texts(message):  # cutting never leaves half an entity behind
        assert "&" not in ENTITY.sub("", text)


def test_a_long_message_is_accepted_by_slack_through_slack_sdk() -> None:
    row = alert_row(1, account_name="<!channel> " + "N" * 400, driver_1_text="t" * 4000)
    with FakeSlack(rate_interval=0) as slack:
        slack.add_channel("C0ALERTS1", "alerts")
        client = WebClient(token=slack.token, base_url=slack.base_url)
        response = client.chat_postMessage(channel="C0ALERTS1", **render_message(row))
        stored = slack.messages("C0ALERTS1")[0]
    assert response["ok"] is True
    assert stored["metadata"]["event_payload"]["alert_id"] == "alert_0001"


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([{"type": "divider"}] * 51, "/blocks"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/text"),
        ([{"type": "section", "text": {"type": "mrkdwn", "text": "s" * 3001}}], "/blocks/0/text"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "/fields"),
    ],
)
def test_the_local_server_refuses_what_slack_refuses(blocks, pointer) -> None:
    with FakeSlack(rate_interval=0) as slack:
        slack.add_channel("C0ALERTS1", "alerts")
        client = WebClient(token=slack.token, base_url=slack.base_url)
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="C0ALERTS1", text="fallback", blocks=blocks)
    assert refused.value.response.status_code == 200
    assert refused.value.response["error"] == "invalid_blocks"
    assert pointer in " ".join(refused.value.response["errors"])


def test_mrkdwn_fit_cuts_between_entities() -> None:
    assert mrkdwn_fit("a<b", 10) == "a&lt;b"
    cut = mrkdwn_fit("&" * 100, 12)
    assert cut == "&amp;&amp;…" and len(cut) <= 12


def test_missing_optional_fields_still_render() -> None:
    row = alert_row(
        1,
        account_name=None,
        owner_email=None,
        owner_id=None,
        arr=None,
        renewal_date=None,
        score_before=None,
        crm_company_id=None,
        driver_1_signal=None,
        config_version=None,
    )
    message = render_message(row, record_url_template="https://crm.example/{crm_company_id}")
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds == ["header", "section", "context"]  # no drivers, no CRM button
    assert "acc_1" in message["blocks"][0]["text"]["text"]
    assert "*Renewal*\nnone on record" in [f["text"] for f in message["blocks"][1]["fields"]]
    assert block_errors(message["blocks"]) == []


def test_crm_button_quotes_the_company_id_into_the_url() -> None:
    row = alert_row(1, crm_company_id="12/../admin?x=1&y=<2>")
    message = render_message(
        row, record_url_template="https://crm.example/company/{crm_company_id}"
    )
    button = message["blocks"][3]["elements"][0]
    assert button["url"] == "https://crm.example/company/12%2F..%2Fadmin%3Fx%3D1%26y%3D%3C2%3E"


def test_alert_kinds_read_as_sentences() -> None:
    drop = render_message(alert_row(1, alert_kind="score_drop", score_before=70, score_after=48))
    renewal = render_message(alert_row(2, alert_kind="red_near_renewal"))
    assert drop["blocks"][0]["text"]["text"].endswith("health dropped 22 points")
    assert renewal["blocks"][0]["text"]["text"].endswith("red, renewal in 60 days")
    assert drop["text"].startswith("Account 1: health dropped 22 points, health 70 → 48 (-22)")


def test_hold_summary_escapes_source_names_and_says_how_to_release() -> None:
    summary = HoldSummary(
        run_id="20250303T060000Z-abc123",
        reasons=("sources failed dbt freshness: raw.<!channel>",),
        held_alerts=42,
        largest_accounts=(("<@U0X> Corp", 1_000_000.0), ("Beta", None)),
    )
    message = render_hold_summary(summary)
    assert block_errors(message["blocks"]) == []
    texts = " ".join(mrkdwn_texts(message))
    assert "raw.&lt;!channel&gt;" in texts and "&lt;@U0X&gt; Corp (1,000,000 ARR)" in texts
    assert "healthscore alerts release --run 20250303T060000Z-abc123" in texts
    assert message["metadata"]["event_payload"] == {"alert_id": "hold-20250303T060000Z-abc123"}


def test_documented_example_is_what_the_renderer_produces(tmp_path) -> None:
    fresh = write_example(tmp_path / "example.json")
    assert json.loads(EXAMPLE_PATH.read_text()) == json.loads(fresh.read_text())


def test_alert_reads_any_number_of_drivers_and_skips_empty_ones() -> None:
    row = alert_row(1, driver_2_signal=None, driver_3_signal="nps", driver_3_text="NPS 9 → 3")
    row |= {"driver_4_signal": "qbr_attendance", "driver_4_before": 1.0, "driver_4_after": 0.0}
    alert = Alert.from_row(row)
    assert [d.signal for d in alert.drivers] == ["active_user_ratio", "nps", "qbr_attendance"]


def test_routing_prefers_owner_then_segment_then_default(tmp_path) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(
        "default: C0DEFAULT1\n"
        "segments:\n  Enterprise: C0ENTERP1\n"
        "owners:\n  Jane@Example.com: C0JANE001\n"
    )
    routing = Routing.load(path)
    alert = Alert.from_row(alert_row(1, segment="enterprise", owner_email="jane@example.com"))
    by_segment = Alert.from_row(alert_row(2, segment="ENTERPRISE"))
    other = Alert.from_row(alert_row(3, segment="smb"))
    assert routing.channel_for(alert) == "C0JANE001"
    assert routing.channel_for(by_segment) == "C0ENTERP1"
    assert routing.channel_for(other) == "C0DEFAULT1"
    assert Routing.load(None).channel_for(other) is None


@pytest.mark.parametrize(
    "text",
    ["default: '#cs-alerts'\n", "owners: {a@b.c: 42}\n", "channels: {}\n", "- C0DEFAULT1\n"],
)
def test_routing_rejects_names_and_unknown_keys(tmp_path, text: str) -> None:
    path = tmp_path / "routing.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError):
        Routing.load(path)


def test_settings_come_from_the_environment_at_call_time(monkeypatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
    monkeypatch.setenv("HEALTHSCORE_STORM_SHARE", "0.25")
    monkeypatch.setenv("HEALTHSCORE_TASK_PRIORITY_ARR", "1000,5000")
    settings = AlertSettings.from_env()
    assert settings.storm_share == 0.25 and settings.task_priority_arr == (1000.0, 5000.0)
    assert settings.slack_base_url == "https://slack.com/api/"
    assert "xoxb-secret-value" not in repr(settings)
    monkeypatch.setenv("HEALTHSCORE_STORM_SHARE", "ten percent")
    with pytest.raises(ConfigError):
        AlertSettings.from_env()
