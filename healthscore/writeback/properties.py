"""Prepare the CRM for the sync: the `customer_health` fields, created once, checked after.

HubSpot: the property group and each property are created through the properties API.
Creating is idempotent by construction: 409 means "exists", and an existing property is left
as it is (an admin may have relabelled it) but checked, because a different type or an
enumeration without an option the sync writes would make every batch fail. The alert tasks'
`healthscore_alert_id` property is created on tasks the same way.

Salesforce: custom fields are metadata an admin deploys; this checks through describe that
they exist with compatible types and reports what is missing. It creates nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from healthscore.crm.errors import RequestRejected
from healthscore.crm.hubspot_client import TASK_ALERT_ID_PROPERTY, HubSpotClient
from healthscore.crm.salesforce_client import TASK_ALERT_ID_FIELD, SalesforceClient
from healthscore.writeback.destinations import destination
from healthscore.writeback.fields import (
    GROUP_LABEL,
    GROUP_NAME,
    HEALTH_FIELDS,
    HealthField,
    Kind,
    option_label,
)

HUBSPOT_TYPES = {
    Kind.NUMBER: ("number", "number"),
    Kind.ENUMERATION: ("enumeration", "select"),
    Kind.TEXT: ("string", "text"),
    Kind.DATETIME: ("datetime", "date"),
}
SALESFORCE_TYPES = {
    Kind.NUMBER: {"double", "percent", "currency", "int"},
    Kind.ENUMERATION: {"picklist"},
    Kind.TEXT: {"string", "textarea"},
    Kind.DATETIME: {"datetime"},
}


@dataclass
class PropertiesReport:
    destination: str
    dry_run: bool = False
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # field → what is wrong with it
    api_calls: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def metadata(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def hubspot_property_specs() -> list[tuple[str, dict[str, Any]]]:
    """(object type, PropertyCreate fields) for every property healthscore writes."""
    specs = [("companies", _hubspot_spec(f)) for f in HEALTH_FIELDS]
    alert_id = {
        "name": TASK_ALERT_ID_PROPERTY,
        "label": "Healthscore alert id",
        "description": "The alert that created this task; found again by it, never duplicated.",
        "type": "string",
        "field_type": "text",
        "group_name": GROUP_NAME,
    }
    return [*specs, ("tasks", alert_id)]


def _hubspot_spec(health_field: HealthField) -> dict[str, Any]:
    type_, field_type = HUBSPOT_TYPES[health_field.kind]
    if health_field.multiline:
        field_type = "textarea"
    return {
        "name": health_field.name,
        "label": health_field.label,
        "description": health_field.description,
        "type": type_,
        "field_type": field_type,
        "group_name": GROUP_NAME,
        "options": [(value, option_label(value)) for value in health_field.options],
    }


def ensure_properties(
    destination_name: str = "hubspot", *, client: Any | None = None, dry_run: bool | None = None
) -> PropertiesReport:
    """Create (HubSpot) or check (Salesforce) the fields the sync and alert tasks write.

    Without credentials this is a dry run that lists what it would create. The report's
    `problems` name every field whose existing definition the sync cannot write to.
    """
    adapter = destination(destination_name)
    if client is None and dry_run is not True:
        client = adapter.connect()
    report = PropertiesReport(adapter.name, dry_run=client is None or bool(dry_run))
    if report.dry_run:
        report.created = [
            _label(object_type, spec["name"])
            for object_type, spec in (
                hubspot_property_specs() if adapter.name == "hubspot" else _salesforce_fields()
            )
        ]
        return report
    calls_before = client.stats.calls
    if isinstance(client, HubSpotClient):
        _ensure_hubspot(client, report)
    else:
        _check_salesforce(client, report)
    report.api_calls = client.stats.calls - calls_before
    return report


def _ensure_hubspot(client: HubSpotClient, report: PropertiesReport) -> None:
    for object_type in ("companies", "tasks"):
        label = _label(object_type, f"group {GROUP_NAME}")
        if _created(lambda o=object_type: client.create_property_group(o, GROUP_NAME, GROUP_LABEL)):
            report.created.append(label)
        else:
            report.existing.append(label)
    for object_type, spec in hubspot_property_specs():
        label = _label(object_type, spec["name"])
        if _created(lambda o=object_type, s=spec: client.create_property(o, s)):
            report.created.append(label)
            continue
        report.existing.append(label)
        problem = _hubspot_mismatch(spec, client.get_property(object_type, spec["name"]))
        if problem:
            report.problems[label] = problem


def _created(create: Any) -> bool:
    """Run a create; False when it already existed (409), which is the idempotent case."""
    try:
        create()
    except RequestRejected as exc:
        if exc.status != 409:
            raise
        return False
    return True


def _hubspot_mismatch(spec: dict[str, Any], found: dict[str, Any]) -> str:
    if found["type"] != spec["type"]:
        return f"type is {found['type']!r}, the sync writes {spec['type']!r}"
    absent = [value for value, _ in spec.get("options") or () if value not in found["options"]]
    return f"enumeration lacks options {absent}" if absent else ""


def _salesforce_fields() -> list[tuple[str, dict[str, Any]]]:
    fields = [
        (
            "Account",
            {"name": f.salesforce_name, "types": SALESFORCE_TYPES[f.kind], "options": f.options},
        )
        for f in HEALTH_FIELDS
    ]
    return [*fields, ("Task", {"name": TASK_ALERT_ID_FIELD, "types": {"string"}, "options": ()})]


def _check_salesforce(client: SalesforceClient, report: PropertiesReport) -> None:
    described: dict[str, dict[str, dict[str, Any]]] = {}
    for sobject, spec in _salesforce_fields():
        if sobject not in described:
            described[sobject] = client.describe_fields(sobject)
        label = _label(sobject, spec["name"])
        entry = described[sobject].get(spec["name"])
        if entry is None:
            report.problems[label] = "missing: an admin must deploy this custom field"
            continue
        report.existing.append(label)
        if entry.get("type") not in spec["types"]:
            expected = " or ".join(sorted(spec["types"]))
            report.problems[label] = f"type is {entry.get('type')!r}, the sync needs {expected}"
            continue
        values = {
            v.get("value") for v in entry.get("picklistValues") or [] if v.get("active", True)
        }
        absent = [value for value in spec["options"] if value not in values]
        if absent:
            report.problems[label] = f"picklist lacks values {absent}"


def _label(object_type: str, name: str) -> str:
    return f"{object_type}.{name}"
