"""The file source of DESIGN §4 as a dlt source, and `load_files`, which runs it into the warehouse.

Every entity loads into `raw.raw_<entity>` with typed contract columns (timestamps in UTC,
stored without a zone) plus `_extra` (columns outside the contract, as JSON), `_source_file`
(relative to the source folder) and `_source_row` (see `file_reader` for how each format numbers
rows). Rows that break the contract go to `raw.raw_quarantine` instead, with the rule they break
and a reason a person can act on.

Snapshot entities are replaced on every run, so the folder is the truth (a missing optional
entity therefore leaves an empty table, and is reported). Append-only entities (events) load
file by file: the dlt resource state, committed atomically with the load, remembers each file's
content hash, so an unchanged file is skipped, a new one loads in full and a changed one loads
only rows not loaded before (rule in `Validator._drop_already_loaded`). Rows of a changed file
that were quarantined before are not quarantined again; rows of snapshot entities are checked,
and quarantined, on every run.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.schema.typing import TColumnSchema
from dlt.extract.resource import DltResource
from dlt.pipeline.exceptions import PipelineStepFailed

from healthscore import settings
from ingestion.contract import ENTITIES, ENTITY_BY_NAME, Entity, Kind
from ingestion.file_reader import (
    SUFFIXES,
    ContractError,
    RawFile,
    entity_files,
    file_digest,
    read_raw,
)
from ingestion.sentiment import ticket_sentiment
from ingestion.validation import ACCOUNT_ID, ACCOUNTS, Batch, Validator, references_accounts
from ingestion.warehouse_history import WarehouseHistory

__all__ = [
    "ContractError",
    "LoadReport",
    "add_quarantine_variant",
    "file_source",
    "files_pipeline",
    "load_files",
    "timestamp_hints",
    "warehouse_pipeline",
]

PIPELINE_NAME = "healthscore_files"
DATASET_NAME = "raw"
QUARANTINE_TABLE = "raw_quarantine"
TICKETS = "tickets"

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class LoadReport:
    """What one load did: for the CLI, Dagster metadata and tests."""

    rows_loaded: dict[str, int] = field(default_factory=dict)
    rows_quarantined: dict[str, dict[str, int]] = field(default_factory=dict)  # entity→rule→n
    rows_already_loaded: dict[str, int] = field(default_factory=dict)  # in changed files
    files_loaded: list[str] = field(default_factory=list)
    files_skipped: list[str] = field(default_factory=list)  # unchanged since their last load
    missing_entities: list[str] = field(default_factory=list)
    elapsed_seconds: float = 0.0

    def add(self, entity: Entity, batch: Batch) -> None:
        name = entity.name
        self.rows_loaded[name] = self.rows_loaded.get(name, 0) + batch.valid.num_rows
        if batch.already_loaded:
            already = self.rows_already_loaded.get(name, 0)
            self.rows_already_loaded[name] = already + batch.already_loaded
        rules = self.rows_quarantined.setdefault(name, {})
        for counted in pc.value_counts(batch.quarantine["rule"]).to_pylist():
            rules[counted["values"]] = rules.get(counted["values"], 0) + counted["counts"]
        if batch.source_file not in self.files_loaded:  # an API lands many pages per endpoint
            self.files_loaded.append(batch.source_file)

    def summary(self) -> str:
        loaded = sum(self.rows_loaded.values())
        quarantined = sum(n for rules in self.rows_quarantined.values() for n in rules.values())
        lines = [
            f"{loaded} rows loaded, {quarantined} quarantined, "
            f"{len(self.files_loaded)} files loaded, {len(self.files_skipped)} unchanged, "
            f"in {self.elapsed_seconds:.1f}s"
        ]
        lines += [
            f"  {entity}: {rule}: {n}"
            for entity, rules in self.rows_quarantined.items()
            for rule, n in rules.items()
        ]
        if self.missing_entities:
            lines.append(f"  missing optional entities: {', '.join(self.missing_entities)}")
        return "\n".join(lines)


def load_files(
    source_dir: Path,
    warehouse: Path,
    *,
    progress: Progress | None = None,
    pipelines_dir: Path | None = None,
    entities: Collection[str] | None = None,
) -> LoadReport:
    """Load a folder of contract files into the `raw` dataset of the DuckDB `warehouse`.

    `entities` names those the folder delivers (default: all); the others belong to other
    sources (sources.yml decides) and are neither read, required nor replaced here.

    A ContractError (a required entity missing, a file unreadable or missing a required column)
    stops the whole run before anything is written: loading a snapshot without one of its part
    files would silently drop its rows downstream, which is worse than loading nothing.
    """
    started = time.perf_counter()
    report = LoadReport()
    pipeline = files_pipeline(warehouse, pipelines_dir)
    source = file_source(source_dir, report=report, progress=progress, entities=entities)
    try:
        if pipeline.has_pending_data:  # `run` would only finish it and skip the new files
            _say(progress, "finishing the load a previous run left pending")
            pipeline.normalize()
            pipeline.load()
        pipeline.run(source)
    except PipelineStepFailed as failed:
        cause = _contract_error(failed)
        if cause is None:
            raise
        raise ContractError(str(cause)) from failed
    report.elapsed_seconds = time.perf_counter() - started
    log.info("file load finished: %s", report.summary())
    return report


def files_pipeline(warehouse: Path, pipelines_dir: Path | None = None) -> dlt.Pipeline:
    return warehouse_pipeline(PIPELINE_NAME, warehouse, pipelines_dir)


def warehouse_pipeline(
    name: str, warehouse: Path, pipelines_dir: Path | None = None
) -> dlt.Pipeline:
    """A connector's dlt pipeline into the `raw` dataset. Its working folder (state, pending
    packages) lives under the project's data folder unless told otherwise, never in ~/.dlt."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name=DATASET_NAME,
        pipelines_dir=str(pipelines_dir or settings.data_dir() / "dlt"),
    )


