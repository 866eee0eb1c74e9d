"""Strict typing of raw rows against the contract, and quarantine of the rows that break it.

All checks are SQL over whole files in an in-memory DuckDB (TRY_CAST behind regular expressions
that pin the accepted spellings), so millions of rows are checked without a Python loop per row.

A row is quarantined for the first rule it breaks, in this order: its own values (per column
in contract order; the reason lists every bad field, `field` names the first), an account_id
that is not a known account, then a repeated unique key (the first row in file and row order
is kept). Rules: missing_required, invalid_<kind>, below_minimum, above_maximum, not_allowed,
unknown_account_id, duplicate_key, and malformed_row for a row the reader could not split.
Blank values (empty or whitespace) count as missing; text values are otherwise kept as given.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import pyarrow as pa

from ingestion.contract import Column, Entity, Kind
from ingestion.file_reader import SOURCE_ROW, RawFile, quiet_connection
from ingestion.sql_text import ident, literal

ACCOUNTS = "accounts"
ACCOUNT_ID = "account_id"
SOURCE_FILE = "_source_file"
EXTRA = "_extra"

QUARANTINE_SCHEMA = pa.schema(
    [
        ("entity", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("field", pa.string()),
        ("rule", pa.string()),
        ("reason", pa.string()),
        ("raw_record", pa.string()),
        ("quarantined_at", pa.timestamp("us")),  # UTC, like every timestamp loaded
    ]
)

# Accepted spellings. DuckDB's casts alone are too lenient ('0x10', 'inf', '2025-1-1', zone
# names), so each typed value must first match one of these.
_INTEGER = r"[+-]?\d+(\.0*)?"  # 3.0 is integral: float-typed exports write it
_POINT_ZEROS = r"\.0*$"
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_DATE = r"\d{4}-\d{2}-\d{2}"
_TIMESTAMP = _DATE + r"([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?"
_TRUE = "('true', '1', 'yes')"
_FALSE = "('false', '0', 'no')"

_NOT_A = {
    Kind.INTEGER: "an integer",
    Kind.NUMBER: "a number",
    Kind.BOOLEAN: "a boolean (true/false/1/0/yes/no)",
    Kind.TIMESTAMP: "an ISO-8601 timestamp",
    Kind.DATE: "an ISO-8601 date (YYYY-MM-DD)",
}


class History(Protocol):
    """What earlier loads of an append-only entity left in the warehouse, asked per file."""

    def loaded_keys(self, entity: Entity, keys: pa.Table) -> pa.Table:
        """Those of `keys` (unique-key columns) already loaded, from any file."""

    def loaded_rows(self, entity: Entity, source_file: str) -> pa.Table:
        """Contract columns of the rows already loaded from `source_file`."""

    def quarantined_records(self, entity: Entity, source_file: str) -> pa.Table:
        """The `raw_record` of every row already quarantined from `source_file`."""


@dataclass(frozen=True)
class Batch:
    """One file's outcome: typed rows to load and rows to quarantine."""

    source_file: str
    valid: pa.Table
    quarantine: pa.Table
    already_loaded: int  # rows of a changed file that an earlier load already holds


def references_accounts(entity: Entity) -> bool:
    return entity.name != ACCOUNTS and any(c.name == ACCOUNT_ID for c in entity.columns)


