"""Load every source `sources.yml` enables, one after another, into the one warehouse.

Order matters and is fixed here: the product database first (it may own the accounts the files'
rows are checked against), then files, then HubSpot, then Zendesk, whose tickets are matched to
accounts already loaded. Steps run one at a time because
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
    reports: dict[str, LoadReport] = {}
    if (product_db := section(config, "product_db")) is not None:
        from ingestion.product_db import load_product_db

        say("product database")
        reports["product_db"] = load_product_db(
            product_db, warehouse, progress=progress, pipelines_dir=pipelines_dir
        )
    files = section(config, "files") if "files" in config else {"enabled": True}
    if files is not None:
        folder = Path(files.get("path") or source_dir or settings.source_dir())
        say(f"files: {folder}")
        reports["files"] = load_files(
            folder,
            warehouse,
            progress=progress,
            pipelines_dir=pipelines_dir,
            entities=[e.name for e in ENTITIES if e.name not in owners],
        )
    if (hubspot := section(config, "hubspot")) is not None:
        from ingestion.hubspot_source import load_hubspot

        say("HubSpot")
        reports["hubspot"] = load_hubspot(hubspot, warehouse, pipelines_dir=pipelines_dir)
    if (zendesk := section(config, "zendesk")) is not None:
        from ingestion.zendesk_source import load_zendesk

        say("Zendesk")
        reports["zendesk"] = load_zendesk(zendesk, warehouse, pipelines_dir=pipelines_dir)
    return reports
