"""The `product_db` section of the sources file: which foreign tables and columns hold the
contract's entities, checked against the database before anything is read.

Every mistake is reported with the setting that holds it (`product_db.tables.events.cursor`),
because the person fixing it edits that file, not this code. Checks run in two passes, each
listing every problem it finds: the shape of the section (no database needed), then each table,
column, expression and filter against the live schema, so a typo fails the run in a second
instead of after a long read.

A column map value is a column of the table, or else a SQL expression in the database's own
dialect (`props->>'count'`); a bare name that is not a column is a typo, not an expression.
Contract columns left out of the map are read from a column of the same name when the table
has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, NoSuchTableError

from ingestion.api_settings import SectionReader
from ingestion.contract import ENTITY_BY_NAME, Column, Entity, Kind
from ingestion.sources_config import SourceConfigError

SECTION = "product_db"
DEFAULT_URL_ENV = "HEALTHSCORE_PRODUCT_DB_URL"
DEFAULT_CHUNK_SIZE = 50_000
CURSOR = "_cursor"  # the cursor column's name in the mapped SELECT

# Product organisations are not a contract entity: their ids key the product's users and
# events, and dbt's int_account_identity matches each to a CRM account.
PRODUCT_ORGANIZATIONS = Entity(
    "product_organizations",
    (
        Column("organization_id", Kind.STRING, required=True),
        Column("name", Kind.STRING),
        Column("domain", Kind.STRING),
        Column("crm_account_id", Kind.STRING),
    ),
    primary_key=("organization_id",),
)
# Config key → entity. `organizations` and `accounts` are the two ways to say whom the
# product's users and events belong to: organisations matched to CRM accounts, or accounts
# of which the product database is itself the system of record.
ENTITY_KEYS: dict[str, Entity] = {"organizations": PRODUCT_ORGANIZATIONS, **ENTITY_BY_NAME}
OWNERS = ("organizations", "accounts")

_SECTION_KEYS = ("enabled", "url_env", "schema", "chunk_size", "tables")
_TABLE_KEYS = ("table", "columns", "filter", "cursor")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass(frozen=True)
class TableMapping:
    """One entity's table as configured; `columns` maps contract column → column or SQL."""

    key: str
    entity: Entity
    table: str
    columns: Mapping[str, str]
    filter: str | None = None
    cursor: str | None = None

    @property
    def setting(self) -> str:
        return f"{SECTION}.tables.{self.key}"


@dataclass(frozen=True)
class ProductDbConfig:
    url_env: str
    schema: str | None
    chunk_size: int
    tables: tuple[TableMapping, ...]

    @property
    def owner(self) -> TableMapping:
        """The table whose ids the product's other rows carry as account_id."""
        return next(t for t in self.tables if t.key in OWNERS)


@dataclass(frozen=True)
class BoundTable:
    """A mapping checked against the database: its SELECT yields contract-named columns."""

    mapping: TableMapping
    table: sa.Table
    select: sa.Subquery  # contract columns (+ CURSOR), filtered; what sql_table reads from


def parse_section(section: Mapping[str, Any]) -> ProductDbConfig:
    """The section's shape, checked without a database; SourceConfigError lists every problem."""
    reader = SectionReader(SECTION, dict(section))
    _unknown_keys(reader, _SECTION_KEYS)
    url_env = reader.text("url_env", DEFAULT_URL_ENV) or DEFAULT_URL_ENV
    schema = reader.text("schema")
    chunk_size = reader.values.get("chunk_size", DEFAULT_CHUNK_SIZE)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        reader.problem("chunk_size", f"expected a positive integer, got {chunk_size!r}")
    tables = reader.part("tables")
    if not tables.values:
        reader.problem("tables", f"required: entity → table (entities: {', '.join(ENTITY_KEYS)})")
    mappings = tuple(
        mapping for key in tables.values if (mapping := _parse_table(tables, key)) is not None
    )
    owners = [key for key in tables.values if key in OWNERS]
    if tables.values and len(owners) != 1:
        reader.problem(
            "tables",
            "map exactly one of organizations (matched to CRM accounts) or accounts (the "
            f"product database is the system of record); found {', '.join(owners) or 'neither'}",
        )
    reader.finish()
    return ProductDbConfig(url_env, schema, chunk_size, mappings)


def connect(url: str, url_env: str) -> Engine:
    """An engine that has connected once. Messages never repeat the URL's password."""
    setting = f"{SECTION}.url_env"
    try:
        engine = sa.create_engine(url)
    except NoSuchModuleError as error:
        raise SourceConfigError(f"{setting}: {url_env} names an unknown dialect: {error}") from None
    except ArgumentError:
        raise SourceConfigError(
            f"{setting}: {url_env} is not a SQLAlchemy URL "
            "(dialect+driver://user:password@host:port/database)"
        ) from None
    try:
        with engine.connect():
            pass
    except DBAPIError as error:
        where = engine.url.render_as_string(hide_password=True)
        raise SourceConfigError(
            f"{setting}: cannot connect to {where} ({url_env}): {database_message(error)}"
        ) from None
    return engine


def bind(config: ProductDbConfig, engine: Engine) -> list[BoundTable]:
    """Every table, column, expression and filter checked against the database."""
    inspector = sa.inspect(engine)
    schemas = inspector.get_schema_names()
    if config.schema is not None and config.schema not in schemas:
        raise SourceConfigError(
            f"{SECTION}.schema: no schema '{config.schema}' (found: {', '.join(sorted(schemas))})"
        )
    metadata = sa.MetaData(schema=config.schema)
    problems: list[str] = []
    bound = [_bind_table(m, metadata, engine, problems) for m in config.tables]
    if problems:
        raise SourceConfigError("\n".join(problems))
    return [b for b in bound if b is not None]


