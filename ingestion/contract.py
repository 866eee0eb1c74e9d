"""The file contract of DESIGN §4, as data.

One declaration serves the demo generator (what to write), the file source (what to parse and
quarantine) and the tests, so the three can never disagree about a column or a type.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """Logical column types; the file source parses each strictly."""

    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # ISO-8601; no zone means UTC; stored as UTC
    DATE = "date"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[str, ...] | None = None
    unique: bool = False  # a repeated value is a duplicate row; blanks are exempt


@dataclass(frozen=True)
class Entity:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] | None = None
    required_entity: bool = False
    incremental: bool = False  # append-only facts loaded file by file

    @property
    def table(self) -> str:
        return f"raw_{self.name}"

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def unique_key(self) -> tuple[str, ...]:
        """The columns whose repeated values make a row a duplicate (empty: none do).

        The primary key where there is one; append-only facts without one name the column that
        identifies a row when the source provides it (events may come without an event_id).
        """
        return self.primary_key or tuple(c.name for c in self.columns if c.unique)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


S, INT, N, B, T, D = Kind.STRING, Kind.INTEGER, Kind.NUMBER, Kind.BOOLEAN, Kind.TIMESTAMP, Kind.DATE

ENTITIES: tuple[Entity, ...] = (
    Entity(
        "accounts",
        (
            Column("account_id", S, required=True),
            Column("name", S, required=True),
            Column("domain", S),
            Column("segment", S),
            Column("owner_email", S),
            Column("owner_id", S),
            Column("arr", N, minimum=0),
            Column("seats", INT, minimum=0),
            Column("created_at", T),
            Column("parent_account_id", S),
            Column("archived_at", T),  # deleted in the source system: kept, but not scored
        ),
        primary_key=("account_id",),
        required_entity=True,
    ),
    Entity(
        "users",
        (
            Column("user_id", S, required=True),
            Column("account_id", S, required=True),
            Column("email", S),
            Column("role", S),
            Column("is_executive", B),
            Column("created_at", T),
        ),
        primary_key=("user_id",),
    ),
    Entity(
        "events",
        (
            Column("account_id", S, required=True),
            Column("event_name", S, required=True),
            Column("occurred_at", T, required=True),
            Column("user_id", S),
            Column("event_id", S, unique=True),
            Column("quantity", N, minimum=0),
        ),
        required_entity=True,
        incremental=True,
    ),
    Entity(
        "features",
        (
            Column("event_name", S, required=True),
            Column("feature", S),
            Column("is_core", B),
        ),
        primary_key=("event_name",),
    ),
    Entity(
        "tickets",
        (
            Column("ticket_id", S, required=True),
            Column("account_id", S, required=True),
            Column("created_at", T, required=True),
            Column("priority", S),
            Column("status", S),
            Column("solved_at", T),
            Column("subject", S),
            Column("body", S),
            Column("satisfaction", INT, minimum=1, maximum=5),
            Column("sentiment", N, minimum=-1, maximum=1),
        ),
        primary_key=("ticket_id",),
    ),
    Entity(
        "nps_responses",
        (
            Column("account_id", S, required=True),
            Column("score", INT, required=True, minimum=0, maximum=10),
            Column("responded_at", T, required=True),
            Column("user_id", S),
            Column("comment", S),
        ),
    ),
    Entity(
        "email_events",
        (
            Column("account_id", S, required=True),
            Column("event_type", S, required=True, allowed=("sent", "open", "click", "reply")),
            Column("occurred_at", T, required=True),
            Column("contact_email", S),
        ),
    ),
    Entity(
        "meetings",
        (
            Column("account_id", S, required=True),
            Column("started_at", T, required=True),
            Column("meeting_type", S),
            Column("attended", B),
            Column("executive_attended", B),
        ),
    ),
    Entity(
        "contracts",
        (
            Column("contract_id", S, required=True),
            Column("account_id", S, required=True),
            Column("start_date", D, required=True),
            Column("end_date", D, required=True),
            Column("arr", N, minimum=0),
            Column("outcome", S, allowed=("renewed", "churned", "open")),
            Column("outcome_date", D),
        ),
        primary_key=("contract_id",),
        required_entity=True,
    ),
    Entity(
        "overrides",
        (
            Column("account_id", S, required=True),
            Column("status", S, required=True, allowed=("green", "yellow", "red")),
            Column("reason", S, required=True),
            Column("expires_at", T, required=True),
            Column("set_by", S),
        ),
    ),
)

ENTITY_BY_NAME: dict[str, Entity] = {e.name: e for e in ENTITIES}
