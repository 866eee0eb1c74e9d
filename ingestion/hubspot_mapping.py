"""What the `hubspot:` section says, and what each HubSpot object becomes in the contract.

`read_settings` turns the section into `HubSpotSettings`, reporting every wrong key at once.
The mapping functions turn one HubSpot object (properties as HubSpot returns them: strings)
into contract rows, leaving values as HubSpot spells them: typing and checking them is the
validator's job, so a bad value is quarantined with its reason rather than guessed at here.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from ingestion.api_landing import SOURCE_ID, Record
from ingestion.api_settings import SectionReader

SECTION = "hubspot"
BASE_URL_ENV, TOKEN_ENV = "HUBSPOT_BASE_URL", "HUBSPOT_ACCESS_TOKEN"
DEFAULT_BASE_URL = "https://api.hubapi.com"
ENTITIES = ("accounts", "overrides", "users", "contracts", "email_events", "meetings")
OBJECT_OF = {
    "accounts": "companies",
    "overrides": "companies",
    "users": "contacts",
    "contracts": "deals",
    "email_events": "emails",
    "meetings": "meetings",
}

DEFAULT_EXECUTIVE_TITLE = (
    r"(?i)\b(chief|ceo|cfo|cto|coo|cio|cro|cmo|vp|svp|evp|vice[- ]president|president|founder"
    r"|owner|head of|director)\b"
)
DEFAULT_QBR_TITLE = r"(?i)\bqbr\b|quarterly business review"


@dataclass(frozen=True)
class HubSpotSettings:
    """The `hubspot:` section, read and checked (see sources.example.yml for every key)."""

    base_url: str
    token: str
    entities: tuple[str, ...]
    archived_sweep_hours: float
    segment_property: str | None
    segment_values: dict[str, str]
    arr_property: str | None
    seats_property: str | None
    executive_title: re.Pattern[str]
    deal_filter_property: str | None
    deal_filter_values: tuple[str, ...]
    start_date_property: str | None
    end_date_property: str
    term_months: int
    won_stages: tuple[str, ...]
    lost_stages: tuple[str, ...]
    meeting_type_property: str | None
    meeting_types: dict[str, str]
    qbr_title: re.Pattern[str]
    attended_outcomes: tuple[str, ...]
    email_directions: dict[str, str]
    email_counts: dict[str, str]
    override_properties: dict[str, str]  # contract column -> company property

    def properties(self, object_type: str) -> list[str]:
        """Every property read from an object type, each once."""
        configured = [p for _, t, p in self.configured_properties() if t == object_type]
        return list(dict.fromkeys([*configured, *STANDARD_PROPERTIES[object_type]]))

    def configured_properties(self) -> list[tuple[str, str, str]]:
        """(setting, object type, property) of each property the section names."""
        named = [
            ("accounts.segment_property", "companies", self.segment_property),
            ("accounts.arr_property", "companies", self.arr_property),
            ("accounts.seats_property", "companies", self.seats_property),
            ("contracts.filter.property", "deals", self.deal_filter_property),
            ("contracts.start_date_property", "deals", self.start_date_property),
            ("contracts.end_date_property", "deals", self.end_date_property),
            ("meetings.type_property", "meetings", self.meeting_type_property),
        ]
        if "overrides" in self.entities:
            named += [
                (f"overrides.{column}_property", "companies", prop)
                for column, prop in self.override_properties.items()
            ]
        named += [
            (f"email_events.count_properties.{kind}", "emails", prop)
            for kind, prop in self.email_counts.items()
        ]
        owned = {OBJECT_OF[e] for e in self.entities}
        return [(key, t, p) for key, t, p in named if p and t in owned]


STANDARD_PROPERTIES = {
    "companies": (
        "name",
        "domain",
        "hubspot_owner_id",
        "createdate",
        "hs_parent_company_id",
        "hs_lastmodifieddate",
    ),
    "contacts": ("email", "jobtitle", "createdate", "lastmodifieddate"),
    "deals": ("amount", "closedate", "dealstage", "hs_lastmodifieddate"),
    "emails": (
        "hs_timestamp",
        "hs_email_direction",
        "hs_email_to_email",
        "hs_email_from_email",
        "hs_lastmodifieddate",
    ),
    "meetings": (
        "hs_timestamp",
        "hs_meeting_start_time",
        "hs_meeting_title",
        "hs_meeting_outcome",
        "hs_lastmodifieddate",
    ),
}


def read_settings(section: dict[str, Any]) -> HubSpotSettings:
    """The section as settings; SourceConfigError lists every problem, each naming its key."""
    reader = SectionReader(SECTION, section)
    accounts, users, contracts = (reader.part(k) for k in ("accounts", "users", "contracts"))
    meetings, emails, overrides = (
        reader.part(k) for k in ("meetings", "email_events", "overrides")
    )
    deal_filter = contracts.part("filter")
    settings = HubSpotSettings(
        base_url=reader.base_url(BASE_URL_ENV, DEFAULT_BASE_URL),
        token=reader.secret("token", TOKEN_ENV),
        entities=reader.choices("entities", ENTITIES, ENTITIES),
        archived_sweep_hours=reader.number("archived_sweep_hours", 24),
        segment_property=accounts.text("segment_property"),
        segment_values=accounts.text_map("segment_values"),
        arr_property=accounts.text("arr_property"),
        seats_property=accounts.text("seats_property"),
        executive_title=users.pattern("executive_title_pattern", DEFAULT_EXECUTIVE_TITLE),
        deal_filter_property=deal_filter.text("property"),
        deal_filter_values=deal_filter.texts("values"),
        start_date_property=contracts.text("start_date_property"),
        end_date_property=contracts.text("end_date_property", "closedate") or "closedate",
        term_months=int(contracts.number("term_months", 12)),
        won_stages=contracts.texts("won_stages", ("closedwon",)),
        lost_stages=contracts.texts("lost_stages", ("closedlost",)),
        meeting_type_property=meetings.text("type_property"),
        meeting_types=meetings.text_map("type_values"),
        qbr_title=meetings.pattern("qbr_title_pattern", DEFAULT_QBR_TITLE),
        attended_outcomes=meetings.texts("attended_outcomes", ("COMPLETED",)),
        email_directions=emails.text_map(
            "direction_types", {"EMAIL": "sent", "INCOMING_EMAIL": "reply"}
        ),
        email_counts=emails.text_map(
            "count_properties", {"open": "hs_email_open_count", "click": "hs_email_click_count"}
        ),
        override_properties={
            column: overrides.text(f"{column}_property", f"health_override_{column}") or ""
            for column in ("status", "reason", "expires_at", "set_by")
        },
    )
    wrong = sorted(set(settings.email_directions.values()) - {"sent", "reply"})
    if wrong:
        emails.problem("direction_types", f"values must be sent or reply, not {', '.join(wrong)}")
    wrong = sorted(set(settings.email_counts) - {"open", "click"})
    if wrong:
        emails.problem("count_properties", f"keys must be open or click, not {', '.join(wrong)}")
    if settings.deal_filter_property and not settings.deal_filter_values:
        deal_filter.problem("values", "required with contracts.filter.property")
    reader.finish()
    return settings


# -- mapping: one HubSpot object → contract rows ---------------------------------------------


def account_row(obj: dict[str, Any], owners: dict[str, str], s: HubSpotSettings) -> Record:
    p = obj["properties"]
    segment = p.get(s.segment_property) if s.segment_property else None
    return {
        SOURCE_ID: obj["id"],
        "account_id": obj["id"],
        "name": p.get("name"),
        "domain": p.get("domain"),
        "segment": s.segment_values.get(segment, segment) if segment else None,
        "owner_id": p.get("hubspot_owner_id"),
        "owner_email": owners.get(p.get("hubspot_owner_id") or ""),
        "arr": p.get(s.arr_property) if s.arr_property else None,
        "seats": p.get(s.seats_property) if s.seats_property else None,
        "created_at": p.get("createdate"),
        "parent_account_id": p.get("hs_parent_company_id"),
        "archived_at": obj.get("archivedAt") if obj.get("archived") else None,
    }


def override_row(obj: dict[str, Any], props: dict[str, str]) -> Record:
    p = obj["properties"]
    values = {column: p.get(prop) for column, prop in props.items()}
    return {
        SOURCE_ID: obj["id"],
        "account_id": obj["id"],
        **values,
        "status": values["status"].lower(),
    }


def user_rows(
    obj: dict[str, Any], companies: list[str], s: HubSpotSettings, _: Any
) -> list[Record]:
    p = obj["properties"]
    title = p.get("jobtitle")
    return [
        {
            SOURCE_ID: obj["id"],
            "user_id": obj["id"],
            "account_id": companies[0] if companies else None,
            "email": p.get("email"),
            "role": title,
            "is_executive": bool(s.executive_title.search(title)) if title else None,
            "created_at": p.get("createdate"),
        }
    ]


def contract_rows(
    obj: dict[str, Any], companies: list[str], s: HubSpotSettings, _: Any
) -> list[Record]:
    p = obj["properties"]
    if s.deal_filter_property and p.get(s.deal_filter_property) not in s.deal_filter_values:
        return []
    stage = p.get("dealstage")
    outcome = (
        "renewed" if stage in s.won_stages else "churned" if stage in s.lost_stages else "open"
    )
    end = _day(p.get(s.end_date_property))
    start = (
        _day(p.get(s.start_date_property))
        if s.start_date_property
        else _months_before(end, s.term_months)
    )
    return [
        {
            SOURCE_ID: obj["id"],
            "contract_id": obj["id"],
            "account_id": companies[0] if companies else None,
            "start_date": start,
            "end_date": end,
            "arr": p.get("amount"),
            "outcome": outcome,
            "outcome_date": _day(p.get("closedate")) if outcome != "open" else None,
        }
    ]


def email_event_rows(
    obj: dict[str, Any], companies: list[str], s: HubSpotSettings, _: Any
) -> list[Record]:
    p = obj["properties"]
    kind = s.email_directions.get(p.get("hs_email_direction") or "")
    if kind is None:
        return []
    contact = p.get("hs_email_to_email" if kind == "sent" else "hs_email_from_email")
    kinds = [kind]
    if kind == "sent":
        kinds += [k for k, prop in s.email_counts.items() if _positive(p.get(prop))]
    return [
        {
            SOURCE_ID: f"{obj['id']}:{k}",
            "account_id": companies[0] if companies else None,
            "event_type": k,
            "occurred_at": p.get("hs_timestamp"),
            "contact_email": (contact or "").split(";")[0].strip() or None,
        }
        for k in kinds
    ]


def meeting_rows(
    obj: dict[str, Any], companies: list[str], s: HubSpotSettings, context: dict[str, Any]
) -> list[Record]:
    p = obj["properties"]
    raw_type = p.get(s.meeting_type_property) if s.meeting_type_property else None
    title = p.get("hs_meeting_title") or ""
    if raw_type in s.meeting_types:
        meeting_type = s.meeting_types[raw_type]
    elif s.qbr_title.search(title):
        meeting_type = "qbr"
    else:
        meeting_type = raw_type
    outcome = p.get("hs_meeting_outcome")
    contacts = context["contacts"].get(obj["id"], [])
    return [
        {
            SOURCE_ID: obj["id"],
            "account_id": companies[0] if companies else None,
            "started_at": p.get("hs_meeting_start_time") or p.get("hs_timestamp"),
            "meeting_type": meeting_type,
            "attended": outcome in s.attended_outcomes if outcome else None,
            "executive_attended": any(c in context["executives"] for c in contacts),
        }
    ]


def _day(value: str | None) -> str | None:
    """The date part of a HubSpot date or datetime value (left as given when it has none)."""
    return value[:10] if value and re.match(r"\d{4}-\d{2}-\d{2}", value) else value


def _months_before(day: str | None, months: int) -> str | None:
    try:
        end = date.fromisoformat(day or "")
    except ValueError:
        return None
    year, month = divmod(end.year * 12 + end.month - 1 - months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(end.day, last)).isoformat()


def _positive(value: str | None) -> bool:
    try:
        return float(value or 0) > 0
    except ValueError:
        return False
