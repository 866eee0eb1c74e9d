"""The product database as a source: dlt's `sql_table` over any SQLAlchemy URL, with the tables
and columns the `product_db` section maps onto the contract (see `product_db_mapping`).

Rows are read as Arrow batches of the mapped SELECT (foreign names, JSON properties and
soft-delete filters resolved by the database) and land in the same `raw.raw_<entity>` tables as
files, through the same validation: a row that breaks the contract goes to `raw_quarantine`
with its reason. `_source_file` names the table (`product_db:<schema>.<table>`), `_source_row`
counts rows in the order one run read them.

Events load incrementally on the configured cursor (dlt's incremental, state committed with the
load): a run reads only rows at or after the last cursor value and drops the ones at that value
it loaded before. Rows without a cursor value are read on every run, so they are quarantined
(once) rather than lost. Every other entity is a snapshot, replaced on every run. A new
warehouse (or a dropped events table) starts the cursor over.

Whom users and events belong to: with `tables.organizations`, their account_id is the product's
organisation id, and dbt's `int_account_identity` maps each organisation to a CRM account; with
`tables.accounts`, the product database is the system of record and its ids are account ids
(load it before the files then: their rows are checked against the accounts in the warehouse).
The mapped entities are this source's alone: the file source must be told not to load them
(`owned_entities`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import dlt
import numpy as np
import pyarrow as pa
import sqlalchemy as sa
from dlt.extract.resource import DltResource
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.sources.sql_database import sql_table
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from ingestion.api_settings import SectionReader
from ingestion.contract import ENTITY_BY_NAME, Entity
from ingestion.file_reader import MALFORMED_SCHEMA, SOURCE_ROW, RawFile
from ingestion.file_source import (
    QUARANTINE_TABLE,
    LoadReport,
    add_quarantine_variant,
    timestamp_hints,
    warehouse_pipeline,
)
from ingestion.product_db_mapping import (
    CURSOR,
    DEFAULT_URL_ENV,
    PRODUCT_ORGANIZATIONS,
    SECTION,
    BoundTable,
    ProductDbConfig,
    bind,
    connect,
    database_message,
    parse_section,
)
from ingestion.sources_config import SourceConfigError
from ingestion.validation import Batch, Validator, references_accounts
from ingestion.warehouse_history import WarehouseHistory

__all__ = ["check", "load_product_db", "owned_entities"]

PIPELINE_NAME = "healthscore_product_db"
SOURCE_NAME = "product_db"
ROWS_SUFFIX = "_rows"  # the sql_table resource under each entity; it holds the cursor state

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def owned_entities(section: Mapping[str, Any]) -> tuple[str, ...]:
    """The contract entities this section loads; no other source may load them too."""
    config = parse_section(section)
    return tuple(t.entity.name for t in config.tables if t.entity.name in ENTITY_BY_NAME)


def check(section: Mapping[str, Any]) -> list[str]:
    """Every problem with the section, its URL and its tables, columns and filters."""
    try:
        config = parse_section(section)
        engine = connect(_url(section), config.url_env)
        try:
            bind(config, engine)
        finally:
            engine.dispose()
    except SourceConfigError as error:
        return str(error).splitlines()
    return []


def load_product_db(
    section: Mapping[str, Any],
    warehouse: Path,
    *,
    progress: Progress | None = None,
    pipelines_dir: Path | None = None,
) -> LoadReport:
    """Load the mapped tables into the `raw` dataset of the DuckDB `warehouse`.

    Configuration is checked in full before anything is read: SourceConfigError names the
    setting of each problem (wrong URL, unknown table or column, rejected SQL).
    """
    started = time.perf_counter()
    config = parse_section(section)
    engine = connect(_url(section), config.url_env)
    try:
        tables = bind(config, engine)
        report = LoadReport()
        pipeline = warehouse_pipeline(PIPELINE_NAME, warehouse, pipelines_dir)
        if pipeline.has_pending_data:  # `run` would only finish it and read nothing new
            _say(progress, "finishing the load a previous run left pending")
            pipeline.normalize()
            pipeline.load()
        _forget_cursors_of_lost_tables(pipeline, tables)
        try:
            pipeline.run(_source(_Load(engine, config, tables, report, progress)))
        except PipelineStepFailed as failed:
            problem = _read_failure(failed, tables)
            if problem is None:
                raise
            raise SourceConfigError(problem) from failed
    finally:
        engine.dispose()
    report.elapsed_seconds = time.perf_counter() - started
    log.info("product database load finished: %s", report.summary())
    return report


@dlt.source(name=SOURCE_NAME)
def _source(load: Any) -> list[DltResource]:
    """Per mapped entity, its validated rows; and an empty table of the organisations the
    product database does not map, so no stale ones feed identity resolution."""
    resources = [r for bound in load.tables for r in load.resources(bound)]
    if load.config.owner.entity is not PRODUCT_ORGANIZATIONS:
        resources.append(load.empty_table(PRODUCT_ORGANIZATIONS))
    return resources


def _url(section: Mapping[str, Any]) -> str:
    reader = SectionReader(SECTION, dict(section))
    url = reader.secret("url", DEFAULT_URL_ENV)
    reader.finish()
    return url


class _CursorHistory(WarehouseHistory):
    """The warehouse as validation sees it for rows read by cursor: the cursor never delivers a
    loaded row again, so no row is 'already loaded from this file' (a file source notion that
    would otherwise read back every row this table ever loaded)."""

    def loaded_rows(self, entity: Entity, source_file: str) -> pa.Table:
        return pa.table({})


class _Load:
    """State shared by the resources of one run: engine, validator, row numbers."""

    def __init__(
        self,
        engine: Engine,
        config: ProductDbConfig,
        tables: list[BoundTable],
        report: LoadReport,
        progress: Progress | None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.tables = tables
        self.report = report
        self.progress = progress
        self.validator = Validator(quarantined_at=datetime.now(UTC))
        self._rows_read: dict[str, int] = {}
        self._accounts_known = False

    @cached_property
    def history(self) -> WarehouseHistory:
        return _CursorHistory(dlt.current.pipeline(), QUARANTINE_TABLE)

    def resources(self, bound: BoundTable) -> list[DltResource]:
        entity = bound.mapping.entity
        incremental = (
            dlt.sources.incremental(CURSOR, on_cursor_value_missing="include")
            if entity.incremental
            else None
        )
        rows = sql_table(
            credentials=self.engine,
            table=bound.table.name,
            metadata=bound.table.metadata,
            chunk_size=self.config.chunk_size,
            backend="pyarrow",
            reflection_level="minimal",  # types come from the data: mapped SQL has none
            table_adapter_callback=lambda _table: bound.select,
            incremental=incremental,
        ).with_name(entity.name + ROWS_SUFFIX)

        def land(chunk: pa.Table) -> Iterator[Any]:
            yield from self.land(bound, chunk)

        landed = dlt.transformer(land, data_from=rows, name=entity.name)
        return [_contract(landed, entity), self.empty_table(entity)]

    def empty_table(self, entity: Entity) -> DltResource:
        """A typed table without rows: creates the table on a first run that reads none (models
        select from it) and empties a snapshot whose source has no rows left."""
        self._know_accounts_for(entity)
        empty = self.validator.validate(entity, RawFile.empty()).valid
        return _contract(dlt.resource([empty], name=f"{entity.name}_columns"), entity)

    def land(self, bound: BoundTable, chunk: pa.Table) -> Iterator[Any]:
        entity = bound.mapping.entity
        self._know_accounts_for(entity)
        history = self.history if entity.incremental else None
        batch = self.validator.validate(entity, self._numbered(bound, chunk), history)
        self.report.add(entity, batch)
        self._tell(entity, batch)
        yield batch.valid
        yield dlt.mark.with_table_name(batch.quarantine, QUARANTINE_TABLE)

    def _know_accounts_for(self, entity: Entity) -> None:
        """The ids users and events may name are the owner table's as of this run (rows of a
        soft-deleted organisation are quarantined, not attributed); read once, before the
        first row that needs them, whatever order dlt runs resources in."""
        if self._accounts_known or not references_accounts(entity):
            return
        owner = next(t for t in self.tables if t.mapping is self.config.owner)
        id_column = owner.select.c[owner.mapping.entity.unique_key[0]]
        with self.engine.connect() as connection:
            ids = connection.execute(sa.select(id_column).distinct()).scalars()
            known = pa.array([str(v) for v in ids if v is not None], pa.string())
        self.validator.set_known_accounts(pa.chunked_array([known], pa.string()))
        self._accounts_known = True

    def _numbered(self, bound: BoundTable, chunk: pa.Table) -> RawFile:
        name = bound.mapping.entity.name
        first = self._rows_read.get(name, 0) + 1
        self._rows_read[name] = first - 1 + chunk.num_rows
        if CURSOR in chunk.column_names:
            chunk = chunk.drop_columns([CURSOR])
        rows = pa.array(np.arange(first, first + chunk.num_rows, dtype=np.int64))
        origin = f"{SOURCE_NAME}:{bound.table.fullname}"
        return RawFile(
            origin, chunk.append_column(SOURCE_ROW, rows), MALFORMED_SCHEMA.empty_table()
        )

    def _tell(self, entity: Entity, batch: Batch) -> None:
        message = (
            f"{entity.name}: {batch.source_file}: {batch.valid.num_rows} rows, "
            f"{batch.quarantine.num_rows} quarantined"
        )
        log.info(message)
        _say(self.progress, message)


def _contract(resource: DltResource, entity: Entity) -> DltResource:
    """Hints as the file source gives them: the entity's table, its quarantine variant."""
    disposition = "append" if entity.incremental else "replace"
    resource.apply_hints(table_name=entity.table, write_disposition=disposition)
    add_quarantine_variant(resource)
    resource.apply_hints(columns=timestamp_hints(entity))
    return resource


