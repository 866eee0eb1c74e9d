"""The delivery engine: new alerts into the outbox, the storm guard, then each due delivery
through its channel, exactly once.

Per delivery: a row found `sending` had an unknown outcome, so the destination is asked for the
alert id first; then the row is marked `sending` (attempt n) and committed, the warehouse is
closed, the request is sent, and the result is recorded in a new connection. A crash anywhere
leaves either a row that was never sent (`pending`/`failed`) or one whose outcome is looked up
(`sending`): never a second message.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import secrets
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from healthscore.alerts import outbox, storm_guard
from healthscore.alerts.channels import Channel, Rejected
from healthscore.alerts.config import AlertSettings
from healthscore.alerts.crm_tasks import HubSpotTaskChannel, SalesforceTaskChannel
from healthscore.alerts.routing import Routing
from healthscore.alerts.slack_channel import SlackAlertChannel, SlackApi, SlackOpsChannel
from healthscore.alerts.storm_guard import StormCheck
from healthscore.crm.hubspot_client import HubSpotClient, HubSpotSettings
from healthscore.crm.salesforce_client import SalesforceClient, SalesforceSettings

Progress = Callable[[str], None]
_ERROR_MAX = 500


class DeliveryInProgress(RuntimeError):
    """Another process is delivering from this warehouse; two would race on `sending` rows."""


@dataclass
class DeliveryReport:
    run_id: str
    new_alerts: int = 0
    too_old: int = 0
    storm: StormCheck | None = None
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, status)
    recovered: int = 0  # unknown outcomes found delivered at the destination
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # alert, channel, error

    @property
    def held(self) -> bool:
        return bool(self.storm and self.storm.hold)

    def count(self, status: str, channel: str | None = None) -> int:
        return sum(n for (c, s), n in self.outcomes.items() if s == status and channel in (None, c))

    def as_metadata(self) -> dict[str, Any]:
        """Plain values for Dagster asset/run metadata (no secrets, no message bodies)."""
        storm = self.storm
        return {
            "run_id": self.run_id,
            "new_alerts": self.new_alerts,
            "too_old_to_send": self.too_old,
            "held": self.held,
            "hold_reasons": list(storm.reasons) if storm else [],
            "alerting_accounts": storm.alerting_accounts if storm else 0,
            "active_accounts": storm.active_accounts if storm else None,
            "recovered_after_unknown_outcome": self.recovered,
            **{f"{c}.{s}": n for (c, s), n in sorted(self.outcomes.items())},
            "errors": [f"{a} {c}: {e}" for a, c, e in self.errors[:20]],
        }


def configured_channels(settings: AlertSettings) -> list[Channel]:
    """Channels from the environment. Without a Slack token Slack runs dry; a CRM's task channel
    is on when its credentials are set, and without any CRM credentials HubSpot runs dry."""
    api = None
    if settings.slack_token:
        api = SlackApi(settings.slack_token, settings.slack_base_url)
    channels: list[Channel] = [
        SlackAlertChannel(api, Routing.load(settings.routing_file), settings.crm_record_url),
        SlackOpsChannel(api, settings.ops_channel),
    ]
    hubspot, salesforce = HubSpotSettings.from_env(), SalesforceSettings.from_env()
    if hubspot.access_token:
        channels.append(HubSpotTaskChannel(partial(HubSpotClient, hubspot), settings))
    if salesforce.has_credentials:
        channels.append(SalesforceTaskChannel(partial(SalesforceClient, salesforce), settings))
    if not (hubspot.access_token or salesforce.has_credentials):
        channels.append(HubSpotTaskChannel(None, settings))
    return channels


def deliver_pending(
    warehouse: Path,
    *,
    now: dt.datetime | None = None,
    progress: Progress | None = None,
    channels: Sequence[Channel] | None = None,
    settings: AlertSettings | None = None,
    stale_sources: Sequence[str] = (),
    active_accounts: int | None = None,
    run_id: str | None = None,
) -> DeliveryReport:
    """Copy new alerts from `main.fct_health_alerts`, apply the storm guard, deliver what is due.

    `now` is the run's logical time (which alerts are too old to send); `stale_sources` are the
    sources that failed dbt freshness for this refresh; `active_accounts` overrides the count
    the storm guard reads from the warehouse.
    """
    settings = settings or AlertSettings.from_env()
    channels = list(channels) if channels is not None else configured_channels(settings)
    say = progress or (lambda _message: None)
    started = now or dt.datetime.now(dt.UTC)
    report = DeliveryReport(run_id or f"{started:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}")
    with _exclusive(warehouse):
        by_name = {c.name: c for c in channels}
        with outbox.connect(warehouse) as con:
            _enqueue(con, report, channels, settings, started, stale_sources, active_accounts)
            due = outbox.due_deliveries(con, list(by_name))
            subjects = _subjects(con, due, by_name)
        if report.held:
            say(f"alerts of run {report.run_id} held: {'; '.join(report.storm.reasons)}")
        for d in due:
            result = _deliver(
                warehouse, by_name[d.channel], d, subjects[d.channel, d.alert_id], report
            )
            say(f"{d.channel} {d.alert_id}: {result}")
        with outbox.connect(warehouse) as con:
            outbox.update_run(con, report.run_id, finished_at=outbox.utc(_clock()))
    return report


def _enqueue(
    con: duckdb.DuckDBPyConnection,
    report: DeliveryReport,
    channels: Sequence[Channel],
    settings: AlertSettings,
    started: dt.datetime,
    stale_sources: Sequence[str],
    active_accounts: int | None,
) -> None:
    """One transaction: new alerts copied, checked and given a delivery per channel."""
    cutoff = started.date() - dt.timedelta(days=settings.max_age_days)
    if active_accounts is None:
        active_accounts = storm_guard.count_active_accounts(con)
    con.begin()
    outbox.start_run(con, report.run_id, started)
    report.new_alerts = outbox.copy_new_alerts(con, report.run_id, started)
    fresh = outbox.run_alerts(con, report.run_id, since=cutoff)
    report.too_old = report.new_alerts - len(fresh)
    storm = storm_guard.check(
        fresh,
        threshold=settings.storm_share,
        stale_sources=stale_sources,
        active_accounts=active_accounts,
    )
    report.storm = storm
    customer = [c.name for c in channels if c.subject == "alert"]
    status = outbox.HELD if storm.hold else outbox.PENDING
    keys = [a.alert_id for a in fresh]
    outbox.add_deliveries(con, keys, customer, status=status, run_id=report.run_id, now=started)
    if storm.hold:
        ops = [c.name for c in channels if c.subject == "hold"]
        hold = [storm_guard.hold_key(report.run_id)]
        outbox.add_deliveries(
            con, hold, ops, status=outbox.PENDING, run_id=report.run_id, now=started
        )
    outbox.update_run(
        con,
        report.run_id,
        new_alerts=report.new_alerts,
        too_old=report.too_old,
        alerting_accounts=storm.alerting_accounts,
        active_accounts=storm.active_accounts,
        storm_share=storm.threshold,
        stale_sources=list(storm.stale_sources),
        held=storm.hold,
        held_alerts=len(fresh) if storm.hold else 0,
        hold_reasons=list(storm.reasons),
    )
    con.commit()


def _subjects(
    con: duckdb.DuckDBPyConnection, due: Sequence[outbox.Delivery], by_name: dict[str, Channel]
) -> dict[tuple[str, str], Any]:
    """What each due delivery is about: an alert from the outbox, or a held run's summary."""
    alerts = outbox.alerts_by_id(
        con, {d.alert_id for d in due if by_name[d.channel].subject == "alert"}
    )
    subjects: dict[tuple[str, str], Any] = {}
    for d in due:
        if by_name[d.channel].subject == "alert":
            subjects[d.channel, d.alert_id] = alerts[d.alert_id]
        else:
            subjects[d.channel, d.alert_id] = storm_guard.hold_summary(con, d.run_id)
    return subjects


