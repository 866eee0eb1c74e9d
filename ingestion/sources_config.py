"""The one configuration file for source connectors (issue 6): which sources are enabled, where
they are, and how their tables and fields map onto the file contract (DESIGN §4).

Secrets never live in the file: it names the environment variables that hold them, and they
are read when a connector runs. Each connector owns its section and validates it; this module
only finds and reads the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from healthscore import settings


class SourceConfigError(ValueError):
    """A setting is missing or wrong; the message names the setting (`section.key`)."""


def config_path() -> Path:
    default = settings.PROJECT_ROOT / "sources.yml"
    return Path(os.environ.get("HEALTHSCORE_SOURCES_CONFIG", default)).resolve()


def load_sources_config(path: Path | None = None) -> dict[str, Any]:
    """The parsed file; a missing file means "files source only" (the embedded default)."""
    path = path or config_path()
    if not path.exists():
        return {"files": {"enabled": True}}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise SourceConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise SourceConfigError(f"{path}: expected a mapping of source sections")
    return data


def section(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A source's section when it is enabled, else None."""
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise SourceConfigError(f"{name}: expected a mapping")
    return value if value.get("enabled", True) else None


def secret(section_name: str, key: str, section_value: dict[str, Any], default_env: str) -> str:
    """The secret held by the environment variable the section names (`<key>_env`)."""
    env_name = section_value.get(f"{key}_env", default_env)
    value = os.environ.get(env_name)
    if not value:
        raise SourceConfigError(
            f"{section_name}.{key}_env: environment variable {env_name} is unset"
        )
    return value
