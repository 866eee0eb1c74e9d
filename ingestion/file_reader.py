"""Finding an entity's files in a source folder and reading each into Arrow, untyped.

Reading does not judge values: every format arrives as a table of the file's own columns plus
`_source_row`, and the validator decides what each value means. Rows that cannot even be split
into columns (a CSV row with the wrong number of fields, a JSON Lines line that is not an object)
come back separately so they can be quarantined instead of failing the file.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ingestion.contract import Entity
from ingestion.sql_text import ident, literal

log = logging.getLogger(__name__)

SUFFIXES = (".csv", ".parquet", ".jsonl", ".ndjson")
SOURCE_ROW = "_source_row"
MALFORMED_SCHEMA = pa.schema(
    [(SOURCE_ROW, pa.int64()), ("text", pa.string()), ("problem", pa.string())]
)


class ContractError(ValueError):
    """A folder or file breaks the contract as a whole, so no row of it can be trusted."""


@dataclass(frozen=True)
class RawFile:
    """One file as read: `table` holds its columns (any Arrow type) and `_source_row`."""

    path: str  # relative to the source folder, POSIX style: the lineage everyone sees
    table: pa.Table
    malformed: pa.Table  # rows that could not be split into columns (MALFORMED_SCHEMA)

    @classmethod
    def empty(cls) -> RawFile:
        """No columns, no rows: validates to an empty table of the contract's types."""
        return cls("", _numbered(pa.table({})), _no_malformed())

    @property
    def columns(self) -> list[str]:
        return [name for name in self.table.column_names if name != SOURCE_ROW]


def entity_files(source_dir: Path, entity: Entity) -> list[Path]:
    """`<entity>.<suffix>` files and the part files under `<entity>/`, in a stable order.

    Every match is loaded, so a folder holding both `accounts.csv` and `accounts/` loads both.
    """
    singles = [source_dir / f"{entity.name}{suffix}" for suffix in SUFFIXES]
    found = [path for path in singles if path.is_file()]
    folder = source_dir / entity.name
    if folder.is_dir():
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if path.suffix.lower() in SUFFIXES:
                found.append(path)
            elif not path.name.startswith((".", "_")):
                log.warning("ignoring %s: not one of %s", path.relative_to(source_dir), SUFFIXES)
    return found


def file_digest(path: Path) -> str:
    """Content hash that tells an unchanged part file from one that grew or was rewritten."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_raw(source_dir: Path, path: Path, entity: Entity) -> RawFile:
    """Read one file; a file that is unreadable or lacks a required column is a ContractError."""
    relative = path.relative_to(source_dir).as_posix()
    readers = {".csv": _read_csv, ".parquet": _read_parquet}
    try:
        table, malformed = readers.get(path.suffix.lower(), _read_json_lines)(path)
    except (ValueError, pa.ArrowException, duckdb.Error, OSError, csv.Error) as exc:
        raise ContractError(f"{relative}: cannot be read as {path.suffix[1:]}: {exc}") from exc
    raw = RawFile(relative, table, malformed)
    if table.num_rows or malformed.num_rows:
        for name in entity.required_columns:
            if name not in raw.columns:
                raise ContractError(f"{relative}: missing required column '{name}'")
    return raw


def quiet_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that does not draw progress bars over the caller's output."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _row_numbers(count: int) -> pa.Array:
    return pa.array(np.arange(1, count + 1, dtype=np.int64))


def _numbered(table: pa.Table, rows: pa.Array | None = None) -> pa.Table:
    return table.append_column(SOURCE_ROW, _row_numbers(table.num_rows) if rows is None else rows)


def _no_malformed() -> pa.Table:
    return MALFORMED_SCHEMA.empty_table()


def _read_csv(path: Path) -> tuple[pa.Table, pa.Table]:
    """CSV rows are numbered as data rows: the header and blank lines are not counted, and a
    quoted value spanning lines is one row.

    Every column is read as text; empty cells stay empty strings for the validator to judge.
    """
    with path.open(newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
    if header is None:
        return pa.table({SOURCE_ROW: pa.array([], pa.int64())}), _no_malformed()
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise ValueError(f"duplicate column(s) {', '.join(duplicated)}")
    bad: list[tuple[int, str, str]] = []

    def skip_invalid(row: pa_csv.InvalidRow) -> str:
        problem = f"row has {row.actual_columns} fields, the header has {row.expected_columns}"
        bad.append((row.number - 1, row.text, problem))  # row.number counts the header
        return "skip"

    table = pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(use_threads=False),  # row numbers need one thread
        parse_options=pa_csv.ParseOptions(
            newlines_in_values=True, invalid_row_handler=skip_invalid
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False
        ),
    )
    malformed = pa.Table.from_pylist(
        [dict(zip(MALFORMED_SCHEMA.names, row, strict=True)) for row in bad],
        schema=MALFORMED_SCHEMA,
    )
    if not bad:
        return _numbered(table), malformed
    all_rows = _row_numbers(table.num_rows + len(bad))
    kept = pc.invert(pc.is_in(all_rows, malformed[SOURCE_ROW]))
    return _numbered(table, all_rows.filter(kept)), malformed


def _read_parquet(path: Path) -> tuple[pa.Table, pa.Table]:
    """Parquet rows are numbered by position; columns keep their native types."""
    return _numbered(pq.read_table(path)), _no_malformed()


def _read_json_lines(path: Path) -> tuple[pa.Table, pa.Table]:
    """JSON Lines rows are numbered by line; blank lines are skipped but still counted.

    Values come back as text (nested values as JSON), so a field that is a number on one line
    and a string on the next cannot break the read.
    """
    text = pa.array([path.read_text(encoding="utf-8-sig")], pa.large_string())
    lines = pc.list_flatten(pc.split_pattern(text, "\n"))
    numbered = pa.table({"line": pc.utf8_rtrim(lines, "\r"), SOURCE_ROW: _row_numbers(len(lines))})
    con = quiet_connection()
    try:
        con.register("lines", numbered)
        con.execute(
            """
            CREATE TEMP TABLE parsed AS
            SELECT _source_row, line,
                   CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END
                       AS is_object
            FROM lines WHERE trim(line) <> ''
            """
        )
        malformed = con.sql(
            "SELECT _source_row, line AS text, 'line is not a JSON object' AS problem "
            "FROM parsed WHERE NOT is_object ORDER BY _source_row"
        ).to_arrow_table()
        keys = con.sql(
            "SELECT DISTINCT unnest(json_keys(line)) AS k FROM parsed WHERE is_object ORDER BY k"
        ).fetchall()
        fields = "".join(
            f", json_extract_string(line, {literal(_json_path(k))}) AS {ident(k)}" for (k,) in keys
        )
        table = con.sql(
            f"SELECT _source_row{fields} FROM parsed WHERE is_object ORDER BY _source_row"
        ).to_arrow_table()
    finally:
        con.close()
    return table.select([*table.column_names[1:], SOURCE_ROW]), malformed.cast(MALFORMED_SCHEMA)


def _json_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