def _deliver(
    warehouse: Path, channel: Channel, d: outbox.Delivery, subject: Any, report: DeliveryReport
) -> str:
    if d.status == outbox.SENDING:
        try:
            ref = channel.find(d.alert_id, d.destination, d.attempted_at)
        except Exception as exc:
            return _record(
                warehouse, d, outbox.SENDING, report, error=f"look-up failed: {_why(exc)}"
            )
        if ref is not None:
            report.recovered += 1
            return _record(warehouse, d, outbox.SENT, report, external_ref=ref)
    destination = channel.route(subject)
    if destination is None and not channel.dry_run:
        return _record(warehouse, d, outbox.FAILED, report, error=f"no route for {channel.name}")
    with outbox.connect(warehouse) as con:
        attempt = outbox.claim(con, d, destination, _clock())
    if attempt is None:
        return "skipped: changed by another run since it was read"
    d = replace(d, status=outbox.SENDING, attempts=attempt, destination=destination)
    try:
        receipt = channel.send(subject, destination)
    except Rejected as exc:
        return _record(warehouse, d, outbox.FAILED, report, error=_why(exc))
    except Exception as exc:
        return _record(warehouse, d, outbox.SENDING, report, error=f"outcome unknown: {_why(exc)}")
    status = outbox.DRY_RUN if channel.dry_run else outbox.SENT
    return _record(
        warehouse, d, status, report, external_ref=receipt.external_ref, payload=receipt.payload
    )


def _record(
    warehouse: Path, d: outbox.Delivery, status: str, report: DeliveryReport, **values: Any
) -> str:
    with outbox.connect(warehouse) as con:
        outbox.settle(con, d, status, _clock(), **values)
    report.outcomes[d.channel, status] += 1
    error = values.get("error")
    if error:
        report.errors.append((d.alert_id, d.channel, error))
        return f"{status} ({error})"
    return status


def _why(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ") or type(exc).__name__
    return text[:_ERROR_MAX]


def _clock() -> dt.datetime:
    """Wall-clock time for attempts: a look-up after an unknown outcome searches around it."""
    return dt.datetime.now(dt.UTC)


@contextmanager
def _exclusive(warehouse: Path) -> Iterator[None]:
    lock_path = warehouse.with_name(warehouse.name + ".alerts.lock")
    with open(lock_path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DeliveryInProgress(f"another alert delivery is running on {warehouse}") from exc
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
