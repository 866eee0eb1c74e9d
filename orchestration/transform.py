"""The dbt project as Dagster assets: models and seeds as assets, dbt tests as asset checks.

Sources keep dagster-dbt's default keys, which follow their `meta.dagster.asset_key`
(`["raw", "raw_<entity>"]`), so every staging model hangs off the ingest asset that loads it.
"""

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
from dagster import AssetExecutionContext, AssetKey, AssetObservation
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from healthscore.settings import DBT_PROJECT_DIR
from ingestion.identity_report import identity_report

# What dbt writes itself (artifacts, logs); walking it would only slow every load down.
_DBT_OUTPUTS = frozenset({"target", "logs"})


def folder_group(resource_type: str, fqn: Sequence[str]) -> str | None:
    """The Dagster group of a dbt node, from the folder it lives in.

    `fqn` is `[project, *folders, name]`: seeds are configuration; a mart takes its domain
    folder (`marts/health` → `health`); anything else takes its layer folder (`staging`,
    `intermediate`).
    """
    if resource_type == "seed":
        return "config"
    folders = fqn[1:-1]
    if not folders:
        return None
    if folders[0] == "marts" and len(folders) > 1:
        return folders[1]
    return folders[0]


class HealthscoreTranslator(DagsterDbtTranslator):
    """Groups by folder; an explicit `meta.dagster.group` or dbt group in YAML still wins."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return super().get_group_name(dbt_resource_props) or folder_group(
            dbt_resource_props["resource_type"], dbt_resource_props["fqn"]
        )


def manifest_is_stale(project: DbtProject) -> bool:
    """Whether any project file or folder changed after the manifest was written.

    Folders count because adding, renaming or deleting a file changes its folder's mtime.
    """
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    for root, dirs, files in os.walk(project.project_dir):
        dirs[:] = [d for d in dirs if d not in _DBT_OUTPUTS]
        for name in [*dirs, *files]:
            if (Path(root) / name).stat().st_mtime > built:
                return True
    return False


def dbt_cli(project: DbtProject) -> DbtCliResource:
    """dbt from this interpreter's environment.

    `.venv/bin/dagster dev` runs without the venv activated, so a bare `dbt` is not on PATH.
    """
    beside_python = Path(sys.executable).with_name("dbt")
    executable = str(beside_python) if beside_python.exists() else "dbt"
    return DbtCliResource(project_dir=project, dbt_executable=executable)


def _prepared_project() -> DbtProject:
    """The dbt project with a manifest matching its files, parsed now if it is missing or stale.

    Unlike `prepare_if_dev()` this also covers `dagster definitions validate`, tests and a
    plain code server, and it skips the ~8 s `dbt parse` when nothing changed. Dagster keeps
    its own target folder so an analytics engineer's `dbt` runs never swap its manifest.
    """
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target_path=Path("target", "dagster"),
    )
    if manifest_is_stale(project):
        dbt_cli(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


dbt_project = _prepared_project()
manifest: dict[str, Any] = json.loads(dbt_project.manifest_path.read_text())
# Source tests become checks on the raw assets, so a bad load shows on the table it landed in.
translator = HealthscoreTranslator(DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))


IDENTITY = AssetKey("int_account_identity")


@dbt_assets(
    manifest=manifest,
    project=dbt_project,
    dagster_dbt_translator=translator,
    # by key, not by typed argument: resources.py imports this module
    required_resource_keys={"dbt", "paths"},
)
def healthscore_dbt(context: AssetExecutionContext):
    """`dbt build` of the selection: seeds, models, unit and data tests in dependency order.

    Afterwards, identity resolution in figures (matched by method, unmatched and ambiguous
    organisations with their reason) is observed on `int_account_identity`: read only once dbt
    has released the DuckDB file.
    """
    dbt: DbtCliResource = context.resources.dbt
    yield from dbt.cli(["build"], context=context).stream()
    if IDENTITY in context.selected_asset_keys:
        with duckdb.connect(str(context.resources.paths.warehouse()), read_only=True) as con:
            report = identity_report(con)
        yield AssetObservation(asset_key=IDENTITY, metadata=report)
