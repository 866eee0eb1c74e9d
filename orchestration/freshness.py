"""`dbt source freshness` as one asset check per source that declares freshness in its YAML.

dbt stays the judge (its `loaded_at_field`, thresholds and SQL), so the rule lives in one place
and works on every adapter. The check never blocks the build: scores are computed up to the
data's newest day and staleness is reported here instead, where the alert storm guard of DESIGN
§9 can find it.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)
from dagster_dbt import DbtCliResource

from orchestration.transform import dbt_project, manifest, translator

CHECK_NAME = "source_freshness"


def _declares_freshness(source: Mapping[str, Any]) -> bool:
    freshness = source.get("freshness") or {}
    return any((freshness.get(level) or {}).get("count") for level in ("warn_after", "error_after"))


def fresh_source_keys(manifest: Mapping[str, Any]) -> dict[str, AssetKey]:
    """Asset key of each source with a freshness rule, by dbt unique id."""
    return {
        unique_id: translator.get_asset_spec(manifest, unique_id, dbt_project).key
        for unique_id, source in manifest["sources"].items()
        if _declares_freshness(source)
    }


def freshness_result(result: Mapping[str, Any], key: AssetKey) -> AssetCheckResult:
    """One entry of dbt's sources.json as a check result: `warn` warns, anything else failing
    (`error`, `runtime error`) is an error."""
    status = result["status"]
    metadata: dict[str, Any] = {"dbt_status": status}
    if "max_loaded_at" in result:
        metadata["max_loaded_at"] = result["max_loaded_at"]
        metadata["hours_since_newest_row"] = round(result["max_loaded_at_time_ago_in_s"] / 3600, 1)
    if result.get("error"):
        metadata["error"] = result["error"]
    return AssetCheckResult(
        asset_key=key,
        check_name=CHECK_NAME,
        passed=status == "pass",
        severity=AssetCheckSeverity.WARN if status == "warn" else AssetCheckSeverity.ERROR,
        metadata=metadata,
    )


_KEYS = fresh_source_keys(manifest)


@multi_asset_check(
    name="dbt_source_freshness",
    specs=[
        AssetCheckSpec(CHECK_NAME, asset=key, description="Newest row is within dbt's freshness.")
        for key in _KEYS.values()
    ],
)
def dbt_source_freshness(dbt: DbtCliResource) -> Iterator[AssetCheckResult]:
    # dbt exits non-zero on a stale source; that is the result being reported, not a failure.
    invocation = dbt.cli(["source", "freshness"], raise_on_error=False).wait()
    for result in invocation.get_artifact("sources.json")["results"]:
        if result["unique_id"] in _KEYS:
            yield freshness_result(result, _KEYS[result["unique_id"]])