class Validator:
    """Checks files of one load; remembers the keys it accepted so repeats across files count.

    Each `validate` call finishes its file before returning, so callers may interleave entities
    (dlt extracts resources round-robin) as long as they do not share the validator across
    threads.
    """

    def __init__(self, quarantined_at: datetime) -> None:
        self._con = quiet_connection()
        self._con.execute("SET TimeZone = 'UTC'")  # a timestamp without a zone is UTC
        utc = quarantined_at.astimezone(UTC).replace(tzinfo=None)
        self._quarantined_at = f"TIMESTAMP {literal(utc.isoformat())}"
        self._registered: list[str] = []  # Arrow inputs of the file being validated

    def set_known_accounts(self, account_ids: pa.ChunkedArray) -> None:
        self._con.register("known_accounts_arrow", pa.table({ACCOUNT_ID: account_ids}))
        self._con.execute(
            "CREATE OR REPLACE TEMP TABLE known_accounts AS SELECT DISTINCT account_id "
            "FROM known_accounts_arrow WHERE account_id IS NOT NULL"
        )
        self._con.unregister("known_accounts_arrow")

    def validate(self, entity: Entity, raw: RawFile, history: History | None = None) -> Batch:
        """Type and check one file. With `history`, rows an earlier load of the same file
        already delivered are dropped (see `_drop_already_loaded`) and keys are checked against
        the warehouse too."""
        con = self._con
        self._register("input_arrow", raw.table)
        self._register("malformed", raw.malformed)
        try:
            con.execute(_text_view(raw))
            con.execute(_checked_table(entity, raw))
            already_loaded = self._drop_already_loaded(entity, raw, history) if history else 0
            if references_accounts(entity):
                self._mark(
                    "unknown_account_id",
                    ACCOUNT_ID,
                    f"unknown {ACCOUNT_ID}",
                    "NOT EXISTS (SELECT 1 FROM known_accounts k "
                    "WHERE k.account_id = checked.account_id)",
                )
            if entity.unique_key:
                self._mark_duplicates(entity, history)
            return Batch(
                source_file=raw.path,
                valid=self._valid(entity, raw.path),
                quarantine=self._quarantine(entity, raw, history),
                already_loaded=already_loaded,
            )
        finally:
            while self._registered:
                con.unregister(self._registered.pop())

    def _register(self, name: str, table: pa.Table) -> None:
        self._con.register(name, table)
        self._registered.append(name)

    def _mark(self, rule: str, field: str, reason: str, condition: str) -> None:
        self._con.execute(
            f"UPDATE checked SET _rule = {literal(rule)}, _field = {literal(field)}, "
            f"_reason = {literal(reason)} WHERE _rule IS NULL AND ({condition})"
        )

    def _drop_already_loaded(self, entity: Entity, raw: RawFile, history: History) -> int:
        """A changed file is read again in full. A row that an earlier load of the same file
        already delivered, i.e. with equal values in every contract column, is not loaded again;
        equal rows are counted, so a file that held two identical rows and now holds three loads
        one. Every other row is new and checked like any row: an event whose values changed
        under an event_id already loaded is a duplicate, not an update."""
        loaded = history.loaded_rows(entity, raw.path)
        if not loaded.num_rows:
            return 0
        self._register("loaded_rows", loaded)
        values = _cols(c.name for c in entity.columns)
        same = " AND ".join(
            f"c.{ident(c.name)} IS NOT DISTINCT FROM l.{ident(c.name)}" for c in entity.columns
        )
        deleted = self._con.execute(
            f"""
            DELETE FROM checked WHERE {SOURCE_ROW} IN (
                SELECT c.{SOURCE_ROW}
                FROM (SELECT *, row_number() OVER (PARTITION BY {values} ORDER BY {SOURCE_ROW}) AS n
                      FROM checked WHERE _rule IS NULL) c
                JOIN (SELECT *, row_number() OVER (PARTITION BY {values}) AS n FROM loaded_rows) l
                  ON {same} AND c.n = l.n)
            """
        )
        return deleted.fetchall()[0][0]  # fetching also completes the statement

    def _mark_duplicates(self, entity: Entity, history: History | None) -> None:
        con, key = self._con, _cols(entity.unique_key)
        present = _all_present(entity.unique_key)
        seen = ident(f"seen_{entity.name}")
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {seen} AS SELECT {key} FROM checked LIMIT 0")
        loaded = ""
        if history:
            candidates = con.sql(
                f"SELECT DISTINCT {key} FROM checked WHERE _rule IS NULL AND {present}"
            ).to_arrow_table()
            self._register("loaded_keys", history.loaded_keys(entity, candidates))
            loaded = f"OR ({key}) IN (SELECT ({key}) FROM loaded_keys)"
        self._mark(
            "duplicate_key",
            entity.unique_key[0],
            f"duplicate {', '.join(entity.unique_key)}",
            f"""{SOURCE_ROW} IN (
                SELECT {SOURCE_ROW} FROM (
                    SELECT {SOURCE_ROW}, {key},
                           row_number() OVER (PARTITION BY {key} ORDER BY {SOURCE_ROW}) AS n
                    FROM checked WHERE _rule IS NULL AND {present}) d
                WHERE n > 1 OR ({key}) IN (SELECT ({key}) FROM {seen}) {loaded})
            """,
        )
        con.execute(
            f"INSERT INTO {seen} SELECT {key} FROM checked WHERE _rule IS NULL AND {present}"
        )

    def _valid(self, entity: Entity, source_file: str) -> pa.Table:
        columns = _cols([c.name for c in entity.columns])
        return self._con.sql(
            f"SELECT {columns}, {EXTRA}, {literal(source_file)} AS {SOURCE_FILE}, {SOURCE_ROW} "
            f"FROM checked WHERE _rule IS NULL ORDER BY {SOURCE_ROW}"
        ).to_arrow_table()

    def _quarantine(self, entity: Entity, raw: RawFile, history: History | None) -> pa.Table:
        head = f"{literal(entity.name)} AS entity, {literal(raw.path)} AS source_file"
        quarantined = f"""
            SELECT {head}, c.{SOURCE_ROW} AS source_row, c._field AS field, c._rule AS rule,
                   c._reason AS reason, {_json_object(raw.columns, "t")} AS raw_record
            FROM checked c JOIN input_text t USING ({SOURCE_ROW}) WHERE c._rule IS NOT NULL
            UNION ALL
            SELECT {head}, {SOURCE_ROW}, NULL, 'malformed_row', problem, to_json(text)::VARCHAR
            FROM malformed
        """
        where = ""
        before = history.quarantined_records(entity, raw.path) if history else None
        if before is not None and before.num_rows:
            self._register("quarantined_before", before)
            where = "WHERE raw_record NOT IN (SELECT raw_record FROM quarantined_before)"
        table = self._con.sql(
            f"SELECT *, {self._quarantined_at} AS quarantined_at FROM ({quarantined}) {where} "
            "ORDER BY source_row"
        ).to_arrow_table()
        return table.cast(QUARANTINE_SCHEMA)


