"""A CRM task for the account owner, per alert: HubSpot (task associated to the company with
type 192) or Salesforce (Task with WhatId = Account id), stamped with the alert id.

The clients (`healthscore.crm`) never retry a create after an unknown outcome; they raise
`UnknownOutcome`, which the engine treats like any non-`Rejected` failure: the task is looked up
by its alert id before it is created again.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from healthscore.alerts.alert import Alert
from healthscore.alerts.channels import Receipt, Rejected
from healthscore.alerts.config import AlertSettings
from healthscore.alerts.messages import driver_text, headline, plain_fit, score_change_text
from healthscore.crm.errors import RequestRejected

SUBJECT_MAX = 255  # Salesforce Task.Subject; HubSpot shows about as much
DRIVER_TEXT_MAX = 500
HUBSPOT_SEARCH_LAG_S = 30.0  # HubSpot's search index trails writes by a few seconds
_HUBSPOT_PRIORITY = {"high": "HIGH", "medium": "MEDIUM", "low": "LOW"}
_SALESFORCE_PRIORITY = {"high": "High", "medium": "Normal", "low": "Low"}


class LookupTooEarly(RuntimeError):
    """A search right after a write may miss it; the look-up waits for the next run."""


@dataclass(frozen=True)
class TaskContent:
    subject: str
    lines: tuple[str, ...]
    due_date: dt.date
    priority: str  # high | medium | low


def task_content(alert: Alert, settings: AlertSettings) -> TaskContent:
    """What the task says, CRM-neutral: the drivers are the point (DESIGN §9: says why)."""
    name = alert.account_name or alert.account_id
    what = headline(alert)
    lines = [
        f"{name}: {what}, {score_change_text(alert)}, "
        f"status {alert.status_before or '?'} → {alert.status_after or '?'}.",
    ]
    if alert.drivers:
        lines.append("Why:")
        lines += [f"- {plain_fit(driver_text(d), DRIVER_TEXT_MAX)}" for d in alert.drivers]
    arr = f"{alert.arr:,.0f}" if alert.arr is not None else "unknown"
    renewal = alert.renewal_date.isoformat() if alert.renewal_date else "none on record"
    lines.append(f"ARR {arr}; renewal {renewal}.")
    lines.append(f"Alert {alert.alert_id} ({alert.alert_kind} on {alert.alert_date.isoformat()}).")
    medium_from, high_from = settings.task_priority_arr
    arr_value = alert.arr or 0.0
    priority = "high" if arr_value >= high_from else "medium" if arr_value >= medium_from else "low"
    return TaskContent(
        subject=plain_fit(f"Health risk: {name} {what}", SUBJECT_MAX),
        lines=tuple(lines),
        due_date=alert.alert_date + dt.timedelta(days=settings.task_due_days),
        priority=priority,
    )


class _TaskChannel:
    """Create through a client made on first use (a Salesforce login is a request of its own),
    or without credentials only record the task that would be created."""

    name: str
    subject = "alert"

    def __init__(self, connect: Callable[[], Any] | None, settings: AlertSettings) -> None:
        self._connect = connect
        self._client: Any = None
        self._settings = settings
        self.dry_run = connect is None

    def request(self, alert: Alert, company_id: str, content: TaskContent) -> dict[str, Any]:
        raise NotImplementedError

    def route(self, alert: Alert) -> str | None:
        return alert.crm_company_id

    def send(self, alert: Alert, destination: str | None) -> Receipt:
        request = self.request(alert, destination or "", task_content(alert, self._settings))
        payload = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in request.items()}
        if self._connect is None:
            return Receipt("dry-run", payload)
        client = self._open()
        try:
            return Receipt(client.create_task(**request), payload)
        except RequestRejected as exc:
            raise Rejected(str(exc)) from exc

    def find(self, key: str, destination: str, attempted_at: dt.datetime) -> str | None:
        if self._connect is None:
            return None
        return self._open().find_task_by_alert_id(key)

    def _open(self) -> Any:
        if self._client is None:
            try:
                self._client = self._connect()
            except Exception as exc:  # nothing was sent: no credentials, login refused
                raise Rejected(f"cannot open {self.name} client: {exc}") from exc
        return self._client


class HubSpotTaskChannel(_TaskChannel):
    name = "hubspot_task"

    def __init__(
        self,
        connect: Callable[[], Any] | None,
        settings: AlertSettings,
        *,
        search_lag_s: float = HUBSPOT_SEARCH_LAG_S,
    ) -> None:
        super().__init__(connect, settings)
        self._search_lag_s = search_lag_s

    def request(self, alert: Alert, company_id: str, content: TaskContent) -> dict[str, Any]:
        body = "".join(f"<p>{html.escape(line)}</p>" for line in content.lines)
        return {
            "company_id": company_id,
            "alert_id": alert.alert_id,
            "subject": content.subject,
            "body": body,
            "due_at": dt.datetime.combine(content.due_date, dt.time(), tzinfo=dt.UTC),
            "priority": _HUBSPOT_PRIORITY[content.priority],
            "owner_id": alert.owner_id,
        }

    def find(self, key: str, destination: str, attempted_at: dt.datetime) -> str | None:
        age = dt.datetime.now(dt.UTC) - attempted_at.replace(tzinfo=dt.UTC)
        if age.total_seconds() < self._search_lag_s:
            raise LookupTooEarly(f"attempt is {age.total_seconds():.0f}s old; search may lag")
        return super().find(key, destination, attempted_at)


class SalesforceTaskChannel(_TaskChannel):
    name = "salesforce_task"

    def request(self, alert: Alert, company_id: str, content: TaskContent) -> dict[str, Any]:
        return {
            "account_id": company_id,
            "alert_id": alert.alert_id,
            "subject": content.subject,
            "description": "\n".join(content.lines),
            "due_date": content.due_date,
            "priority": _SALESFORCE_PRIORITY[content.priority],
            "owner_id": alert.owner_id,
        }
