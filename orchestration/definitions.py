"""The healthscore code location: `dagster dev -m orchestration.definitions`."""

from dagster import Definitions, in_process_executor

from orchestration.freshness import dbt_source_freshness
from orchestration.ingest import raw_files
from orchestration.resources import build_resources
from orchestration.schedules import daily_refresh_job, daily_refresh_schedule
from orchestration.transform import healthscore_dbt

defs = Definitions(
    assets=[raw_files, healthscore_dbt],
    asset_checks=[dbt_source_freshness],
    jobs=[daily_refresh_job],
    schedules=[daily_refresh_schedule],
    resources=build_resources(),
    # DuckDB takes one writing process at a time (DESIGN §3). Every step of a run executes in
    # the run's own process, one after another, so ingest, dbt and write-back never overlap;
    # the instance's run queue (dagster.yaml, max_concurrent_runs: 1) does the same across runs.
    executor=in_process_executor,
)
