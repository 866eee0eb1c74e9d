"""Which Slack channel an alert goes to: the owner's channel, else the segment's, else a default.

The file is YAML (JSON is valid YAML too):

    default: C0123DEFAULT
    segments:
      enterprise: C0456ENTERP
    owners:
      jane@example.com: C0789JANE

Values must be conversation IDs, not names: names change, and the look-up of a message after an
unknown outcome (conversations.history) only accepts IDs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from healthscore.alerts.alert import Alert
from healthscore.alerts.config import ConfigError

_CONVERSATION_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_KEYS = {"default", "segments", "owners"}


@dataclass(frozen=True)
class Routing:
    default: str | None = None
    segments: Mapping[str, str] = field(default_factory=dict)
    owners: Mapping[str, str] = field(default_factory=dict)

    def channel_for(self, alert: Alert) -> str | None:
        owner = (alert.owner_email or "").strip().lower()
        if owner in self.owners:
            return self.owners[owner]
        return self.segments.get((alert.segment or "").strip().lower(), self.default)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Routing:
        unknown = set(data) - _KEYS
        if unknown:
            raise ConfigError(f"unknown routing keys: {sorted(unknown)}")
        default = data.get("default")
        if default is not None:
            _check_id("default", default)
        return cls(
            default=default,
            segments=_table(data, "segments"),
            owners=_table(data, "owners"),
        )

    @classmethod
    def load(cls, path: Path | None) -> Routing:
        """No file means no customer channel: alerts then fail visibly with `no route`."""
        if path is None:
            return cls()
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read alert routing {path}: {exc}") from exc
        if not isinstance(data, Mapping):
            raise ConfigError(f"alert routing {path} must be a mapping")
        return cls.from_mapping(data)


def _table(data: Mapping[str, Any], key: str) -> dict[str, str]:
    table = data.get(key) or {}
    if not isinstance(table, Mapping):
        raise ConfigError(f"routing `{key}` must be a mapping")
    for name, channel in table.items():
        _check_id(f"{key}.{name}", channel)
    return {str(name).strip().lower(): channel for name, channel in table.items()}


def _check_id(where: str, value: Any) -> None:
    if not isinstance(value, str) or not _CONVERSATION_ID.match(value):
        raise ConfigError(f"routing {where}: {value!r} is not a Slack conversation ID (C…/G…)")