def _parse_table(tables: SectionReader, key: str) -> TableMapping | None:
    if key not in ENTITY_KEYS:
        tables.problem(key, f"unknown entity (one of {', '.join(ENTITY_KEYS)})")
        return None
    reader = tables.part(key)
    _unknown_keys(reader, _TABLE_KEYS)
    entity = ENTITY_KEYS[key]
    table = reader.text("table")
    if table is None:
        reader.problem("table", "required: the table (or view) to read")
    columns = reader.part("columns")
    contract = [c.name for c in entity.columns]
    for name in columns.values:
        if name not in contract:
            columns.problem(name, f"not a column of {key} ({', '.join(contract)})")
    sources = _texts(columns, contract)
    cursor = reader.text("cursor")
    if entity.incremental and cursor is None:
        reader.problem(
            "cursor", f"required: the column {key} load incrementally by (a time or rising id)"
        )
    if cursor is not None and not entity.incremental:
        reader.problem("cursor", f"{key} are replaced on every load; only events take a cursor")
    filter_ = reader.text("filter")
    return TableMapping(key, entity, table or "", sources, filter_, cursor)


def _texts(columns: SectionReader, contract: list[str]) -> dict[str, str]:
    """The column map's values: each a column name or SQL text."""
    return {
        name: text for name in columns.values if name in contract and (text := columns.text(name))
    }


def _unknown_keys(reader: SectionReader, known: tuple[str, ...]) -> None:
    for key in reader.values:
        if key not in known:
            reader.problem(key, f"unknown setting (one of {', '.join(known)})")


def _bind_table(
    mapping: TableMapping, metadata: sa.MetaData, engine: Engine, problems: list[str]
) -> BoundTable | None:
    table = _reflect(mapping, metadata, engine, problems)
    if table is None:
        return None
    before = len(problems)
    sources: dict[str, str] = {}  # contract column → the source column or SQL it is read from
    selected: list[sa.ColumnElement[Any]] = []
    for column in mapping.entity.columns:
        source = mapping.columns.get(column.name)
        if source is None and column.name in table.c:
            source = column.name
        if source is None:
            if column.required:
                problems.append(
                    f"{mapping.setting}.columns.{column.name}: required, and table "
                    f"{table.name} has no column {column.name} to read it from by default"
                )
            continue
        expression = _source_expression(mapping, column.name, source, table, engine, problems)
        sources[column.name] = source
        selected.append(expression)
    query = sa.select(*selected)
    if mapping.cursor:
        cursor = _cursor_column(mapping, table, sources, problems)
        query = query if cursor is None else query.add_columns(cursor.label(CURSOR))
    if mapping.filter:
        condition = sa.text(mapping.filter)
        probe = sa.select(sa.literal(1)).select_from(table).where(condition)
        _probe(engine, probe, f"{mapping.setting}.filter", problems)
        query = query.where(condition)
    if len(problems) > before:
        return None
    return BoundTable(mapping, table, query.select_from(table).subquery(table.name))


def _reflect(
    mapping: TableMapping, metadata: sa.MetaData, engine: Engine, problems: list[str]
) -> sa.Table | None:
    try:
        return sa.Table(mapping.table, metadata, autoload_with=engine)
    except NoSuchTableError:
        inspector = sa.inspect(engine)
        schema = metadata.schema
        found = inspector.get_table_names(schema) + inspector.get_view_names(schema)
        problems.append(
            f"{mapping.setting}.table: no table or view '{mapping.table}'"
            f"{f' in schema {schema}' if schema else ''} (found: {', '.join(sorted(found))})"
        )
        return None


def _source_expression(
    mapping: TableMapping,
    name: str,
    source: str,
    table: sa.Table,
    engine: Engine,
    problems: list[str],
) -> sa.ColumnElement[Any]:
    if source in table.c:
        return table.c[source].label(name)
    setting = f"{mapping.setting}.columns.{name}"
    if _IDENTIFIER.fullmatch(source):
        problems.append(f"{setting}: column '{source}' not in table {table.name}")
    else:
        _probe(engine, sa.select(sa.literal_column(source)).select_from(table), setting, problems)
    return sa.literal_column(source).label(name)


def _cursor_column(
    mapping: TableMapping, table: sa.Table, sources: Mapping[str, str], problems: list[str]
) -> sa.Column[Any] | None:
    setting = f"{mapping.setting}.cursor"
    cursor = str(mapping.cursor)
    if cursor not in table.c:
        problems.append(f"{setting}: column '{cursor}' not in table {table.name}")
        return None
    column = table.c[cursor]
    # Rows without a cursor value are read on every run (dlt's `include`). One whose cursor is
    # a required contract column is quarantined, once; any other is kept from loading twice
    # only by its event_id.
    required = {sources.get(c.name) for c in mapping.entity.columns if c.required}
    if column.nullable and cursor not in required and "event_id" not in sources:
        problems.append(
            f"{setting}: column '{cursor}' may be null; map event_id too, or use a cursor "
            "that is never null (rows without a cursor value are read on every run)"
        )
    return column


def _probe(engine: Engine, query: sa.Select[Any], setting: str, problems: list[str]) -> None:
    """Run `query` for no rows, so SQL the database rejects is reported by its setting."""
    try:
        with engine.connect() as connection:
            connection.execute(query.limit(0)).close()
    except DBAPIError as error:
        problems.append(f"{setting}: rejected by the database: {database_message(error)}")


def database_message(error: DBAPIError) -> str:
    """The driver's first line: it names the problem (never the URL's password)."""
    return str(error.orig).strip().splitlines()[0] if error.orig else str(error)