@dlt.source(name="files")
def file_source(
    source_dir: Path,
    report: LoadReport | None = None,
    progress: Progress | None = None,
    entities: Collection[str] | None = None,
) -> list[DltResource]:
    """One resource per contract entity; broken rows of each go to `raw_quarantine`.

    Raises ContractError at once when a required entity is missing. Must run in a pipeline with
    a destination: checks for unknown accounts and already-loaded events read it.
    """
    owned = [e for e in ENTITIES if entities is None or e.name in entities]
    load = _Load(Path(source_dir), owned, report if report is not None else LoadReport(), progress)
    return [_resource(load, entity) for entity in owned]


def _resource(load: _Load, entity: Entity) -> DltResource:
    def rows() -> Iterator[Any]:
        yield from load.rows(entity)

    resource = dlt.resource(
        rows,
        name=entity.name,
        table_name=entity.table,
        write_disposition="append" if entity.incremental else "replace",
    )
    add_quarantine_variant(resource)
    resource.apply_hints(columns=timestamp_hints(entity))
    return resource


def add_quarantine_variant(resource: DltResource) -> None:
    """Broken rows leave through the same resource, to the quarantine table: its hints are a
    variant of the resource's, made before the entity's own hints so it does not inherit them.
    Every connector quarantines through this."""
    resource.apply_hints(
        table_name=QUARANTINE_TABLE,
        write_disposition="append",
        columns=_utc_wall_clock(["quarantined_at"]),
        create_table_variant=True,
    )


def timestamp_hints(entity: Entity) -> list[TColumnSchema]:
    """Column hints that keep the entity's timestamps UTC wall clock (see `_utc_wall_clock`)."""
    return _utc_wall_clock(c.name for c in entity.columns if c.kind is Kind.TIMESTAMP)


def _utc_wall_clock(names: Iterable[str]) -> list[TColumnSchema]:
    """Timestamps arrive as UTC without a zone; dlt would store them WITH TIME ZONE unless told,
    and a session time zone could then move day boundaries in SQL downstream."""
    return [{"name": name, "data_type": "timestamp", "timezone": False} for name in names]


