"""Resources shared by the code location, each reading its settings when a run starts."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from healthscore import settings
from orchestration.transform import dbt_cli, dbt_project


class HealthscorePaths(ConfigurableResource):
    """The source folder and the warehouse of DESIGN §3, resolved when a run uses them.

    It has no fields on purpose: dbt reads the warehouse from the same environment variable
    (profiles.yml), so a path configured here alone would split ingest and transform across two
    files. Importing the code location therefore never depends on the environment.
    """

    def source_dir(self) -> Path:
        return settings.source_dir()

    def warehouse(self) -> Path:
        return settings.warehouse_path()


def build_resources() -> dict[str, ConfigurableResource]:
    """The resource set for Definitions and for tests, so both run the same wiring."""
    return {"paths": HealthscorePaths(), "dbt": dbt_cli(dbt_project)}
