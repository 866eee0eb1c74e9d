"""Reverse ETL: write health scores back to HubSpot and Salesforce (DESIGN §8).

`run_sync` diffs a destination's sync model against what the CRM last confirmed and sends only
the changes; `ensure_properties` prepares the CRM fields before the first sync. Both are plain
Python, used by the `healthscore` CLI and by Dagster assets.
"""

from healthscore.writeback.engine import SyncReport, run_sync
from healthscore.writeback.properties import PropertiesReport, ensure_properties

__all__ = ["PropertiesReport", "SyncReport", "ensure_properties", "run_sync"]