def _cols(names: Iterable[str]) -> str:
    return ", ".join(ident(n) for n in names)


def _all_present(names: Iterable[str]) -> str:
    return " AND ".join(f"{ident(n)} IS NOT NULL" for n in names)


def _json_object(names: list[str], alias: str) -> str:
    if not names:
        return "NULL::VARCHAR"
    pairs = ", ".join(f"{literal(n)}, {alias}.{ident(n)}" for n in names)
    return f"json_object({pairs})::VARCHAR"


def _text_view(raw: RawFile) -> str:
    """Every column as text, as the source spelled it: native Parquet values become their
    canonical text (nested ones JSON) so that one set of parsers serves every format."""
    types = dict(zip(raw.table.column_names, raw.table.schema.types, strict=True))

    def as_text(name: str) -> str:
        kind = types[name]
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return ident(name)
        if pa.types.is_nested(kind):
            return f"to_json({ident(name)})::VARCHAR AS {ident(name)}"
        return f"CAST({ident(name)} AS VARCHAR) AS {ident(name)}"

    columns = "".join(f", {as_text(n)}" for n in raw.columns)
    return (
        f"CREATE OR REPLACE TEMP VIEW input_text AS SELECT {SOURCE_ROW}{columns} FROM input_arrow"
    )


def _checked_table(entity: Entity, raw: RawFile) -> str:
    """One row per input row: typed contract values, `_extra`, and the rules the row breaks."""
    present = set(raw.columns)
    extras = [n for n in raw.columns if n not in {c.name for c in entity.columns}]
    texts, typed, ruled, fields, reasons = [], [], [], [], []
    for i, column in enumerate(entity.columns):
        x, t, v, r = f"__x{i}", f"__t{i}", f"__v{i}", f"__r{i}"
        source = ident(column.name) if column.name in present else "NULL::VARCHAR"
        texts.append(f"{source} AS {x}, NULLIF(trim({source}), '') AS {t}")
        typed.append(f"{_parse(column.kind, t, x)} AS {v}")
        checks = _checks(column, t, v, x)
        whens = " ".join(f"WHEN {cond} THEN {_or_null(rule)}" for cond, rule, _ in checks)
        ruled.append(f"CASE {whens} END AS {r}")
        fields.append(f"WHEN {r} IS NOT NULL THEN {literal(column.name)}")
        said = " ".join(
            f"WHEN {literal(rule)} THEN {literal(column.name + ': ')} || {message}"
            for _, rule, message in checks
            if rule
        )
        if said:
            reasons.append(f"CASE {r} {said} END")
    values = ", ".join(f"__v{i} AS {ident(c.name)}" for i, c in enumerate(entity.columns))
    return f"""
        CREATE OR REPLACE TEMP TABLE checked AS
        WITH texts AS (
            SELECT {SOURCE_ROW}, {_json_object(extras, "input_text")} AS {EXTRA}, {", ".join(texts)}
            FROM input_text
        ),
        typed AS (SELECT *, {", ".join(typed)} FROM texts),
        ruled AS (SELECT *, {", ".join(ruled)} FROM typed)
        SELECT {SOURCE_ROW}, {values}, {EXTRA},
               coalesce({", ".join(f"__r{i}" for i in range(len(entity.columns)))}) AS _rule,
               CASE {" ".join(fields)} END AS _field,
               NULLIF(concat_ws('; ', {", ".join(reasons or ["NULL"])}), '') AS _reason
        FROM ruled
    """