def _forget_cursors_of_lost_tables(pipeline: dlt.Pipeline, tables: list[BoundTable]) -> None:
    """A cursor whose table is gone from the warehouse (a new warehouse file, a dropped table)
    would skip every row it passed; start it over instead, as the file source does."""
    incremental = [t.mapping.entity for t in tables if t.mapping.entity.incremental]
    if not incremental:
        return
    history = WarehouseHistory(pipeline, QUARANTINE_TABLE)
    lost = [e for e in incremental if not history.has_table(e.table)]
    resources = pipeline.state.get("sources", {}).get(SOURCE_NAME, {}).get("resources", {})
    if not any(e.name + ROWS_SUFFIX in resources for e in lost):
        return
    with pipeline.managed_state() as state:
        kept = state["sources"][SOURCE_NAME]["resources"]
        for entity in lost:
            if kept.pop(entity.name + ROWS_SUFFIX, None) is not None:
                log.warning(
                    "%s is gone from the warehouse: reading it from the start", entity.table
                )


def _read_failure(failed: PipelineStepFailed, tables: list[BoundTable]) -> str | None:
    """The table setting to blame when the database refused to read it: mapped SQL that passes
    the no-rows probe can still fail on a row (a cast of a value that is not a number)."""
    settings = {t.mapping.entity.name + ROWS_SUFFIX: t.mapping.setting for t in tables}
    pipe, error = None, failed.__cause__ or failed.__context__
    while error is not None and not isinstance(error, DBAPIError):
        pipe = getattr(error, "pipe_name", pipe)
        error = error.__cause__ or error.__context__
    if error is None or pipe not in settings:
        return None
    return f"{settings[pipe]}: the database failed reading the rows: {database_message(error)}"


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
