"""A product database whose schema is not ours, filled from a generated dataset.

The generated contract files are written into PostgreSQL the way a SaaS product would hold
them: organisations with integer ids, a website instead of a domain and a CRM id only for some;
members; an `activity` table with a `jsonb` properties column and a `timestamptz` time; soft
deletes everywhere. Connected through the `product_db` section of `sources.example.yml`, the
product database must deliver exactly the dataset the files deliver, plus rows that only a
foreign database can hold:

- soft-deleted organisations, members and activity (never read),
- activity of a soft-deleted organisation (quarantined: unknown account),
- an organisation no CRM account matches, and one whose CRM id names no CRM account,
- properties that are not a count (quarantined: not a number, below the minimum).

Events whose time the files spell invalidly are kept with a NULL time (quarantined: missing).
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg2
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.dataset as ds
import yaml

HOST, PORT, USER = "127.0.0.1", 5432, "postgres"
SCHEMA = "app"
EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "sources.example.yml"

DDL = f"""
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.organizations (
    id bigint PRIMARY KEY,
    org_name text NOT NULL,
    website text,
    plan text,
    hubspot_company_id text,
    deleted_at timestamptz
);
CREATE TABLE {SCHEMA}.members (
    id bigint PRIMARY KEY,
    org_id bigint NOT NULL,
    email text,
    role_name text,
    is_exec boolean,
    joined_at timestamptz,
    deleted_at timestamptz
);
CREATE TABLE {SCHEMA}.activity (
    id bigserial PRIMARY KEY,
    uuid text NOT NULL,
    org_id bigint NOT NULL,
    actor_id bigint,
    kind text,
    happened_at timestamptz,
    props jsonb NOT NULL DEFAULT '{{}}',
    deleted_at timestamptz
);
"""
INDEXES = f"CREATE INDEX activity_happened_at ON {SCHEMA}.activity (happened_at);"
ACTIVITY_COLUMNS = ("uuid", "org_id", "actor_id", "kind", "happened_at", "props", "deleted_at")
# Websites spelled the ways people type them; each still normalises to the CRM's domain.
WEBSITES = ("https://www.{}/login", "http://{}", "www.{}", "{}/", "HTTPS://{}:443/?ref=crm")
GHOST_ORG, TYPO_ORG, GONE_ORG = 990_001, 990_002, 990_003
UNKNOWN_ORG = 900_000  # + n: organisations the files' orphan events name


@dataclass(frozen=True)
class ForeignDataset:
    """What the writer put in the database besides the dataset itself."""

    org_of_account: dict[str, int]
    gone_org_events: int  # activity of the soft-deleted organisation
    bad_props: dict[str, int]  # quarantine rule → rows planted
    null_times: int  # activity whose time the files spell invalidly


def database_url(database: str) -> str:
    return f"postgresql+psycopg2://{USER}@{HOST}:{PORT}/{database}"


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new, empty database (its SQLAlchemy URL), dropped afterwards."""
    name = f"healthscore_test_{secrets.token_hex(4)}"
    _admin(f"CREATE DATABASE {name}")
    try:
        yield database_url(name)
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def example_section(**overrides: Any) -> dict[str, Any]:
    """The documented `product_db` section, which maps exactly this schema."""
    section = yaml.safe_load(EXAMPLE_CONFIG.read_text())["product_db"]
    return {**section, **overrides}


