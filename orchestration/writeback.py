"""CRM write-back as assets: the `customer_health` fields, then one sync per destination.

The engine (`healthscore.writeback`) decides everything — what changed, batching, the safety
valve, dry runs without credentials; these assets only choose the destinations, map its
outcome to Dagster's (metadata, failure, retry) and never see a token. A retry is safe: state
holds only what the CRM confirmed, so a rerun resends exactly what is still unconfirmed.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Backoff,
    Config,
    Failure,
    Jitter,
    MaterializeResult,
    RetryPolicy,
    asset,
)
from dagster_dbt import get_asset_key_for_model
from pydantic import Field

from healthscore.crm.errors import CrmError, RetriesExhausted, UnknownOutcome
from healthscore.writeback import SyncReport, ensure_properties, run_sync
from healthscore.writeback.destinations import DESTINATIONS, destination
from orchestration.resources import HealthscorePaths
from orchestration.transform import healthscore_dbt

WRITEBACK_GROUP = "writeback"
DESTINATIONS_ENV = "HEALTHSCORE_CRM_DESTINATIONS"
DEFAULT_DESTINATIONS = ("hubspot",)

# The clients already retry 429s and 5xx within a run; this covers an outage that outlasts
# them (a run that aborted): after about 1, 2 and 4 minutes, each ± a minute so that runs
# failed by the same outage do not come back to the CRM in step.
CRM_RETRY = RetryPolicy(
    max_retries=3, delay=60, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)
# Failures that may pass by themselves; a refusal or a broken contract fails the same way again.
_TRANSIENT = (RetriesExhausted, UnknownOutcome)


class SyncConfig(Config):
    force: bool = Field(
        default=False,
        description=(
            "Send even when the run would change more than HEALTHSCORE_SYNC_MAX_CHANGE_SHARE of "
            "the records the CRM holds (the safety valve). Set it after checking that the change "
            "is real, e.g. new weights, not a broken load."
        ),
    )


def enabled_destinations(raw: str | None) -> tuple[str, ...]:
    """The destinations named in `HEALTHSCORE_CRM_DESTINATIONS` (comma-separated).

    Unset means HubSpot only; set but empty means none. A name the engine does not know fails
    the run rather than silently syncing nowhere.
    """
    if raw is None:
        return DEFAULT_DESTINATIONS
    names = tuple(dict.fromkeys(name.strip().lower() for name in raw.split(",") if name.strip()))
    unknown = [name for name in names if name not in DESTINATIONS]
    if unknown:
        raise Failure(
            description=f"{DESTINATIONS_ENV} names unknown destinations {unknown}; "
            f"known: {sorted(DESTINATIONS)}",
            allow_retries=False,
        )
    return names


def destinations_from_env() -> tuple[str, ...]:
    return enabled_destinations(os.environ.get(DESTINATIONS_ENV))


@contextmanager
def crm_failures(what: str) -> Iterator[None]:
    """A CRM error as a Failure that is retried only when waiting can help."""
    try:
        yield
    except CrmError as error:  # messages come from the CRM's error body, never from headers
        raise Failure(
            description=f"{what}: {error}", allow_retries=isinstance(error, _TRANSIENT)
        ) from error


def sync_result(report: SyncReport, asset_name: str) -> MaterializeResult:
    """A sync's outcome in Dagster's terms: metadata always, a failure when nothing or not
    everything could be sent. `partial` succeeds: its failed rows are retried next run."""
    metadata = report.metadata()
    if report.status == "blocked":
        raise Failure(
            description=(
                f"{report.message} To send anyway, materialise `{asset_name}` with run config "
                f"`ops: {{{asset_name}: {{config: {{force: true}}}}}}`."
            ),
            metadata=metadata,
            allow_retries=False,
        )
    if report.status == "aborted":
        raise Failure(description=f"{report.destination} sync {report.message}", metadata=metadata)
    return MaterializeResult(metadata=metadata)


@asset(
    group_name=WRITEBACK_GROUP,
    retry_policy=CRM_RETRY,
    kinds={"hubspot", "salesforce"},
)
def crm_properties(context: AssetExecutionContext) -> MaterializeResult:
    """The `customer_health` fields in each enabled CRM: created in HubSpot, checked in
    Salesforce (an admin deploys its fields). Fails when a field exists in a form the sync
    cannot write, because then every batch would fail."""
    enabled = destinations_from_env()
    reports = {}
    for name in enabled:
        with crm_failures(f"{name} field setup"):
            reports[name] = ensure_properties(name)
    metadata = {name: report.metadata() for name, report in reports.items()}
    metadata["disabled"] = sorted(set(DESTINATIONS) - set(enabled))
    problems = {
        f"{name}: {field}": problem
        for name, report in reports.items()
        for field, problem in report.problems.items()
    }
    if problems:
        raise Failure(
            description=f"CRM fields the sync cannot write to: {problems}",
            metadata=metadata,
            allow_retries=False,
        )
    context.log.info(f"CRM fields ready in {list(enabled) or 'no destination'}")
    return MaterializeResult(metadata=metadata)


def sync_asset(destination_name: str, asset_name: str) -> AssetsDefinition:
    """The sync of one destination, downstream of its dbt sync model and the CRM fields."""
    adapter = destination(destination_name)
    model = get_asset_key_for_model([healthscore_dbt], adapter.model.rsplit(".", 1)[-1])

    @asset(
        name=asset_name,
        group_name=WRITEBACK_GROUP,
        deps=[model, crm_properties],
        retry_policy=CRM_RETRY,
        kinds={destination_name},
        description=(
            f"`{model.to_user_string()}` written to {destination_name}: only rows whose values "
            f"differ from what the CRM last confirmed. Without {adapter.credentials} it is a "
            f"dry run that records what it would send. Skipped unless {DESTINATIONS_ENV} "
            "enables it."
        ),
    )
    def _sync(
        context: AssetExecutionContext, config: SyncConfig, paths: HealthscorePaths
    ) -> MaterializeResult:
        enabled = destinations_from_env()
        if destination_name not in enabled:
            context.log.info(f"{destination_name} is not in {DESTINATIONS_ENV}; nothing sent")
            return MaterializeResult(
                metadata={"status": "disabled", "enabled_destinations": list(enabled)}
            )

        def progress(done: int, total: int) -> None:
            context.log.info(f"{destination_name}: {done} of {total} rows settled")

        with crm_failures(f"{destination_name} sync"):
            report = run_sync(
                destination_name, paths.warehouse(), force=config.force, progress=progress
            )
        return sync_result(report, asset_name)

    return _sync


hubspot_company_health = sync_asset("hubspot", "hubspot_company_health")
salesforce_account_health = sync_asset("salesforce", "salesforce_account_health")
