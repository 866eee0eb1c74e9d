"""Landing API records in the contract tables, through the same validation as files.

A connector maps each source object onto a contract row (values as the source spells them)
plus `_source_id`, the source's own id for that row. `Landing.land` types and checks a page of
rows exactly like a file (`validation.Validator`), so a bad record is quarantined in
`raw_quarantine` with its reason instead of dropped or loaded half-typed. Loaded rows keep
`_source_id`: it is the merge key of entities the contract gives no key of their own (meetings,
email events), so an object that changes replaces its earlier row.

A load runs in stages (`load_in_stages`), each a dlt run committed with its state before the
next starts: later entities are checked against the accounts that earlier stages put in the
warehouse, and an incremental cursor only moves once what it covers is loaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from ingestion.contract import ENTITY_BY_NAME, Entity
from ingestion.file_reader import MALFORMED_SCHEMA, SOURCE_ROW, RawFile
from ingestion.file_source import (
    QUARANTINE_TABLE,
    LoadReport,
    add_quarantine_variant,
    timestamp_hints,
)
from ingestion.validation import ACCOUNT_ID, ACCOUNTS, Validator, references_accounts
from ingestion.warehouse_history import WarehouseHistory

SOURCE_ID = "_source_id"
CLEARED = "_cleared"  # hard-delete flag: the source no longer holds this row

Record = dict[str, Any]


class Landing:
    """Validation state of one stage of one load; shared by the stage's resources."""

    def __init__(self, origin: str, report: LoadReport) -> None:
        self.origin = origin
        self.report = report
        self._known: list[pa.ChunkedArray] | None = None

    @cached_property
    def history(self) -> WarehouseHistory:
        """Reads the warehouse the rows land in; only valid while the pipeline runs."""
        return WarehouseHistory(dlt.current.pipeline(), QUARANTINE_TABLE)

    @cached_property
    def _validator(self) -> Validator:
        return Validator(quarantined_at=datetime.now(UTC))

    def know_accounts(self, account_ids: pa.ChunkedArray | pa.Array) -> None:
        """Accounts landed earlier in this stage count as known to the rows that follow."""
        if self._known is None:
            self._known = [self.history.account_ids(ENTITY_BY_NAME[ACCOUNTS])]
        self._known.append(pa.chunked_array([account_ids], pa.string()))
        chunks = [chunk for ids in self._known for chunk in ids.chunks]
        self._validator.set_known_accounts(pa.chunked_array(chunks, pa.string()))

    def land(self, entity: Entity, records: Sequence[Record], part: str) -> Iterator[Any]:
        """Typed rows of `entity` (with `_source_id`), then the page's quarantined rows."""
        if references_accounts(entity) and self._known is None:
            self.know_accounts(pa.array([], pa.string()))
        raw = RawFile(f"{self.origin}/{part}", _text_table(records), MALFORMED_SCHEMA.empty_table())
        batch = self._validator.validate(entity, raw)
        self.report.add(entity, batch)
        ids = pa.array([r[SOURCE_ID] for r in records], pa.string())
        positions = pc.subtract(batch.valid[SOURCE_ROW], 1)
        valid = batch.valid.append_column(SOURCE_ID, ids.take(positions))
        yield dlt.mark.with_table_name(valid, entity.table)
        yield dlt.mark.with_table_name(batch.quarantine, QUARANTINE_TABLE)
        if entity.name == ACCOUNTS:
            self.know_accounts(batch.valid[ACCOUNT_ID])


@dataclass(frozen=True)
class Target:
    """A contract table a resource merges into: by `key`; with `cleared`, rows flagged
    `_cleared` delete their key instead (e.g. an override a CSM removed)."""

    entity: Entity
    key: str
    cleared: bool = False

    def hints(self) -> dict[str, Any]:
        columns = timestamp_hints(self.entity)
        if self.cleared:
            columns.append({"name": CLEARED, "data_type": "bool", "hard_delete": True})
        return {
            "table_name": self.entity.table,
            "write_disposition": "merge",
            "primary_key": self.key,
            "columns": columns,
        }


def contract_resource(resource: DltResource, target: Target, *others: Target) -> DltResource:
    """Hints for a resource landing `target` (and `others`, each marked by table name) and
    quarantining through the same resource. Variants first: they start from the resource's
    hints, and must not inherit the main table's key or columns."""
    add_quarantine_variant(resource)
    for other in others:
        resource.apply_hints(**other.hints(), create_table_variant=True)
    resource.apply_hints(**target.hints())
    return resource


def cleared_rows(entity: Entity, key: str, values: Iterable[str]) -> Any:
    """Rows that delete these `key` values from a table landed with `Target(cleared=True)`."""
    keys = pa.array(list(values), pa.string())
    table = pa.table({key: keys, CLEARED: pa.array([True] * len(keys), pa.bool_())})
    return dlt.mark.with_table_name(table, entity.table)


def load_in_stages(
    pipeline: dlt.Pipeline,
    source: Callable[[LoadReport], DltSource],
    stages: Sequence[Sequence[str]],
    report: LoadReport,
) -> LoadReport:
    """Run `source` once per non-empty stage, with only that stage's resources."""
    started = time.perf_counter()
    if pipeline.has_pending_data:  # finish what a crashed run extracted before moving on
        pipeline.normalize()
        pipeline.load()
    for stage in stages:
        if stage:
            pipeline.run(source(report).with_resources(*stage))
    report.elapsed_seconds = time.perf_counter() - started
    return report


def _text_table(records: Sequence[Record]) -> pa.Table:
    """Every value as text, as a file would carry it: the validator parses each strictly."""
    names = list(dict.fromkeys(name for record in records for name in record))
    columns = {name: pa.array([_text(r.get(name)) for r in records], pa.string()) for name in names}
    columns[SOURCE_ROW] = pa.array(range(1, len(records) + 1), pa.int64())
    return pa.table(columns)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
