"""Diff, batch and send: one engine for every CRM destination (DESIGN §8).

A run reads the destination's sync model and the values the CRM last confirmed, sends only
the rows whose values changed, and records each batch's confirmations as soon as the CRM
answers. Because state holds confirmed values only, a row that failed (a 207 error, a batch
that ran out of retries, a process killed mid-run) still differs next run and is sent again.
A row is resent with unchanged values only when a write to it was never confirmed (`in_doubt`
in `state`): the CRM may have applied it, so the confirmed value has to be restored.

What changes a row: any health field except `health_updated_at`. That timestamp moves every
day, so it is sent along with a row that changed for another reason but is never a reason on
its own; otherwise every account would be resent daily. `config_version` is metadata: kept in
state and the publish log, never sent.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from healthscore.crm.batch import UNCONFIRMED, BatchResult, RowError
from healthscore.crm.errors import CrmError, RequestRejected
from healthscore.writeback import state
from healthscore.writeback.destinations import Destination, destination
from healthscore.writeback.fields import HEALTH_FIELDS
from healthscore.writeback.state import SyncRow

log = logging.getLogger(__name__)

DEFAULT_MAX_CHANGE_SHARE = 0.5
METADATA_SAMPLE = 20

Progress = Callable[[int, int], None]  # (rows settled, rows to send)


def max_change_share_from_env() -> float:
    """`HEALTHSCORE_SYNC_MAX_CHANGE_SHARE`: the share of records a run may change unforced."""
    share = float(os.environ.get("HEALTHSCORE_SYNC_MAX_CHANGE_SHARE", DEFAULT_MAX_CHANGE_SHARE))
    if not 0 <= share <= 1:
        raise ValueError("HEALTHSCORE_SYNC_MAX_CHANGE_SHARE must be between 0 and 1")
    return share


@dataclass
class SyncReport:
    """What a run did; `metadata()` is safe to show anywhere (no secrets, bounded size)."""

    run_id: str
    destination: str
    dry_run: bool
    status: str = "ok"  # ok | partial | blocked | aborted | dry_run
    message: str = ""
    candidates: int = 0  # rows in the sync model with a CRM id
    unmapped: int = 0  # rows without a CRM id: nothing to write to
    changed: int = 0  # candidates whose values differ from what the CRM confirmed
    parked: int = 0  # skipped: the CRM reported the record deleted or archived earlier
    sent: int = 0
    confirmed: int = 0
    failed: int = 0  # sent but not confirmed; retried next run
    missing: int = 0  # the CRM says the record is gone; parked from now on
    api_calls: int = 0
    rate_limited: int = 0  # 429 answers
    retries: int = 0
    change_share: float = 0.0  # of the values the CRM confirmed, the share this run changes
    elapsed_s: float = 0.0
    # The first 20 failed rows (all of them are in writeback.sync_failures).
    failures: list[dict[str, Any]] = field(default_factory=list)
    would_send: list[dict[str, Any]] = field(default_factory=list)  # dry run: every payload

    def metadata(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = self.failures[:METADATA_SAMPLE]
        data["would_send"] = self.would_send[:METADATA_SAMPLE]
        data["change_share"] = round(self.change_share, 4)
        data["elapsed_s"] = round(self.elapsed_s, 3)
        return data


@dataclass(frozen=True)
class Plan:
    candidates: int
    unmapped: int
    parked: int
    changed: list[SyncRow]
    synced: int  # candidates with values the CRM confirmed before
    overwrites: int  # of those, how many this run would change

    @property
    def change_share(self) -> float:
        """The share of confirmed CRM values this run would overwrite: what the valve guards.

        Rows never confirmed (a first sync, new accounts, the rest of an interrupted run) are
        catch-up, not change, so they do not count.
        """
        return self.overwrites / self.synced if self.synced else 0.0


def run_sync(
    destination_name: str,
    warehouse: Path,
    *,
    force: bool = False,
    dry_run: bool | None = None,
    progress: Progress | None = None,
    client: Any | None = None,
    max_change_share: float | None = None,
    retry_parked: bool = False,
) -> SyncReport:
    """Sync one destination's model to its CRM; the entry point for the CLI and Dagster.

    `dry_run=None` means: live when credentials are set, else a dry run that records what it
    would send. `force` overrides the safety valve; `retry_parked` gives records the CRM
    reported missing another chance. `client` replaces the one built from the environment
    (tests and the bench point it at a local server).
    """
    adapter = destination(destination_name)
    share_limit = max_change_share_from_env() if max_change_share is None else max_change_share
    started, started_at = time.monotonic(), state.utc_now()
    if dry_run is not True and client is None:
        client = adapter.connect()
    if dry_run is None:
        dry_run = client is None
    elif not dry_run and client is None:
        raise CrmError(f"{adapter.name}: no credentials ({adapter.credentials}); cannot sync live")

    report = SyncReport(run_id=uuid.uuid4().hex, destination=adapter.name, dry_run=dry_run)
    with state.connect(warehouse, prepare=True) as con:
        plan = plan_sync(
            read_model(con, adapter),
            state.confirmed_values(con, adapter.name),
            set() if retry_parked else state.parked_ids(con, adapter.name),
            state.in_doubt_ids(con, adapter.name),
        )
        _fill_plan(report, plan)
        blocked = plan.change_share > share_limit and not force
        valve = (
            f"{plan.overwrites} of {plan.synced} synced records ({plan.change_share:.0%}) would "
            f"change, above the {share_limit:.0%} safety valve"
        )
        if dry_run:
            _record_dry_run(con, adapter, plan, report, valve if blocked else "")
        elif not blocked and plan.changed:
            if retry_parked:
                state.unpark(con, adapter.name)
            # Before anything is sent: from here until confirmed, the CRM may hold a value
            # that is neither the confirmed one nor ours (applied, answer lost), so these rows
            # are resent next run even if the warehouse returns to the confirmed values.
            state.mark_in_doubt(con, adapter.name, [row.record_id for row in plan.changed])

    if not dry_run:
        if blocked:
            report.status = "blocked"
            report.message = f"{valve}; nothing sent. Re-run with force to send anyway."
            log.warning("%s sync blocked: %s", adapter.name, report.message)
        elif plan.changed:
            _send_all(adapter, client, plan.changed, warehouse, report, progress)
        else:
            report.message = "nothing changed since the last confirmed sync"
    report.elapsed_s = time.monotonic() - started
    state.record_run(warehouse, _run_summary(report, started_at))
    log.info("%s sync %s: %s", adapter.name, report.status, _counts(report))
    return report


def read_model(con: duckdb.DuckDBPyConnection, adapter: Destination) -> list[SyncRow]:
    """The sync model's rows, values canonicalised; rows without a CRM id keep record_id ''."""
    columns = ", ".join(adapter.column(f) for f in HEALTH_FIELDS)
    sql = (
        f"select account_id, {adapter.record_id_column}, {columns}, config_version "
        f"from {adapter.model} order by {adapter.record_id_column}, account_id"
    )
    try:
        result = con.execute(sql).fetchall()
    except duckdb.CatalogException as exc:
        raise CrmError(f"{adapter.model} is not in the warehouse; build the sync models") from exc
    rows = []
    for account_id, record_id, *values, config_version in result:
        canonical = {f.name: f.canonical(v) for f, v in zip(HEALTH_FIELDS, values, strict=True)}
        rows.append(SyncRow(str(account_id), str(record_id or ""), canonical, config_version))
    return rows


