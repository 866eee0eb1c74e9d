"""Runs dbt in-process against the configured warehouse.

In-process (`dbtRunner`) rather than a subprocess because every dbt CLI start costs ~8 s of
imports and parsing here; the CLI keeps its own target folder so it never overwrites the
manifest Dagster reads (DESIGN §3).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from healthscore import settings


class DbtFailed(RuntimeError):
    """A dbt command ended with failures (tests, models or compilation)."""


@contextmanager
def _warehouse_env(warehouse: Path) -> Iterator[None]:
    """profiles.yml reads HEALTHSCORE_WAREHOUSE; point it at this run's file for the call."""
    previous = os.environ.get("HEALTHSCORE_WAREHOUSE")
    os.environ["HEALTHSCORE_WAREHOUSE"] = str(warehouse)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HEALTHSCORE_WAREHOUSE", None)
        else:
            os.environ["HEALTHSCORE_WAREHOUSE"] = previous


def dbt_args(command: Sequence[str], target_path: Path, extra: Sequence[str] = ()) -> list[str]:
    """The full argument list: project, profiles and a target folder of the caller's own."""
    project = str(settings.DBT_PROJECT_DIR)
    return [
        *command,
        "--project-dir",
        project,
        "--profiles-dir",
        project,
        "--target-path",
        str(target_path),
        *extra,
    ]


def run_dbt(
    command: Sequence[str],
    *,
    warehouse: Path | None = None,
    target_path: Path | None = None,
    extra: Sequence[str] = (),
    quiet: bool = False,
) -> object:
    """Run one dbt command; raise DbtFailed naming the failing nodes when it does not succeed."""
    from dbt.cli.main import dbtRunner

    warehouse = warehouse or settings.warehouse_path()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    target_path = target_path or settings.data_dir() / "dbt" / "target-cli"
    flags = ["--quiet"] if quiet else []
    with _warehouse_env(warehouse):
        try:
            result = dbtRunner().invoke([*flags, *dbt_args(command, target_path, extra)])
        finally:
            _release_duckdb()
    if not result.success:
        raise DbtFailed(_failure_summary(command, result))
    return result.result


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the life of the process.

    DuckDB lets one process hold a file, and only with one configuration: left open, the next
    step (a read-only reader here, dlt, or Dagster in another process) could not open it.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


def _failure_summary(command: Sequence[str], result: object) -> str:
    failed = []
    for node_result in getattr(getattr(result, "result", None), "results", None) or []:
        if str(getattr(node_result, "status", "")).lower() in {"error", "fail"}:
            failed.append(f"{node_result.node.unique_id}: {node_result.message}")
    detail = "; ".join(failed[:10]) or str(getattr(result, "exception", "") or "see dbt output")
    return f"dbt {' '.join(command)} failed: {detail}"
