"""What `healthscore sources check` reports: every problem with the sources file, each naming
its setting (`section.key`), found by asking every enabled connector to check its section —
configuration, credentials, reachability and the fields it maps — and by making sure no contract
entity has two owners.

A connector module provides `check(section) -> list[str]` and `owned_entities(section)`; it is
imported only when its section is in the file, so a source's client libraries load only for
the people who use it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ingestion.sources_config import SourceConfigError, load_sources_config, section

FILES = "files"  # the file source: it loads whatever no connector owns
CONNECTORS = {
    "hubspot": "ingestion.hubspot_source",
    "product_db": "ingestion.product_db",
    "zendesk": "ingestion.zendesk_source",
}


def check_sources(config_path: Path | None = None) -> list[str]:
    """Every problem, one line each; an empty list means every enabled source is ready."""
    try:
        config = load_sources_config(config_path)
    except SourceConfigError as error:
        return [str(error)]
    problems: list[str] = []
    owners: dict[str, list[str]] = {}
    for name, value in _enabled_sections(config, problems):
        connector = importlib.import_module(CONNECTORS[name])
        found = connector.check(value)
        problems += found
        if not found:
            for entity in connector.owned_entities(value):
                owners.setdefault(entity, []).append(name)
    problems += [
        f"{', '.join(names)}: each loads {entity}; keep it in one section only"
        for entity, names in owners.items()
        if len(names) > 1
    ]
    return problems


def entity_owners(config: dict[str, Any]) -> dict[str, str]:
    """Contract entity → the enabled connector section that loads it; the file source loads
    every entity not listed here (it must not replace what a connector merges)."""
    owners: dict[str, str] = {}
    for name, value in _enabled_sections(config, []):
        for entity in importlib.import_module(CONNECTORS[name]).owned_entities(value):
            owners.setdefault(entity, name)
    return owners


def _enabled_sections(
    config: dict[str, Any], problems: list[str]
) -> list[tuple[str, dict[str, Any]]]:
    """(name, section) of each enabled connector; unknown or malformed sections go to problems."""
    enabled = []
    for name in config:
        if name == FILES:
            continue
        if name not in CONNECTORS:
            known = ", ".join(sorted([FILES, *CONNECTORS]))
            problems.append(f"{name}: unknown source section (known: {known})")
            continue
        try:
            value = section(config, name)
        except SourceConfigError as error:
            problems.append(str(error))
            continue
        if value is not None:
            enabled.append((name, value))
    return enabled