class _Load:
    """State shared by the resources of one source instance (one run)."""

    def __init__(
        self,
        source_dir: Path,
        entities: list[Entity],
        report: LoadReport,
        progress: Progress | None,
    ) -> None:
        self.source_dir = source_dir
        self.report = report
        self.progress = progress
        self.files = {e.name: entity_files(source_dir, e) for e in entities}
        missing = [e for e in entities if not self.files[e.name]]
        required = [e.name for e in missing if e.required_entity]
        if required:
            raise ContractError(
                f"{source_dir}: required entit{'y' if len(required) == 1 else 'ies'} "
                f"{', '.join(required)} missing (expected <entity>{'|'.join(SUFFIXES)} "
                "or a folder <entity>/ of part files)"
            )
        for entity in missing:
            report.missing_entities.append(entity.name)
            log.warning("optional entity %s is missing from %s", entity.name, source_dir)
            _say(progress, f"{entity.name}: missing (optional)")
        self.validator = Validator(quarantined_at=datetime.now(UTC))

    @cached_property
    def history(self) -> WarehouseHistory:
        return WarehouseHistory(dlt.current.pipeline(), QUARANTINE_TABLE)

    @cached_property
    def account_batches(self) -> list[Batch]:
        """Accounts are checked first, whatever order dlt runs resources in, because every other
        entity's account_id is checked against them (and against accounts loaded before)."""
        accounts = ENTITY_BY_NAME[ACCOUNTS]
        batches = [self.validate(accounts, path) for path in self.files.get(ACCOUNTS, [])]
        known = [b.valid[ACCOUNT_ID] for b in batches] + [self.history.account_ids(accounts)]
        self.validator.set_known_accounts(
            pa.chunked_array([chunk for ids in known for chunk in ids.chunks], pa.string())
        )
        return batches

    def rows(self, entity: Entity) -> Iterator[Any]:
        for batch in self._batches(entity):
            self.report.add(entity, batch)
            self._tell(entity, batch)
            yield batch.valid
            yield dlt.mark.with_table_name(batch.quarantine, QUARANTINE_TABLE)
        if not self.files[entity.name]:  # an empty typed table, so models can still select
            yield self.validator.validate(entity, RawFile.empty()).valid

    def _batches(self, entity: Entity) -> Iterator[Batch]:
        if entity.name == ACCOUNTS:
            yield from self.account_batches
            return
        if references_accounts(entity):
            self.account_batches  # noqa: B018 -- known accounts must be set first
        if not entity.incremental:
            for path in self.files[entity.name]:
                yield self.validate(entity, path)
            return
        loaded: dict[str, str] = dlt.current.resource_state().setdefault("files", {})
        if loaded and not self.history.has_table(entity.table):
            log.warning("%s is gone from the warehouse: loading every file again", entity.table)
            loaded.clear()
        for path in self.files[entity.name]:
            relative, digest = path.relative_to(self.source_dir).as_posix(), file_digest(path)
            if loaded.get(relative) == digest:
                self.report.files_skipped.append(relative)
                _say(self.progress, f"{entity.name}: {relative}: unchanged, skipped")
                continue
            yield self.validate(entity, path, incremental=True)
            loaded[relative] = digest

    def validate(self, entity: Entity, path: Path, *, incremental: bool = False) -> Batch:
        raw = read_raw(self.source_dir, path, entity)
        batch = self.validator.validate(entity, raw, self.history if incremental else None)
        return self._with_sentiment(entity, batch) if entity.name == TICKETS else batch

    def _with_sentiment(self, entity: Entity, batch: Batch) -> Batch:
        """Ticket sentiment where the file gives none (DESIGN §5 ticket_sentiment): the value an
        earlier load already holds for the ticket, else computed from subject and body. So each
        ticket is scored once, and its score is kept when the ticket changes later, as the
        Zendesk connector does; a sentiment the file gives always wins."""
        valid = batch.valid
        sentiments = valid["sentiment"].to_pylist()
        missing = [i for i, value in enumerate(sentiments) if value is None]
        if not missing:
            return batch
        ids = valid["ticket_id"].to_pylist()
        keys = pa.table({"ticket_id": pa.array([ids[i] for i in missing], pa.string())})
        earlier = {
            row["ticket_id"]: row["sentiment"]
            for row in self.history.loaded_values(entity, keys, ["sentiment"]).to_pylist()
            if row["sentiment"] is not None
        }
        subjects, bodies = valid["subject"].to_pylist(), valid["body"].to_pylist()
        for i in missing:
            known = earlier.get(ids[i])
            sentiments[i] = known if known is not None else ticket_sentiment(subjects[i], bodies[i])
        column = valid.schema.get_field_index("sentiment")
        typed = pa.array(sentiments, valid.schema.field(column).type)
        return dataclasses.replace(batch, valid=valid.set_column(column, "sentiment", typed))

    def _tell(self, entity: Entity, batch: Batch) -> None:
        message = (
            f"{entity.name}: {batch.source_file}: {batch.valid.num_rows} rows, "
            f"{batch.quarantine.num_rows} quarantined"
        )
        if batch.already_loaded:
            message += f", {batch.already_loaded} already loaded"
        log.info(message)
        _say(self.progress, message)


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)


def _contract_error(failed: BaseException) -> ContractError | None:
    """dlt wraps what a resource raises; find the ContractError underneath, if that is it."""
    error: BaseException | None = failed
    while error is not None and not isinstance(error, ContractError):
        error = error.__cause__ or error.__context__
    return error
