"""Deliberately bad rows, planted in small exact numbers so loader tests can count them.

Every planted row is an extra copy of a clean row (then broken), never a change to one, so the
clean data is the same with and without dirt. Accounts and contracts stay clean: a score needs
them loadable.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

# Planted rows per kind (fewer only if the entity has fewer rows to copy).
DIRT = {
    "events_duplicate": 25,  # exact copy of an event row, event_id included
    "events_unknown_account": 15,  # account_id not in accounts
    "events_bad_timestamp": 8,  # occurred_at that is not a valid ISO-8601 timestamp
    "nps_out_of_range": 4,  # score 11 or -1
    "tickets_missing_account_id": 2,  # required account_id is null
}
BAD_TIMESTAMPS = ("2025-13-45T10:00:00Z", "not a date", "2024-02-30T25:61:00", "31/12/2024 10:00")


def _sample(rng: np.random.Generator, rows: int, kind: str) -> np.ndarray:
    """Sorted row positions to copy for one kind of dirt."""
    return np.sort(rng.choice(rows, size=min(DIRT[kind], rows), replace=False))


def _replace(table: pa.Table, column: str, values: pa.Array | list) -> pa.Table:
    index = table.schema.get_field_index(column)
    return table.set_column(index, column, pa.array(values, table.schema.field(index).type))


def _labels(kind: str, count: int) -> list[str]:
    return [f"dirt-{kind.replace('_', '-')}-{i + 1:04d}" for i in range(count)]


def plant_event_dirt(
    rng: np.random.Generator, events: pa.Table, seconds: np.ndarray, accounts: int
) -> tuple[pa.Table, np.ndarray, dict[str, int]]:
    """Duplicates, orphans and unparseable timestamps, each kept in its source row's month;
    returned re-ordered by time with the seconds used for partitioning."""
    parts, moments, counts = [events], [seconds], {}
    for kind in ("events_duplicate", "events_unknown_account", "events_bad_timestamp"):
        rows = _sample(rng, len(events), kind)
        copy = events.take(pa.array(rows))
        if kind == "events_unknown_account":
            copy = _replace(
                copy, "account_id", [f"A{accounts + 101 + i:05d}" for i in range(len(rows))]
            )
        if kind == "events_bad_timestamp":
            bad = [BAD_TIMESTAMPS[i % len(BAD_TIMESTAMPS)] for i in range(len(rows))]
            copy = _replace(copy, "occurred_at", bad)
        if kind != "events_duplicate":
            copy = _replace(copy, "event_id", _labels(kind, len(rows)))
        parts.append(copy)
        moments.append(seconds[rows])
        counts[kind] = len(rows)
    moment = np.concatenate(moments)
    order = np.argsort(moment, kind="stable")
    return pa.concat_tables(parts).take(pa.array(order)), moment[order], counts


def plant_nps_dirt(rng: np.random.Generator, nps: pa.Table) -> tuple[pa.Table, dict[str, int]]:
    kind = "nps_out_of_range"
    copy = nps.take(pa.array(_sample(rng, len(nps), kind)))
    copy = _replace(copy, "score", [(11, -1)[i % 2] for i in range(len(copy))])
    return pa.concat_tables([nps, copy]), {kind: len(copy)}


def plant_ticket_dirt(
    rng: np.random.Generator, tickets: pa.Table
) -> tuple[pa.Table, dict[str, int]]:
    kind = "tickets_missing_account_id"
    copy = tickets.take(pa.array(_sample(rng, len(tickets), kind)))
    copy = _replace(copy, "account_id", [None] * len(copy))
    copy = _replace(copy, "ticket_id", _labels(kind, len(copy)))
    return pa.concat_tables([tickets, copy]), {kind: len(copy)}
