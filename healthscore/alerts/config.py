"""Alert settings, read from the environment when a delivery starts (never at import), so a
Dagster code location picks up a changed variable without a reload."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SLACK_BASE_URL = "https://slack.com/api/"


class ConfigError(ValueError):
    """A setting is present but unusable; raised early so no alert is half-delivered."""


@dataclass(frozen=True)
class AlertSettings:
    slack_token: str | None = field(default=None, repr=False)  # a secret: never logged
    slack_base_url: str = DEFAULT_SLACK_BASE_URL
    routing_file: Path | None = None
    ops_channel: str | None = None
    storm_share: float = 0.10
    max_age_days: int = 7
    crm_record_url: str | None = None  # template with {crm_company_id}
    task_priority_arr: tuple[float, float] = (50_000.0, 200_000.0)  # medium from, high from
    task_due_days: int = 3

    @classmethod
    def from_env(cls) -> AlertSettings:
        env = os.environ
        routing = env.get("HEALTHSCORE_ALERT_ROUTING")
        return cls(
            slack_token=env.get("SLACK_BOT_TOKEN") or None,
            slack_base_url=env.get("SLACK_BASE_URL") or DEFAULT_SLACK_BASE_URL,
            routing_file=Path(routing) if routing else None,
            ops_channel=env.get("HEALTHSCORE_OPS_CHANNEL") or None,
            storm_share=_number(env, "HEALTHSCORE_STORM_SHARE", 0.10, float),
            max_age_days=_number(env, "HEALTHSCORE_ALERT_MAX_AGE_DAYS", 7, int),
            crm_record_url=env.get("HEALTHSCORE_CRM_RECORD_URL") or None,
            task_priority_arr=_thresholds(
                env, "HEALTHSCORE_TASK_PRIORITY_ARR", (50_000.0, 200_000.0)
            ),
            task_due_days=_number(env, "HEALTHSCORE_TASK_DUE_DAYS", 3, int),
        )


def _number(env: Mapping[str, str], name: str, default: Any, kind: Callable[[str], Any]) -> Any:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a {kind.__name__}") from exc
    if value < 0:
        raise ConfigError(f"{name} must not be negative")
    return value


def _thresholds(
    env: Mapping[str, str], name: str, default: tuple[float, float]
) -> tuple[float, float]:
    """`MEDIUM_FROM,HIGH_FROM` in ARR, e.g. `50000,200000`."""
    raw = env.get(name)
    if not raw:
        return default
    try:
        medium, high = (float(part) for part in raw.split(","))
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} must be two numbers: medium_from,high_from") from exc
    if not 0 <= medium <= high:
        raise ConfigError(f"{name}: need 0 <= medium_from <= high_from")
    return medium, high
