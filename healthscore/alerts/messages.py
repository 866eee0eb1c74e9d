"""Block Kit messages for alerts and for the storm-guard summary.

Everything that comes from data (account names, owner e-mails, driver texts that may quote
tickets) is untrusted: in mrkdwn it is escaped (`&`, `<`, `>`) so `<!channel>`, `<@U…>` and
`<url|label>` arrive as text, and every mrkdwn object is `verbatim` so Slack does not turn a bare
`@here`, `#channel` or URL into a live entity either. Lengths are cut after escaping, on a
character boundary that never splits an entity, so a message is within Block Kit's limits
however long the input.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from healthscore.alerts.alert import Alert, Driver
from healthscore.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from healthscore.alerts.storm_guard import HoldSummary

HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
BUTTON_TEXT_MAX = 75
URL_MAX = 3000
FALLBACK_MAX = 3000  # notifications show a line; Slack's own cap (40k) is far above

ALERT_EVENT = "healthscore_alert"
HOLD_EVENT = "healthscore_alert_hold"
EXAMPLE_PATH = PROJECT_ROOT / "docs" / "alert_message_example.json"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ELLIPSIS = "…"
_HEADER_ICON = {"entered_red": "🔴", "score_drop": "📉", "red_near_renewal": "⏰"}


def escape(text: str) -> str:
    """Slack's three control characters as entities; nothing else is touched."""
    return "".join(_ESCAPES.get(c, c) for c in text)


def mrkdwn_fit(raw: str, limit: int) -> str:
    """Escape `raw` and cut it to `limit` characters without splitting an entity."""
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = len(_ELLIPSIS)
    for c in raw:
        piece = _ESCAPES.get(c, c)
        if used + len(piece) > limit:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + _ELLIPSIS


def plain_fit(raw: str, limit: int) -> str:
    return raw if len(raw) <= limit else raw[: limit - len(_ELLIPSIS)] + _ELLIPSIS


def render_message(
    alert_row: Alert | Mapping[str, Any],
    *,
    owner_slack_id: str | None = None,
    record_url_template: str | None = None,
) -> dict[str, Any]:
    """The chat.postMessage body (without `channel`) for one alert.

    `owner_slack_id` comes from users.lookupByEmail when that worked; otherwise the owner's
    e-mail is shown as text. `record_url_template` (HEALTHSCORE_CRM_RECORD_URL) has a
    `{crm_company_id}` placeholder; without it, or without a company id, there is no button.
    """
    alert = alert_row if isinstance(alert_row, Alert) else Alert.from_row(alert_row)
    name = alert.account_name or alert.account_id
    what = headline(alert)
    blocks: list[dict[str, Any]] = [
        _header(f"{_HEADER_ICON.get(alert.alert_kind, '⚠️')} ", name, f": {what}"),
        _section(_score_line(alert), fields=_facts(alert, owner_slack_id)),
    ]
    if alert.drivers:
        blocks.append(_section(_lines("*Why*", [_driver_line(d) for d in alert.drivers])))
    url = _record_url(alert, record_url_template)
    if url:
        blocks.append(_link_button("Open in CRM", url, "open_crm_record"))
    blocks.append(_context(_alert_footer(alert)))
    return {
        "text": mrkdwn_fit(f"{name}: {what}, {score_change_text(alert)}", FALLBACK_MAX),
        "blocks": blocks,
        "metadata": {
            "event_type": ALERT_EVENT,
            "event_payload": {
                "alert_id": alert.alert_id,
                "account_id": alert.account_id,
                "alert_kind": alert.alert_kind,
            },
        },
    }


def render_hold_summary(summary: HoldSummary) -> dict[str, Any]:
    """The one operations message for a held run: why, how many, and how to release."""
    reasons = [mrkdwn_fit(r, 1000) for r in summary.reasons]
    biggest = [
        f"• {mrkdwn_fit(name, 200)}" + (f" ({_money(arr)} ARR)" if arr is not None else "")
        for name, arr in summary.largest_accounts
    ]
    command = f"healthscore alerts release --run {summary.run_id}"
    blocks = [
        _header("⏸️ ", f"Health alerts held: {summary.held_alerts} alerts", ""),
        _section(_lines("*Why they were held*", [f"• {r}" for r in reasons])),
    ]
    if biggest:
        blocks.append(_section(_lines("*Largest accounts held*", biggest)))
    blocks.append(
        _section(
            f"Check the data, then release with `{escape(command)}` "
            f"or drop the batch with `healthscore alerts discard --run {escape(summary.run_id)}`."
        )
    )
    return {
        "text": mrkdwn_fit(
            f"{summary.held_alerts} health alerts held: {'; '.join(summary.reasons)}", FALLBACK_MAX
        ),
        "blocks": blocks,
        "metadata": {"event_type": HOLD_EVENT, "event_payload": {"alert_id": summary.key}},
    }


def headline(alert: Alert) -> str:
    """What happened, in words, for headers and task subjects."""
    if alert.alert_kind == "score_drop" and alert.score_change is not None:
        return f"health dropped {abs(alert.score_change):.0f} points"
    if alert.alert_kind == "red_near_renewal" and alert.renewal_date is not None:
        days = (alert.renewal_date - alert.alert_date).days
        return f"red, renewal in {days} days"
    return {"entered_red": "entered red", "red_near_renewal": "red near renewal"}.get(
        alert.alert_kind, alert.alert_kind.replace("_", " ")
    )