def plan_sync(
    rows: Sequence[SyncRow],
    confirmed: dict[str, dict[str, str]],
    parked: set[str],
    in_doubt: set[str],
) -> Plan:
    """Decide which rows to send: mapped, not parked, and either different from what the CRM
    confirmed or in doubt (a write that may have been applied was never confirmed)."""
    mapped = [row for row in rows if row.record_id]
    duplicates = _duplicates(row.record_id for row in mapped)
    if duplicates:
        raise CrmError(f"sync model maps several accounts to one CRM record: {duplicates[:5]}")
    live = [row for row in mapped if row.record_id not in parked]
    changed = [
        row
        for row in live
        if row.record_id in in_doubt or _differs(row.values, confirmed.get(row.record_id))
    ]
    return Plan(
        candidates=len(mapped),
        unmapped=len(rows) - len(mapped),
        parked=len(mapped) - len(live),
        changed=changed,
        synced=sum(1 for row in live if row.record_id in confirmed),
        overwrites=sum(
            1
            for row in changed
            if row.record_id in confirmed and _differs(row.values, confirmed[row.record_id])
        ),
    )


def _differs(values: dict[str, str], confirmed: dict[str, str] | None) -> bool:
    if confirmed is None:
        return True
    return any(
        values[f.name] != confirmed.get(f.name, "") for f in HEALTH_FIELDS if f.triggers_send
    )


def _duplicates(ids: Iterable[str]) -> list[str]:
    return [record_id for record_id, count in Counter(ids).items() if count > 1]


