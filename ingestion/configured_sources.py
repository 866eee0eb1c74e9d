"""Load every source `sources.yml` enables, one after another, into the one warehouse.

Order matters and is fixed here: the source that owns the accounts first (every other source's
rows are checked against them), then the rest in the order product database, files, HubSpot,
Zendesk, whose tickets are matched to accounts already loaded. Steps run one at a time because
DuckDB takes one writer (DESIGN §3).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from healthscore import settings
from ingestion.contract import ENTITIES
from ingestion.file_source import LoadReport, load_files
from ingestion.sources_check import entity_owners
from ingestion.sources_config import load_sources_config, section
from ingestion.validation import ACCOUNTS

Progress = Callable[[str], None]


def load_configured_sources(
    warehouse: Path,
    *,
    config_path: Path | None = None,
    source_dir: Path | None = None,
    progress: Progress | None = None,
    pipelines_dir: Path | None = None,
) -> dict[str, LoadReport]:
    """Each enabled source's LoadReport, by section name (`files` for the file source)."""
    config = load_sources_config(config_path)
    owners = entity_owners(config)
    say = progress or (lambda _message: None)
    steps: list[tuple[str, Callable[[], LoadReport]]] = []
    if (product_db := section(config, "product_db")) is not None:
        from ingestion.product_db import load_product_db

        def load_product() -> LoadReport:
            say("product database")
            return load_product_db(
                product_db, warehouse, progress=progress, pipelines_dir=pipelines_dir
            )

        steps.append(("product_db", load_product))
    files = section(config, "files") if "files" in config else {"enabled": True}
    if files is not None:
        folder = Path(files.get("path") or source_dir or settings.source_dir())

        def load_folder() -> LoadReport:
            say(f"files: {folder}")
            return load_files(
                folder,
                warehouse,
                progress=progress,
                pipelines_dir=pipelines_dir,
                entities=[e.name for e in ENTITIES if e.name not in owners],
            )

        steps.append(("files", load_folder))
    if (hubspot := section(config, "hubspot")) is not None:
        from ingestion.hubspot_source import load_hubspot

        def load_crm() -> LoadReport:
            say("HubSpot")
            return load_hubspot(hubspot, warehouse, pipelines_dir=pipelines_dir)

        steps.append(("hubspot", load_crm))
    if (zendesk := section(config, "zendesk")) is not None:
        from ingestion.zendesk_source import load_zendesk

        def load_support() -> LoadReport:
            say("Zendesk")
            return load_zendesk(zendesk, warehouse, pipelines_dir=pipelines_dir)

        steps.append(("zendesk", load_support))
    accounts_owner = owners.get(ACCOUNTS, "files")
    steps.sort(key=lambda step: step[0] != accounts_owner)  # stable: the rest keep their order
    return {name: load() for name, load in steps}
