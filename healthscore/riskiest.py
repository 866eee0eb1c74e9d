"""The riskiest-accounts table the demo ends with: what a CS lead would look at first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

STATUS_STYLE = {"red": "bold red", "yellow": "yellow", "green": "green"}
STATUS_ORDER = "case health_status when 'red' then 0 when 'yellow' then 1 else 2 end"


@dataclass(frozen=True)
class RiskyAccount:
    account_id: str
    account_name: str
    segment: str
    arr: float | None
    health_score: float | None
    health_status: str
    health_trend: str
    score_change_30d: float | None
    drivers: str | None


@dataclass(frozen=True)
class StatusShare:
    status: str
    accounts: int
    share: float


def riskiest_accounts(warehouse: Path, limit: int = 10) -> list[RiskyAccount]:
    """Current customers, red first, lowest score first; ties broken by ARR at stake."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"""
            select account_id, account_name, segment, arr, health_score, health_status,
                   health_trend, score_change_30d, drivers_text
            from main.account_health_current
            where health_status <> 'insufficient_data'
            order by {STATUS_ORDER}, health_score, arr desc nulls last, account_id
            limit ?
            """,
            [limit],
        ).fetchall()
    return [RiskyAccount(*row) for row in rows]


def status_shares(warehouse: Path) -> list[StatusShare]:
    """How current customers split across colours (published status, overrides included)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """
            select health_status, count(*), count(*) / sum(count(*)) over ()
            from main.account_health_current
            group by health_status
            order by health_status
            """
        ).fetchall()
    return [StatusShare(status, int(n), float(share)) for status, n, share in rows]


def render(accounts: list[RiskyAccount], shares: list[StatusShare]) -> None:
    """Print the table with rich; colours carry the status so the eye finds red first."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Riskiest accounts today", show_lines=False)
    for column in ("account", "segment", "ARR", "score", "status", "trend", "30d", "drivers"):
        table.add_column(column, overflow="fold")
    for account in accounts:
        change = account.score_change_30d
        table.add_row(
            f"{account.account_name} ({account.account_id})",
            account.segment,
            f"{account.arr:,.0f}" if account.arr is not None else "",
            f"{account.health_score:.1f}" if account.health_score is not None else "",
            f"[{STATUS_STYLE.get(account.health_status, '')}]{account.health_status}[/]",
            account.health_trend,
            f"{change:+.1f}" if change is not None else "",
            account.drivers or "",
        )
    console = Console()
    if not console.is_terminal:  # piped or under make: the default 80 columns fold every cell
        console = Console(width=170)
    console.print(table)
    console.print(
        "Current customers: "
        + ", ".join(f"{s.status} {s.accounts} ({s.share:.0%})" for s in shares)
    )
