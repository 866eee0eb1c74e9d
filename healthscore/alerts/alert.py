"""One alert as the dbt model `fct_health_alerts` publishes it (DESIGN §9).

The column list is declared once here so the outbox table, the copy from the model and the
renderers cannot drift apart when the model gains a column.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# (column, SQL type) of the model contract; drivers are numbered driver_1_* … driver_3_*.
ALERT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("alert_id", "varchar"),
    ("account_id", "varchar"),
    ("account_name", "varchar"),
    ("alert_kind", "varchar"),
    ("alert_date", "date"),
    ("segment", "varchar"),
    ("owner_id", "varchar"),
    ("owner_email", "varchar"),
    ("arr", "double"),
    ("renewal_date", "date"),
    ("score_before", "double"),
    ("score_after", "double"),
    ("status_before", "varchar"),
    ("status_after", "varchar"),
    ("crm_company_id", "varchar"),
    *(
        (f"driver_{i}_{part}", kind)
        for i in (1, 2, 3)
        for part, kind in (
            ("signal", "varchar"),
            ("text", "varchar"),
            ("before", "double"),
            ("after", "double"),
        )
    ),
    ("config_version", "varchar"),
)

_DRIVER_KEY = re.compile(r"^driver_(\d+)_signal$")


@dataclass(frozen=True)
class Driver:
    signal: str
    text: str | None
    before: float | None
    after: float | None


@dataclass(frozen=True)
class Alert:
    alert_id: str
    account_id: str
    account_name: str | None
    alert_kind: str
    alert_date: dt.date
    segment: str | None
    owner_id: str | None
    owner_email: str | None
    arr: float | None
    renewal_date: dt.date | None
    score_before: float | None
    score_after: float | None
    status_before: str | None
    status_after: str | None
    crm_company_id: str | None
    config_version: str | None
    drivers: tuple[Driver, ...]

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Alert:
        """Build from a model/outbox row; drivers are read for every numbered driver present,
        so a model that publishes more than three keeps working."""
        numbers = sorted(int(m.group(1)) for k in row if (m := _DRIVER_KEY.match(k)))
        drivers = tuple(
            Driver(
                signal=row[f"driver_{i}_signal"],
                text=row.get(f"driver_{i}_text"),
                before=row.get(f"driver_{i}_before"),
                after=row.get(f"driver_{i}_after"),
            )
            for i in numbers
            if row.get(f"driver_{i}_signal")
        )
        fields = {n: row.get(n) for n, _ in ALERT_COLUMNS if not n.startswith("driver_")}
        fields["alert_date"] = _as_date(fields["alert_date"])
        if fields["renewal_date"] is not None:
            fields["renewal_date"] = _as_date(fields["renewal_date"])
        return cls(drivers=drivers, **fields)

    @property
    def score_change(self) -> float | None:
        if self.score_before is None or self.score_after is None:
            return None
        return self.score_after - self.score_before


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