def _parse(kind: Kind, t: str, x: str) -> str:
    """The typed value of trimmed text `t` (NULL when blank or unparseable)."""
    if kind is Kind.STRING:
        return f"CASE WHEN {t} IS NOT NULL THEN {x} END"
    if kind is Kind.INTEGER:
        integral = f"TRY_CAST(regexp_replace({t}, '{_POINT_ZEROS}', '') AS BIGINT)"
        return f"CASE WHEN regexp_full_match({t}, '{_INTEGER}') THEN {integral} END"
    if kind is Kind.NUMBER:
        number = f"TRY_CAST({t} AS DOUBLE)"
        matches = f"regexp_full_match({t}, '{_NUMBER}')"
        return f"CASE WHEN {matches} AND isfinite({number}) THEN {number} END"
    if kind is Kind.BOOLEAN:
        return (
            f"CASE WHEN lower({t}) IN {_TRUE} THEN true WHEN lower({t}) IN {_FALSE} THEN false END"
        )
    if kind is Kind.TIMESTAMP:
        # Stored as UTC without a zone, so no session time zone can move a day boundary later.
        utc = f"timezone('UTC', TRY_CAST({t} AS TIMESTAMPTZ))"
        return f"CASE WHEN regexp_full_match({t}, '{_TIMESTAMP}') THEN {utc} END"
    return f"CASE WHEN regexp_full_match({t}, '{_DATE}') THEN TRY_CAST({t} AS DATE) END"


def _checks(column: Column, t: str, v: str, x: str) -> list[tuple[str, str | None, str]]:
    """(condition, rule, reason as SQL) in the order they are tried; the first that holds wins.

    A blank optional value holds the first condition with no rule, so nothing else is tried.
    """
    quote = literal("'")
    shown = f"{quote} || left({x}, 100) || {quote}"
    checks: list[tuple[str, str | None, str]] = [
        (
            f"{t} IS NULL",
            "missing_required" if column.required else None,
            literal("required value is missing"),
        ),
    ]
    if column.kind is not Kind.STRING:
        checks.append(
            (
                f"{v} IS NULL",
                f"invalid_{column.kind}",
                f"{shown} || {literal(' is not ' + _NOT_A[column.kind])}",
            )
        )
    if column.minimum is not None:
        checks.append(
            (
                f"{v} < {column.minimum}",
                "below_minimum",
                f"{shown} || {literal(f' is below the minimum {column.minimum:g}')}",
            )
        )
    if column.maximum is not None:
        checks.append(
            (
                f"{v} > {column.maximum}",
                "above_maximum",
                f"{shown} || {literal(f' is above the maximum {column.maximum:g}')}",
            )
        )
    if column.allowed:
        checks.append(
            (
                f"{v} NOT IN ({', '.join(map(literal, column.allowed))})",
                "not_allowed",
                f"{shown} || {literal(' is not one of ' + ', '.join(column.allowed))}",
            )
        )
    return checks


def _or_null(rule: str | None) -> str:
    return literal(rule) if rule else "NULL"
