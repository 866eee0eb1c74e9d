"""Shared fixtures: one small generated customer base, loaded and built once per session.

Building costs a dbt run (~20 s here), so every test that needs a scored warehouse shares this
one and treats it as read-only; a test that changes data copies the warehouse first.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from healthscore.dbt_runner import run_dbt
from ingestion.demo_data import GenerationSummary, generate
from ingestion.file_source import load_files

SMALL_END_DATE = date(2026, 6, 30)


@dataclass(frozen=True)
class BuiltWarehouse:
    """A generated dataset, loaded by the file source and built by dbt."""

    generation: GenerationSummary
    warehouse: Path
    root: Path

    def copy(self, destination: Path) -> Path:
        """A private copy for tests that write."""
        target = destination / "warehouse.duckdb"
        shutil.copyfile(self.warehouse, target)
        return target


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    root = tmp_path_factory.mktemp("built")
    generation = generate(root / "demo", accounts=120, days=300, seed=11, end_date=SMALL_END_DATE)
    warehouse = root / "warehouse.duckdb"
    load_files(generation.source_dir, warehouse, pipelines_dir=root / "dlt")
    run_dbt(["build"], warehouse=warehouse, target_path=root / "target", quiet=True)
    return BuiltWarehouse(generation=generation, warehouse=warehouse, root=root)
