"""Where things live, read from the environment at call time (never at import)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def data_dir() -> Path:
    """The project's data folder: warehouse, demo files, Dagster storage, reports."""
    return Path(os.environ.get("HEALTHSCORE_DATA_DIR", PROJECT_ROOT / "data")).resolve()


def warehouse_path() -> Path:
    """The one DuckDB file that dlt, dbt and Dagster all use (DESIGN §3)."""
    default = data_dir() / "warehouse.duckdb"
    return Path(os.environ.get("HEALTHSCORE_WAREHOUSE", default)).resolve()


def source_dir() -> Path:
    """The folder of contract files (DESIGN §4) that the file source loads."""
    default = data_dir() / "demo" / "source"
    return Path(os.environ.get("HEALTHSCORE_SOURCE_DIR", default)).resolve()
