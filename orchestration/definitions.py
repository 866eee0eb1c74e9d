"""The healthscore code location: `dagster dev -m orchestration.definitions`."""

from dagster import Definitions, in_process_executor

from orchestration.alerts import (
    alert_deliveries,
    deliver_alerts_after_refresh,
    deliver_alerts_job,
    no_held_alerts,
)
from orchestration.calibrate import calibration_proposal
from orchestration.freshness import dbt_source_freshness
from orchestration.ingest import raw_files
from orchestration.resources import build_resources
from orchestration.schedules import (
    calibration_job,
    calibration_schedule,
    daily_refresh_job,
    daily_refresh_schedule,
)
from orchestration.transform import healthscore_dbt
from orchestration.writeback import (
    crm_properties,
    hubspot_company_health,
    salesforce_account_health,
)

defs = Definitions(
    assets=[
        raw_files,
        healthscore_dbt,
        crm_properties,
        hubspot_company_health,
        salesforce_account_health,
        alert_deliveries,
        calibration_proposal,
    ],
    asset_checks=[dbt_source_freshness, no_held_alerts],
    jobs=[daily_refresh_job, deliver_alerts_job, calibration_job],
    schedules=[daily_refresh_schedule, calibration_schedule],
    sensors=[deliver_alerts_after_refresh],
    resources=build_resources(),
    # DuckDB takes one writing process at a time (DESIGN §3). Every step of a run executes in
    # the run's own process, one after another, so ingest, dbt and write-back never overlap;
    # the instance's run queue (dagster.yaml, max_concurrent_runs: 1) does the same across runs.
    executor=in_process_executor,
)
