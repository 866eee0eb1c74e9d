"""What the delivery engine needs from a destination (Slack, a CRM's tasks).

Neither Slack posts nor CRM creates take an idempotency key, so a channel must say which of two
kinds of failure happened: `Rejected` (the destination refused; nothing exists; sending again
later is safe) or anything else (the outcome is unknown; the engine will `find` the alert id at
the destination before it sends again).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol


class Rejected(Exception):
    """The destination answered and created nothing: a failed delivery, retried next run."""


@dataclass(frozen=True)
class Receipt:
    external_ref: str  # Slack ts, CRM task id, or "dry-run"
    payload: dict[str, Any]  # what was (or would have been) sent, minus credentials


class Channel(Protocol):
    name: str  # the `channel` column of alerts.deliveries
    subject: str  # "alert" for customer alerts, "hold" for the storm-guard summary
    dry_run: bool  # no credentials: record what would be sent, send nothing

    def route(self, subject: Any) -> str | None:
        """Where this subject goes (Slack conversation, CRM owner); None: nowhere configured."""

    def send(self, subject: Any, destination: str | None) -> Receipt:
        """Create it once, stamped with the subject's id; raise Rejected or anything else."""

    def find(self, key: str, destination: str, attempted_at: dt.datetime) -> str | None:
        """The external ref of something already created for `key` by an earlier attempt."""
