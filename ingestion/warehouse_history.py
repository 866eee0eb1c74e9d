"""What earlier loads left in the warehouse, read through the running dlt pipeline.

Reading through the pipeline's own connection means the checks always look at the warehouse the
rows are about to land in, and never open a second handle on a DuckDB file that dlt holds (DuckDB
allows one per file per process). Candidate keys are shipped to the warehouse and joined there,
so a check against millions of loaded events returns only the keys that collide.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

import pyarrow as pa
from dlt import Pipeline
from dlt.destinations.sql_client import SqlClientBase

from ingestion.contract import Entity
from ingestion.sql_text import ident, literal
from ingestion.validation import ACCOUNT_ID, SOURCE_FILE


class WarehouseHistory:
    """Implements `validation.History` and the known-accounts lookup for one pipeline run."""

    def __init__(self, pipeline: Pipeline, quarantine_table: str) -> None:
        self._pipeline = pipeline
        self._quarantine_table = quarantine_table

    @cached_property
    def _client(self) -> SqlClientBase[Any]:
        """Made once: making one resolves dlt's configuration, which costs more than a query."""
        return self._pipeline.sql_client()

    def has_table(self, table: str) -> bool:
        return self._query(table, "SELECT 1 FROM {table} LIMIT 0") is not None

    def account_ids(self, accounts: Entity) -> pa.ChunkedArray:
        found = self._query(accounts.table, f"SELECT DISTINCT {ACCOUNT_ID} FROM {{table}}")
        return pa.chunked_array([], pa.string()) if found is None else found[ACCOUNT_ID]

    def account_domains(self, accounts: Entity) -> dict[str, str]:
        """Lower-cased domain -> account_id, for sources that know a customer by its domain."""
        found = self._query(
            accounts.table,
            f"SELECT lower(trim(domain)) AS domain, min({ACCOUNT_ID}) AS {ACCOUNT_ID} "
            "FROM {table} WHERE domain IS NOT NULL GROUP BY 1",
        )
        if found is None:
            return {}
        return dict(zip(found["domain"].to_pylist(), found[ACCOUNT_ID].to_pylist(), strict=True))

    def loaded_values(self, entity: Entity, keys: pa.Table, columns: list[str]) -> pa.Table:
        """`columns` of the loaded rows whose unique key is among `keys`."""
        key = ", ".join(ident(k) for k in entity.unique_key)
        wanted = ", ".join(ident(c) for c in [*entity.unique_key, *columns])
        found = self._query(
            entity.table,
            f"SELECT {wanted} FROM {{table}} WHERE ({key}) IN (SELECT ({key}) FROM candidate_keys)",
            {"candidate_keys": keys},
        )
        return pa.table({}) if found is None else found

    def loaded_keys(self, entity: Entity, keys: pa.Table) -> pa.Table:
        key = ", ".join(ident(k) for k in entity.unique_key)
        found = self._query(
            entity.table,
            f"SELECT {key} FROM candidate_keys WHERE ({key}) IN (SELECT ({key}) FROM {{table}})",
            {"candidate_keys": keys},
        )
        return keys.slice(0, 0) if found is None else found

    def loaded_rows(self, entity: Entity, source_file: str) -> pa.Table:
        columns = ", ".join(ident(c.name) for c in entity.columns)
        found = self._query(
            entity.table,
            f"SELECT {columns} FROM {{table}} WHERE {SOURCE_FILE} = {literal(source_file)}",
        )
        return pa.table({}) if found is None else found

    def quarantined_records(self, entity: Entity, source_file: str) -> pa.Table:
        found = self._query(
            self._quarantine_table,
            f"SELECT raw_record FROM {{table}} WHERE entity = {literal(entity.name)} "
            f"AND source_file = {literal(source_file)}",
        )
        return pa.table({}) if found is None else found

    def _query(
        self, table: str, sql: str, inputs: Mapping[str, pa.Table] | None = None
    ) -> pa.Table | None:
        """Run `sql` with `{table}` qualified; None when that table was never loaded."""
        with self._client as client:
            con = client.native_connection
            exists = con.execute(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = ? AND table_name = ?",
                [client.dataset_name, table],
            ).fetchall()[0][0]
            if not exists:
                return None
            for name, arrow in (inputs or {}).items():
                con.register(name, arrow)
            try:
                qualified = client.make_qualified_table_name(table)
                return con.sql(sql.replace("{table}", qualified)).to_arrow_table()
            finally:
                for name in inputs or {}:
                    con.unregister(name)
