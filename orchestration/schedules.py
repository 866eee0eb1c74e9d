"""The daily refresh (load, `dbt build`, CRM write-back) and the monthly calibration.

Alerts are not a step of the refresh: `deliver_alerts_after_refresh` (orchestration/alerts.py)
starts their delivery when the refresh has built them.
"""

from dagster import AssetSelection, DefaultScheduleStatus, ScheduleDefinition, define_asset_job

from orchestration.calibrate import calibration_proposal
from orchestration.ingest import raw_files
from orchestration.transform import healthscore_dbt
from orchestration.writeback import (
    crm_properties,
    hubspot_company_health,
    salesforce_account_health,
)

daily_refresh_job = define_asset_job(
    "daily_refresh",
    selection=AssetSelection.assets(
        raw_files,
        healthscore_dbt,
        crm_properties,
        hubspot_company_health,
        salesforce_account_health,
    ),
    description=(
        "Ingest every contract file, build and test the dbt project, then write the scores to "
        "the enabled CRMs (a dry run without credentials)."
    ),
)

daily_refresh_schedule = ScheduleDefinition(
    job=daily_refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    # On by default: fresh scores every morning are the product, not an opt-in.
    default_status=DefaultScheduleStatus.RUNNING,
)

calibration_job = define_asset_job(
    "monthly_calibration",
    selection=AssetSelection.assets(calibration_proposal),
    description="Propose calibrated weights from renewal and churn outcomes, for review.",
)

calibration_schedule = ScheduleDefinition(
    job=calibration_job,
    # After the first refresh of the month, which the run queue lets finish first.
    cron_schedule="0 7 1 * *",
    execution_timezone="UTC",
    # Off by default: a proposal is worth writing once there are enough renewal and churn
    # outcomes and someone reviews it monthly; until then it is run on demand.
    default_status=DefaultScheduleStatus.STOPPED,
)
