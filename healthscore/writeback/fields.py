"""The eight health fields written to the CRM (DESIGN §8), declared once.

Property set-up, the diff, the HubSpot payload and the Salesforce payload all read this table,
so a field cannot be added in one place and forgotten in another.

The diff compares *canonical* values: the string the CRM would store (HubSpot property values
are strings both ways). Numbers are rounded to six decimals so float noise is not a change;
NULL and "" are the same (HubSpot clears a property with ""); timestamps are UTC with
milliseconds and `Z`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from healthscore.crm.hubspot_client import iso_millis

GROUP_NAME = "customer_health"
GROUP_LABEL = "Customer health"


class Kind(StrEnum):
    NUMBER = "number"
    ENUMERATION = "enumeration"
    TEXT = "text"
    DATETIME = "datetime"


@dataclass(frozen=True)
class HealthField:
    name: str  # the HubSpot property, and the key in the state table
    salesforce_name: str
    kind: Kind
    label: str
    description: str
    options: tuple[str, ...] = ()
    multiline: bool = False
    # A field that changes every day on its own (the score's timestamp) is carried along with
    # a row that changed for another reason, but is never a reason to send the row by itself:
    # otherwise every account would be resent daily.
    triggers_send: bool = True

    def canonical(self, value: Any) -> str:
        if value is None:
            return ""
        if self.kind is Kind.NUMBER:
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(f"{self.name}: {value!r} is not a finite number")
            text = f"{number:.6f}".rstrip("0").rstrip(".")
            return "0" if text == "-0" else text
        if self.kind is Kind.DATETIME:
            if isinstance(value, str):
                value = datetime.fromisoformat(value)
            return iso_millis(value)
        return str(value)


HEALTH_FIELDS: tuple[HealthField, ...] = (
    HealthField(
        "health_score",
        "Health_Score__c",
        Kind.NUMBER,
        "Health score",
        "Customer health score, 0-100, from the warehouse.",
    ),
    HealthField(
        "health_status",
        "Health_Status__c",
        Kind.ENUMERATION,
        "Health status",
        "Colour band of the score, or the CSM override when one is active.",
        options=("green", "yellow", "red", "insufficient_data"),
    ),
    HealthField(
        "health_trend",
        "Health_Trend__c",
        Kind.ENUMERATION,
        "Health trend",
        "Score now against 30 days earlier.",
        options=("improving", "stable", "declining"),
    ),
    HealthField(
        "health_score_change_30d",
        "Health_Score_Change_30d__c",
        Kind.NUMBER,
        "Health score change (30 days)",
        "Points gained or lost over the last 30 days.",
    ),
    HealthField(
        "health_drivers",
        "Health_Drivers__c",
        Kind.TEXT,
        "Health drivers",
        "The signals that moved the score most, with their values.",
        multiline=True,
    ),
    HealthField(
        "churn_probability",
        "Churn_Probability__c",
        Kind.NUMBER,
        "Churn probability",
        "Calibrated probability of churn before the next renewal (0-1).",
    ),
    HealthField(
        "health_override",
        "Health_Override__c",
        Kind.TEXT,
        "Health override",
        "A CSM's status override and its reason, while it lasts.",
    ),
    HealthField(
        "health_updated_at",
        "Health_Updated_At__c",
        Kind.DATETIME,
        "Health updated at",
        "When the warehouse computed these values.",
        triggers_send=False,
    ),
)


def option_label(value: str) -> str:
    return value.replace("_", " ").capitalize()
