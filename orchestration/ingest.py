"""The configured sources as Dagster assets: one `raw/raw_<entity>` asset per contract entity.

One load writes every raw table (dlt runs the entities together, unknown-account checks need
the accounts of the same load, and sources.yml decides which source owns which entity), so the
assets form one multi-asset that cannot be subset.
"""

from collections.abc import Iterator
from typing import Any

from dagster import AssetExecutionContext, AssetSpec, Failure, MaterializeResult, multi_asset

from ingestion.configured_sources import load_configured_sources
from ingestion.contract import ENTITIES, Entity
from ingestion.file_source import ContractError, LoadReport
from ingestion.sources_check import entity_owners
from ingestion.sources_config import SourceConfigError, load_sources_config
from orchestration.resources import HealthscorePaths

INGESTION_GROUP = "ingestion"


def raw_asset_key(entity: Entity) -> list[str]:
    """Must match `meta.dagster.asset_key` of the dbt source table, which joins the lineage."""
    return ["raw", entity.table]


def _spec(entity: Entity) -> AssetSpec:
    need = "required" if entity.required_entity else "optional"
    load = "append-only, file by file" if entity.incremental else "replaced on every load"
    return AssetSpec(
        key=raw_asset_key(entity),
        group_name=INGESTION_GROUP,
        description=f"Contract entity `{entity.name}` ({need}; {load}), loaded by dlt.",
        kinds={"dlt", "duckdb"},
    )


def entity_metadata(report: LoadReport, entity: Entity) -> dict[str, Any]:
    """What one entity's load did, as the figures an operator looks for in the UI."""
    quarantined = report.rows_quarantined.get(entity.name, {})
    metadata: dict[str, Any] = {
        "rows_loaded": report.rows_loaded.get(entity.name, 0),
        "rows_quarantined": sum(quarantined.values()),
        "quarantined_by_rule": dict(sorted(quarantined.items())),
        "missing_from_source": entity.name in report.missing_entities,
    }
    if entity.incremental:
        metadata["rows_already_loaded"] = report.rows_already_loaded.get(entity.name, 0)
    return metadata


# Product organisations, before identity resolution maps them to CRM accounts; only the
# product-database source fills it, and dbt reads it as a source.
PRODUCT_ORGANIZATIONS = AssetSpec(
    key=["raw", "raw_product_organizations"],
    group_name=INGESTION_GROUP,
    description="Product organisations from the product database, matched to CRM accounts by dbt.",
    kinds={"dlt", "duckdb"},
)


@multi_asset(
    name="raw_files",
    specs=[*(_spec(entity) for entity in ENTITIES), PRODUCT_ORGANIZATIONS],
    description="Load every configured source (files by default) into the warehouse's raw schema.",
)
def raw_files(
    context: AssetExecutionContext, paths: HealthscorePaths
) -> Iterator[MaterializeResult]:
    """Every entity is materialised, a missing optional one too: it then holds an empty table,
    which is what dbt reads, and its metadata says it was missing."""
    try:
        reports = load_configured_sources(
            paths.warehouse(), source_dir=paths.source_dir(), progress=context.log.info
        )
        owners = entity_owners(load_sources_config())
    except ContractError as error:
        raise Failure(description=f"The source folder breaks the file contract: {error}") from error
    except SourceConfigError as error:
        raise Failure(description=f"sources.yml: {error}") from error
    for name, report in reports.items():
        context.log.info(f"{name}: {report.summary()}")
    yield MaterializeResult(
        asset_key=PRODUCT_ORGANIZATIONS.key,
        metadata={"source": "product_db", "loaded": "product_db" in reports},
    )
    for entity in ENTITIES:
        owner = owners.get(entity.name, "files")
        yield MaterializeResult(
            asset_key=raw_asset_key(entity),
            metadata={
                "source": owner,
                **entity_metadata(reports.get(owner, LoadReport()), entity),
            },
        )
