"""Alert delivery after every refresh: an asset that drains the outbox, a check that makes a
storm-guard hold visible, and a sensor that starts delivery when new alerts are built.

Delivery is its own small job, not a step of the refresh, so a Slack outage fails only the
delivery run, and the outbox retries what failed on the next run (DESIGN §9).
"""

import datetime as dt
from typing import Any

from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetRecordsFilter,
    AssetSelection,
    Config,
    DagsterInstance,
    DefaultSensorStatus,
    Failure,
    MaterializeResult,
    RetryPolicy,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    asset_check,
    define_asset_job,
    sensor,
)
from dagster_dbt import get_asset_key_for_model
from pydantic import Field

from healthscore.alerts import deliver_pending, held_runs
from healthscore.alerts.config import ConfigError
from orchestration.freshness import CHECK_NAME, fresh_source_keys
from orchestration.resources import HealthscorePaths
from orchestration.transform import healthscore_dbt, manifest

ALERTS_GROUP = "alerts"
ALERTS_MODEL = get_asset_key_for_model([healthscore_dbt], "fct_health_alerts")
RELEASE_HINT = (
    "Check the data, then `healthscore alerts release` to send the held alerts with the next "
    "delivery, or `healthscore alerts discard` to drop them (both take --run RUN_ID)."
)

# Source name as the storm guard reports it (`raw.raw_events`), by its freshness check.
_FRESHNESS_CHECKS = {
    AssetCheckKey(key, CHECK_NAME): ".".join(
        (manifest["sources"][unique_id]["source_name"], manifest["sources"][unique_id]["name"])
    )
    for unique_id, key in fresh_source_keys(manifest).items()
}
# One more try soon after a delivery with failures; the next refresh retries them anyway.
_DELIVERY_RETRY = RetryPolicy(max_retries=1, delay=300)


class DeliveryConfig(Config):
    as_of: str | None = Field(
        default=None,
        description=(
            "ISO date-time to judge alert age against instead of now (alerts older than "
            "HEALTHSCORE_ALERT_MAX_AGE_DAYS are not sent): for a demo warehouse whose data ends "
            "in the past, or to deliver a missed day. Without a zone it is UTC."
        ),
    )

    def now(self) -> dt.datetime | None:
        if self.as_of is None:
            return None
        try:
            moment = dt.datetime.fromisoformat(self.as_of)
        except ValueError as error:
            raise Failure(
                description=f"as_of {self.as_of!r} is not an ISO date-time", allow_retries=False
            ) from error
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _failed_at_error(instance: DagsterInstance, key: AssetCheckKey) -> bool:
    record = instance.get_latest_asset_check_evaluation_record(key)
    evaluation = record.event.asset_check_evaluation if record and record.event else None
    return bool(
        evaluation and not evaluation.passed and evaluation.severity is AssetCheckSeverity.ERROR
    )


def stale_sources(instance: DagsterInstance) -> list[str]:
    """Sources whose latest dbt freshness check failed at error level.

    The check records dbt's `sources.json` per source (`warn` → WARN, `error` → ERROR, the
    split the storm guard uses too); reading it back from the instance finds the refresh that
    just ran, wherever its dbt target folder was. A warning does not hold alerts.
    """
    return sorted(
        name for key, name in _FRESHNESS_CHECKS.items() if _failed_at_error(instance, key)
    )


@asset(
    group_name=ALERTS_GROUP,
    deps=[ALERTS_MODEL],
    retry_policy=_DELIVERY_RETRY,
    kinds={"slack", "hubspot"},
)
def alert_deliveries(
    context: AssetExecutionContext, config: DeliveryConfig, paths: HealthscorePaths
) -> MaterializeResult:
    """New alerts copied into the outbox and every due delivery sent (Slack, CRM tasks), each
    exactly once. Held by the storm guard when sources are stale or too many accounts alert.
    Without SLACK_BOT_TOKEN / CRM credentials a channel runs dry and records what it would send.
    """
    stale = stale_sources(context.instance)
    if stale:
        context.log.warning(f"sources failed dbt freshness: {stale}")
    try:
        report = deliver_pending(
            paths.warehouse(), now=config.now(), progress=context.log.info, stale_sources=stale
        )
    except ConfigError as error:
        raise Failure(description=f"alert settings: {error}", allow_retries=False) from error
    metadata = report.as_metadata()
    if report.errors:
        raise Failure(
            description=(
                f"{len(report.errors)} deliveries failed; they stay in the outbox and are "
                "retried on the next delivery run"
            ),
            metadata=metadata,
        )
    if report.held:
        context.log.warning(f"customer alerts held: {metadata['hold_reasons']}. {RELEASE_HINT}")
    return MaterializeResult(metadata=metadata)


def _plain(run: dict[str, Any]) -> dict[str, Any]:
    return {**run, "started_at": str(run["started_at"])}


@asset_check(asset=alert_deliveries)
def no_held_alerts(paths: HealthscorePaths) -> AssetCheckResult:
    """Warns while the storm guard holds customer alerts that nobody has released or discarded,
    so a hold cannot pass unnoticed."""
    runs = held_runs(paths.warehouse())
    return AssetCheckResult(
        passed=not runs,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "held_runs": len(runs),
            "held_alerts": sum(run["held_alerts"] or 0 for run in runs),
            "runs": [_plain(run) for run in runs],
            **({"what_to_do": RELEASE_HINT} if runs else {}),
        },
    )


deliver_alerts_job = define_asset_job(
    "deliver_alerts",
    selection=AssetSelection.assets(alert_deliveries),
    description="Deliver due alerts from the outbox and report any storm-guard hold.",
)


@sensor(
    job=deliver_alerts_job,
    # On like the daily schedule: without credentials delivery is a dry run, so this is safe.
    default_status=DefaultSensorStatus.RUNNING,
    description="Deliver alerts after each new build of fct_health_alerts.",
)
def deliver_alerts_after_refresh(context: SensorEvaluationContext) -> SensorResult | SkipReason:
    """One delivery run per new `fct_health_alerts` materialisation, keyed by its event's
    storage id, so a re-evaluated tick never starts a second run for the same build. Only the
    event log is read here; the delivery itself runs in the job."""
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=ALERTS_MODEL, after_storage_id=after),
        ascending=False,
        limit=1,
    ).records
    if not records:
        return SkipReason(f"no build of {ALERTS_MODEL.to_user_string()} since the last run")
    storage_id = records[0].storage_id
    return SensorResult(
        run_requests=[RunRequest(run_key=f"alerts-{storage_id}")], cursor=str(storage_id)
    )
