"""The daily refresh: load the source files, then `dbt build` everything downstream of them."""

from dagster import AssetSelection, DefaultScheduleStatus, ScheduleDefinition, define_asset_job

from orchestration.ingest import raw_files
from orchestration.transform import healthscore_dbt

daily_refresh_job = define_asset_job(
    "daily_refresh",
    selection=AssetSelection.assets(raw_files, healthscore_dbt),
    description="Ingest every contract file, then build and test the dbt project.",
)

daily_refresh_schedule = ScheduleDefinition(
    job=daily_refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    # On by default: fresh scores every morning are the product, not an opt-in.
    default_status=DefaultScheduleStatus.RUNNING,
)