def score_change_text(alert: Alert) -> str:
    """`health 71 → 48 (-23)`, whichever scores are known."""
    before, after = _score(alert.score_before), _score(alert.score_after)
    change = alert.score_change
    delta = f" ({change:+.0f})" if change is not None else ""
    return f"health {before} → {after}{delta}"


def _score_line(alert: Alert) -> str:
    status = f"{alert.status_before or '?'} → {alert.status_after or '?'}"
    return f"*{escape(score_change_text(alert).capitalize())}*   ·   status {escape(status)}"


def _facts(alert: Alert, owner_slack_id: str | None) -> list[dict[str, Any]]:
    if owner_slack_id:
        owner = f"<@{escape(owner_slack_id)}>"
    else:
        owner = mrkdwn_fit(alert.owner_email or alert.owner_id or "unassigned", 500)
    renewal = "none on record"
    if alert.renewal_date is not None:
        days = (alert.renewal_date - alert.alert_date).days
        renewal = f"{alert.renewal_date.isoformat()} (in {days} days)"
    facts = {
        "ARR": _money(alert.arr) if alert.arr is not None else "unknown",
        "Renewal": renewal,
        "Owner": owner,
        "Segment": mrkdwn_fit(alert.segment or "unknown", 500),
    }
    return [_mrkdwn(f"*{label}*\n{value}") for label, value in facts.items()]


def driver_text(driver: Driver) -> str:
    """The model's sentence for a driver, or one made from its raw values."""
    return driver.text or f"{driver.signal} {_score(driver.before)} → {_score(driver.after)}"


def _driver_line(driver: Driver) -> str:
    return f"• {mrkdwn_fit(driver_text(driver), 600)}"


def _alert_footer(alert: Alert) -> str:
    parts = [
        f"alert {alert.alert_id}",
        f"{alert.alert_kind} on {alert.alert_date.isoformat()}",
        f"account {alert.account_id}",
    ]
    if alert.config_version:
        parts.append(f"config {alert.config_version}")
    return mrkdwn_fit(" · ".join(parts), SECTION_TEXT_MAX)


def _record_url(alert: Alert, template: str | None) -> str | None:
    if not template or not alert.crm_company_id:
        return None
    url = template.format(crm_company_id=quote(alert.crm_company_id, safe=""))
    return url if len(url) <= URL_MAX else None


def _lines(title: str, lines: Iterable[str]) -> str:
    """A title and as many already-escaped lines as fit in one section, then a count of the rest."""
    lines = list(lines)
    text = title
    for i, line in enumerate(lines):
        rest = len(lines) - i
        more = f"\n…and {rest} more"
        if len(text) + 1 + len(line) + (len(more) if rest > 1 else 0) > SECTION_TEXT_MAX:
            return text + more
        text += "\n" + line
    return text


def _header(prefix: str, subject: str, suffix: str) -> dict[str, Any]:
    room = HEADER_MAX - len(prefix) - len(suffix)
    text = prefix + plain_fit(subject, room) + suffix
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str, *, fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": _mrkdwn(text)}
    if fields:
        block["fields"] = fields
    return block


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _link_button(label: str, url: str, action_id: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": plain_fit(label, BUTTON_TEXT_MAX)},
                "url": url,
                "action_id": action_id,
            }
        ],
    }


def _score(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}"


def _money(value: float) -> str:
    return f"{value:,.0f}"


def example_alert() -> Alert:
    """The alert shown in docs/alert_message_example.json (with a name that needs escaping)."""
    return Alert.from_row(
        {
            "alert_id": "a1f3c9e2b7d04e58",
            "account_id": "acc_0042",
            "account_name": "Smith & Sons <Logistics>",
            "alert_kind": "score_drop",
            "alert_date": dt.date(2025, 3, 3),
            "segment": "mid_market",
            "owner_id": "owner_17",
            "owner_email": "jane.doe@example.com",
            "arr": 84000.0,
            "renewal_date": dt.date(2025, 5, 30),
            "score_before": 71.0,
            "score_after": 48.0,
            "status_before": "green",
            "status_after": "yellow",
            "crm_company_id": "9912345678",
            "driver_1_signal": "active_user_ratio",
            "driver_1_text": "active users 41 → 12",
            "driver_1_before": 41.0,
            "driver_1_after": 12.0,
            "driver_2_signal": "ticket_volume",
            "driver_2_text": "high-priority tickets 1 → 6",
            "driver_2_before": 1.0,
            "driver_2_after": 6.0,
            "driver_3_signal": "executive_engagement",
            "driver_3_text": "days since an executive attended 20 → 95",
            "driver_3_before": 20.0,
            "driver_3_after": 95.0,
            "config_version": "weights-2025-02",
        }
    )


def write_example(path: Path = EXAMPLE_PATH) -> Path:
    """Regenerate the documented example; a test keeps the committed file in step."""
    message = render_message(
        example_alert(),
        owner_slack_id="U0EXAMPLE1",
        record_url_template="https://app.hubspot.com/contacts/1234567/record/0-2/{crm_company_id}",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(message, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