def _send_all(
    adapter: Destination,
    client: Any,
    rows: list[SyncRow],
    warehouse: Path,
    report: SyncReport,
    progress: Progress | None,
) -> None:
    """Send in batches, committing each batch's outcome before the next one goes out."""
    before = replace(client.stats)
    try:
        for start in range(0, len(rows), adapter.batch_size):
            batch = rows[start : start + adapter.batch_size]
            report.sent += len(batch)
            try:
                outcome = _deliver(adapter, client, batch)
            except CrmError as exc:
                _settle(warehouse, report, [(r, RowError("ABORTED", str(exc))) for r in batch])
                report.status = "aborted"
                report.message = f"stopped after {start} of {len(rows)} rows: {exc}"
                log.error("%s sync aborted: %s", adapter.name, report.message)
                return
            _settle(warehouse, report, outcome)
            if progress:
                progress(start + len(batch), len(rows))
    finally:
        report.api_calls = client.stats.calls - before.calls
        report.rate_limited = client.stats.rate_limited - before.rate_limited
        report.retries = client.stats.retries - before.retries
    if report.failed or report.missing:
        report.status = "partial"
        report.message = (
            f"{report.failed} rows failed (retried next run), "
            f"{report.missing} records missing in the CRM (parked)"
        )


def _deliver(
    adapter: Destination, client: Any, batch: list[SyncRow]
) -> list[tuple[SyncRow, RowError | None]]:
    """Send a batch; if the CRM rejects it for some record's values, halve it to find them.

    HubSpot rejects a whole batch for one invalid value; bisecting costs extra calls only in
    that case (about 2·log2(n) per bad row) and keeps one bad row from blocking the other 99.
    A rejection of the request itself (unknown property, auth) is raised: it would fail
    every batch, so the run stops instead.
    """
    try:
        result: BatchResult = adapter.send(client, batch)
    except RequestRejected as exc:
        if not exc.per_record:
            raise
        if len(batch) == 1:
            return [(batch[0], RowError(exc.category or "REJECTED", str(exc)))]
        middle = len(batch) // 2
        return _deliver(adapter, client, batch[:middle]) + _deliver(adapter, client, batch[middle:])
    return [
        (
            row,
            None
            if row.record_id in result.confirmed
            else result.errors.get(row.record_id, UNCONFIRMED),
        )
        for row in batch
    ]


def _settle(
    warehouse: Path, report: SyncReport, outcome: list[tuple[SyncRow, RowError | None]]
) -> None:
    confirmed = [row for row, error in outcome if error is None]
    failed = [(row, error) for row, error in outcome if error is not None]
    state.record_batch(
        warehouse,
        run_id=report.run_id,
        destination=report.destination,
        confirmed=confirmed,
        failed=failed,
    )
    report.confirmed += len(confirmed)
    for row, error in failed:
        if error.missing:
            report.missing += 1
        else:
            report.failed += 1
        if len(report.failures) < METADATA_SAMPLE:
            report.failures.append(
                {
                    "record_id": row.record_id,
                    "account_id": row.account_id,
                    "category": error.category,
                    "message": error.message,
                    "missing": error.missing,
                }
            )


def _fill_plan(report: SyncReport, plan: Plan) -> None:
    report.candidates = plan.candidates
    report.unmapped = plan.unmapped
    report.parked = plan.parked
    report.changed = len(plan.changed)
    report.change_share = plan.change_share


def _record_dry_run(
    con: duckdb.DuckDBPyConnection,
    adapter: Destination,
    plan: Plan,
    report: SyncReport,
    valve: str,
) -> None:
    records = [(row, adapter.payload(row)) for row in plan.changed]
    state.record_dry_run(con, run_id=report.run_id, destination=adapter.name, records=records)
    report.status = "dry_run"
    report.would_send = [
        {"record_id": row.record_id, "account_id": row.account_id, "payload": payload}
        for row, payload in records
    ]
    report.message = (
        f"DRY RUN ({adapter.credentials} not set or dry run requested): nothing sent; "
        f"{len(records)} records that would be sent are in {state.SCHEMA}.dry_run_records"
        + (f". Note: {valve}" if valve else "")
    )
    log.warning("%s: %s", adapter.name, report.message)


def _run_summary(report: SyncReport, started_at: datetime) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "destination": report.destination,
        "dry_run": report.dry_run,
        "status": report.status,
        "started_at": started_at,
        "finished_at": state.utc_now(),
        "candidates": report.candidates,
        "changed": report.changed,
        "sent": report.sent,
        "confirmed": report.confirmed,
        "failed": report.failed,
        "missing": report.missing,
        "parked": report.parked,
        "api_calls": report.api_calls,
        "rate_limited": report.rate_limited,
        "elapsed_s": report.elapsed_s,
        "message": report.message,
    }


def _counts(report: SyncReport) -> str:
    return (
        f"candidates={report.candidates} changed={report.changed} sent={report.sent} "
        f"confirmed={report.confirmed} failed={report.failed} missing={report.missing} "
        f"api_calls={report.api_calls} 429s={report.rate_limited} "
        f"elapsed={report.elapsed_s:.2f}s"
    )
