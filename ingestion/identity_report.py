"""Identity resolution in figures: how product organisations matched CRM accounts, and which did
not, with the reason. For Dagster metadata beside `int_account_identity` and for people: an
organisation that matched nothing (or several accounts) has its usage left out of scoring, and
someone has to fix the CRM id or domain that would place it.
"""

from __future__ import annotations

from typing import Any

import duckdb

MODEL = "main.int_account_identity"


def identity_report(connection: duckdb.DuckDBPyConnection, limit: int = 25) -> dict[str, Any]:
    """Counts by status and by method, and up to `limit` unresolved rows (ambiguous first)."""
    counts = connection.execute(
        f"SELECT match_status, match_method, count(*) FROM {MODEL} GROUP BY ALL"
    ).fetchall()
    unresolved = connection.execute(
        f"""
        SELECT source_account_id, organization_name, organization_domain, crm_account_id,
               match_status, unresolved_reason
        FROM {MODEL}
        WHERE match_status <> 'matched'
        ORDER BY match_status, source_account_id
        LIMIT ?
        """,
        [limit],
    ).fetchall()
    by_status: dict[str, int] = {}
    matched_by: dict[str, int] = {}
    for status, method, n in counts:
        by_status[status] = by_status.get(status, 0) + n
        if status == "matched":
            matched_by[method] = n
    columns = ("source_account_id", "name", "domain", "crm_account_id", "status", "reason")
    return {
        "organizations": sum(by_status.values()),
        "matched": by_status.get("matched", 0),
        "ambiguous": by_status.get("ambiguous", 0),
        "unmatched": by_status.get("unmatched", 0),
        "matched_by": dict(sorted(matched_by.items())),
        "unresolved": [dict(zip(columns, row, strict=True)) for row in unresolved],
    }