def write_dataset(url: str, source_dir: Path) -> ForeignDataset:
    """Create the foreign schema and fill it from the contract files in `source_dir`."""
    # Ids are text whatever they look like (a CRM's company ids are numbers).
    ids = pa_csv.ConvertOptions(column_types=dict.fromkeys(("account_id", "user_id"), pa.string()))
    accounts = pa_csv.read_csv(source_dir / "accounts.csv", convert_options=ids).to_pylist()
    users = pa_csv.read_csv(source_dir / "users.csv", convert_options=ids).to_pylist()
    events = ds.dataset(source_dir / "events").to_table().to_pylist()
    # Organisation ids unrelated to CRM ids and to the file's order.
    org_of_account = {a["account_id"]: 1000 + 7 * i for i, a in enumerate(reversed(accounts))}
    orgs = [
        (
            org_of_account[a["account_id"]],
            a["name"],
            WEBSITES[i % len(WEBSITES)].format(a["domain"]),
            a["segment"],
            a["account_id"] if i % 2 == 0 else None,  # the rest match by domain
            None,
        )
        for i, a in enumerate(accounts)
    ]
    now = datetime(2026, 1, 1)
    orgs += [
        (GHOST_ORG, "Ghost Labs", "https://ghost-labs.example", "smb", None, None),
        (TYPO_ORG, "Typo Inc", None, "smb", "A99999", None),
        (GONE_ORG, "Gone Corp", "gone.example", "smb", accounts[0]["account_id"], now),
    ]
    member_of_user = {u["user_id"]: 10 * (i + 1) for i, u in enumerate(users)}
    members = [
        (
            member_of_user[u["user_id"]],
            org_of_account[u["account_id"]],
            u["email"],
            u["role"],
            u["is_executive"],
            u["created_at"],
            None,
        )
        for u in users
    ]
    members.append(
        (5, org_of_account[accounts[0]["account_id"]], "left@x.example", "admin", True, now, now)
    )
    unknown = sorted({e["account_id"] for e in events} - org_of_account.keys())
    org_of_account_or_orphan = org_of_account | {a: UNKNOWN_ORG + i for i, a in enumerate(unknown)}
    activity = [
        (
            e["event_id"],
            org_of_account_or_orphan[e["account_id"]],
            member_of_user.get(e["user_id"]),
            e["event_name"],
            _iso_or_none(e["occurred_at"]),
            json.dumps({"count": json.loads(e["quantity"])} if e["quantity"] else {}),
            None,
        )
        for e in events
    ]
    null_times = sum(1 for row in activity if row[4] is None)
    template = next(row for row in activity if row[4] is not None)
    planted = [
        _variant(template, "ghost-1", GHOST_ORG),
        _variant(template, "ghost-2", GHOST_ORG),
        _variant(template, "gone-1", GONE_ORG),
        _variant(template, "deleted-1", deleted_at=now),
        _variant(template, "deleted-2", deleted_at=now),
        _variant(template, "bad-count-1", props={"count": "lots"}),
        _variant(template, "bad-count-2", props={"count": -2}),
    ]
    with sql_cursor(url) as cursor:
        cursor.execute(DDL)
        _copy(
            cursor,
            "organizations",
            ("id", "org_name", "website", "plan", "hubspot_company_id", "deleted_at"),
            orgs,
        )
        _copy(
            cursor,
            "members",
            ("id", "org_id", "email", "role_name", "is_exec", "joined_at", "deleted_at"),
            members,
        )
        _copy(cursor, "activity", ACTIVITY_COLUMNS, activity + planted)
        cursor.execute(INDEXES)
    return ForeignDataset(
        org_of_account=org_of_account,
        gone_org_events=1,
        bad_props={"invalid_number": 1, "below_minimum": 1},
        null_times=null_times,
    )


def add_day(url: str) -> int:
    """Copy the newest day's live activity to the day after it, with new ids; rows added."""
    with sql_cursor(url) as cursor:
        cursor.execute(
            f"""
            INSERT INTO {SCHEMA}.activity (uuid, org_id, actor_id, kind, happened_at, props)
            SELECT uuid || '+1d', org_id, actor_id, kind, happened_at + interval '1 day', props
            FROM {SCHEMA}.activity
            WHERE deleted_at IS NULL
              AND happened_at >= date_trunc('day', (SELECT max(happened_at) FROM {SCHEMA}.activity))
            """
        )
        return cursor.rowcount


def _variant(
    row: tuple[Any, ...],
    uuid: str,
    org: int | None = None,
    *,
    deleted_at: datetime | None = None,
    props: dict[str, Any] | None = None,
) -> tuple[Any, ...]:
    """A copy of an activity row with a new id and some values changed."""
    _, org_id, actor, kind, happened, same_props, _ = row
    return (
        f"planted-{uuid}",
        org_id if org is None else org,
        actor,
        kind,
        happened,
        same_props if props is None else json.dumps(props),
        deleted_at,
    )


def _iso_or_none(text: str) -> str | None:
    """The contract's reading of a timestamp (no zone is UTC), or None when it is invalid."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.isoformat() if moment.tzinfo else moment.isoformat() + "+00:00"


def _copy(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow(["\\N" if v is None else _text(v) for v in row])
    buffer.seek(0)
    cursor.copy_expert(
        f"COPY {SCHEMA}.{table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
        buffer,
    )


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@contextmanager
def sql_cursor(url: str) -> Iterator[Any]:
    """An autocommitting cursor whose session reads zone-less times as UTC, as the contract does."""
    connection = psycopg2.connect(host=HOST, port=PORT, user=USER, dbname=url.rsplit("/", 1)[1])
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SET TimeZone = 'UTC'")
            yield cursor
    finally:
        connection.close()


def _admin(sql: str) -> None:
    with sql_cursor(database_url("postgres")) as cursor:
        cursor.execute(sql)
