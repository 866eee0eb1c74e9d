"""The two CRMs as thin adapters over one engine.

Everything the CRMs share — reading the sync model, the diff, batching, the safety valve,
state — lives in `engine`. An adapter knows only its CRM's names, batch size, wire format and
how to build a client from the environment.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from healthscore.crm.batch import BatchResult
from healthscore.crm.hubspot_client import HubSpotClient, HubSpotSettings
from healthscore.crm.salesforce_client import SalesforceClient, SalesforceSettings
from healthscore.writeback.fields import HEALTH_FIELDS, HealthField, Kind
from healthscore.writeback.state import SyncRow


class Destination(ABC):
    name: str
    model: str  # the dbt sync model: one row per account, CRM id plus the fields to write
    record_id_column: str
    batch_size: int
    credentials: str  # the variables to set, named when a run falls back to a dry run

    @abstractmethod
    def column(self, field: HealthField) -> str:
        """The sync model's column for a health field."""

    @abstractmethod
    def payload(self, row: SyncRow) -> dict[str, Any]:
        """The record exactly as it goes over the wire (also what a dry run records)."""

    @abstractmethod
    def connect(self) -> Any | None:
        """A client built from the environment, or None when no credentials are set."""

    @abstractmethod
    def send(self, client: Any, rows: Sequence[SyncRow]) -> BatchResult:
        """Write one batch; raises `CrmError` when the batch as a whole failed."""


class HubSpotCompanies(Destination):
    name = "hubspot"
    model = "main.sync_hubspot__companies"
    record_id_column = "hubspot_company_id"
    batch_size = 100
    credentials = "HUBSPOT_ACCESS_TOKEN"

    def column(self, field: HealthField) -> str:
        return field.name

    def payload(self, row: SyncRow) -> dict[str, Any]:
        return {"id": row.record_id, "properties": dict(row.values)}

    def connect(self) -> HubSpotClient | None:
        settings = HubSpotSettings.from_env()
        return HubSpotClient(settings) if settings.access_token else None

    def send(self, client: HubSpotClient, rows: Sequence[SyncRow]) -> BatchResult:
        return client.update_companies([(row.record_id, row.values) for row in rows])


class SalesforceAccounts(Destination):
    name = "salesforce"
    model = "main.sync_salesforce__accounts"
    record_id_column = "salesforce_account_id"
    batch_size = 200
    credentials = "SALESFORCE_INSTANCE_URL + SALESFORCE_ACCESS_TOKEN (or username/password)"

    def column(self, field: HealthField) -> str:
        return field.salesforce_name

    def payload(self, row: SyncRow) -> dict[str, Any]:
        return {"attributes": {"type": "Account"}, "id": row.record_id, **self._fields(row)}

    def connect(self) -> SalesforceClient | None:
        settings = SalesforceSettings.from_env()
        return SalesforceClient(settings) if settings.has_credentials else None

    def send(self, client: SalesforceClient, rows: Sequence[SyncRow]) -> BatchResult:
        return client.update_records(
            "Account", [(row.record_id, self._fields(row)) for row in rows]
        )

    @staticmethod
    def _fields(row: SyncRow) -> dict[str, Any]:
        """Typed JSON: numbers as numbers, and null (not "") to clear a field."""
        fields: dict[str, Any] = {}
        for field in HEALTH_FIELDS:
            value = row.values[field.name]
            if not value:
                fields[field.salesforce_name] = None
            elif field.kind is Kind.NUMBER:
                fields[field.salesforce_name] = float(value)
            else:
                fields[field.salesforce_name] = value
        return fields


DESTINATIONS: dict[str, Destination] = {
    d.name: d for d in (HubSpotCompanies(), SalesforceAccounts())
}


def destination(name: str) -> Destination:
    try:
        return DESTINATIONS[name]
    except KeyError:
        known = sorted(DESTINATIONS)
        raise ValueError(f"unknown destination {name!r}; expected one of {known}") from None
