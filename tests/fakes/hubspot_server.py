"""A local HubSpot portal speaking CRM v3, for tests of anything that talks to HubSpot.

Endpoints (object types: companies, contacts, deals, tasks, and the engagements meetings and
emails):
- `GET|POST /crm/v3/objects/{type}`: list (`limit` ≤ 100, `after`, `properties`,
  `archived`) and create (201, with `associations`).
- `GET|PATCH|DELETE /crm/v3/objects/{type}/{id}`: read (404 when missing or archived),
  update, archive (204).
- `POST /crm/v3/objects/{type}/batch/{read|create|update|archive}`: ≤ 100 inputs; update and
  read answer 207 with `OBJECT_NOT_FOUND` errors (`context.ids`) for missing/archived ids and
  apply the rest; an invalid value rejects the whole batch with 400 `VALIDATION_ERROR`.
- `POST /crm/v3/objects/{type}/search`: `filterGroups` (EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN,
  NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY, CONTAINS_TOKEN), one sort, `properties`, `limit`
  ≤ 200, `after` paging up to 10 000 results (`search_result_cap`), `total`. Own limit of 5
  requests/second (policy `SECONDLY`), and optionally an index lag (`search_index_delay`) as in
  HubSpot, where new objects show up in search a few seconds after they are created.
- `GET /crm/v3/owners` (`limit` ≤ 500, `after`, `archived`), `GET /crm/v3/owners/{id}`.
- `POST /crm/v4/associations/{from}/{to}/batch/read`: the associations seeded with `associate`
  (or made on create), answered 207 with `NO_ASSOCIATIONS_FOUND` for ids that have none.
- `GET|POST /crm/v3/properties/{type}`, `GET|PATCH|DELETE /crm/v3/properties/{type}/{name}`,
  `GET|POST /crm/v3/properties/{type}/groups`, `GET /crm/v3/properties/{type}/groups/{name}`:
  201 on create, 409 `OBJECT_ALREADY_EXISTS` on a duplicate.

Behaviour as HubSpot's: Bearer token (else 401 `INVALID_AUTHENTICATION`); property values are
strings both ways and validated against the property definitions (type, enumeration options,
read-only); timestamps ISO-8601 with milliseconds and `Z`; `hs_lastmodifieddate` moves on
every write; errors are JSON with `status`, `message`, `correlationId`, `category`. Every
authenticated request counts against the portal's rolling ten-second limit (default 100, the
Starter private-app limit) and daily limit; responses carry the `X-HubSpot-RateLimit-*`
headers, and beyond the limit the answer is 429 `RATE_LIMIT` / `TEN_SECONDLY_ROLLING` without
Retry-After. Scripted faults (see `tests.fakes.server`) come on top; a `partial_next` fault
makes records of the next batch update fail with 207 (category `CONFLICT` unless given).

Direct access for tests, without HTTP or limits: `add`, `update`, `archive`, `associate`,
`add_owner`, `define_property`, `get`, `all`, `history`; `received` holds every admitted request
with its query and body, so a test can assert exactly what a client asked for.

Usage::

    with FakeHubSpot() as hs:
        company = hs.add("companies", name="Acme")
        client = HubSpotClient(HubSpotSettings(base_url=hs.url, access_token=hs.token))
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes.server import (
    FakeServer,
    Fault,
    Reply,
    Request,
    Response,
    RollingWindow,
    correlation_id,
)

BATCH_LIMIT = 100
SEARCH_PAGE_LIMIT = 200
SEARCH_RESULT_CAP = 10_000
LIST_PAGE_LIMIT = 100

OWNER_PAGE_LIMIT = 500

OBJECT_TYPES = ("companies", "contacts", "deals", "tasks", "meetings", "emails")
OBJECT_LABEL = {
    "companies": "COMPANY",
    "contacts": "CONTACT",
    "deals": "DEAL",
    "tasks": "TASK",
    "meetings": "MEETING",
    "emails": "EMAIL",
}
CREATED_PROPERTY = {
    "contacts": "createdate",
    "tasks": "hs_createdate",
    "meetings": "hs_createdate",
    "emails": "hs_createdate",
}
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate"}
DEFAULT_GROUP = {
    "companies": "companyinformation",
    "contacts": "contactinformation",
    "deals": "dealinformation",
    "tasks": "taskinformation",
    "meetings": "meetinginformation",
    "emails": "emailinformation",
}
# HUBSPOT_DEFINED association type ids: (from type, type id) -> to type
ASSOCIATION_TYPES = {
    ("tasks", 192): "companies",
    ("tasks", 204): "contacts",
    ("tasks", 216): "deals",
    ("companies", 280): "contacts",
    ("companies", 342): "deals",
    ("contacts", 1): "companies",  # primary company
    ("contacts", 279): "companies",
    ("deals", 5): "companies",  # primary company
    ("deals", 341): "companies",
    ("meetings", 188): "companies",
    ("meetings", 200): "contacts",
    ("emails", 186): "companies",
    ("emails", 198): "contacts",
}
FIELD_TYPES = {
    "string": {"text", "textarea", "html", "phonenumber", "file"},
    "number": {"number", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
}
STRING_LIMIT = 65_536
DEAL_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "contractsent",
    "closedwon",
    "closedlost",
)
MEETING_OUTCOMES = ("SCHEDULED", "COMPLETED", "RESCHEDULED", "NO_SHOW", "CANCELED")
EMAIL_DIRECTIONS = ("EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _default_properties(object_type: str) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(name, type, fieldType, options) of the built-in properties a portal starts with."""
    created = CREATED_PROPERTY.get(object_type, "createdate")
    modified = MODIFIED_PROPERTY.get(object_type, "hs_lastmodifieddate")
    common = [
        ("hs_object_id", "number", "number", ()),
        (created, "datetime", "date", ()),
        (modified, "datetime", "date", ()),
        ("hubspot_owner_id", "enumeration", "select", ()),
    ]
    specific = {
        "companies": [
            ("name", "string", "text", ()),
            ("domain", "string", "text", ()),
            ("industry", "string", "text", ()),
            ("annualrevenue", "number", "number", ()),
            ("hs_parent_company_id", "number", "number", ()),
        ],
        "contacts": [
            ("email", "string", "text", ()),
            ("firstname", "string", "text", ()),
            ("lastname", "string", "text", ()),
            ("jobtitle", "string", "text", ()),
        ],
        "deals": [
            ("dealname", "string", "text", ()),
            ("amount", "number", "number", ()),
            ("closedate", "datetime", "date", ()),
            ("dealstage", "enumeration", "radio", DEAL_STAGES),
            ("dealtype", "enumeration", "radio", ("newbusiness", "existingbusiness")),
            ("pipeline", "enumeration", "select", ("default",)),
        ],
        "meetings": [
            ("hs_timestamp", "datetime", "date", ()),
            ("hs_meeting_title", "string", "text", ()),
            ("hs_meeting_start_time", "datetime", "date", ()),
            ("hs_meeting_end_time", "datetime", "date", ()),
            ("hs_meeting_outcome", "enumeration", "select", MEETING_OUTCOMES),
            ("hs_activity_type", "enumeration", "select", ("QBR", "Check-in", "Onboarding")),
            ("hs_attendee_owner_ids", "enumeration", "checkbox", ()),
        ],
        "emails": [
            ("hs_timestamp", "datetime", "date", ()),
            ("hs_email_subject", "string", "text", ()),
            ("hs_email_text", "string", "textarea", ()),
            ("hs_email_direction", "enumeration", "select", EMAIL_DIRECTIONS),
            ("hs_email_status", "enumeration", "select", ("SENT", "BOUNCED", "FAILED")),
            ("hs_email_to_email", "string", "text", ()),
            ("hs_email_from_email", "string", "text", ()),
            ("hs_email_open_count", "number", "number", ()),
            ("hs_email_click_count", "number", "number", ()),
        ],
        "tasks": [
            ("hs_timestamp", "datetime", "date", ()),
            ("hs_task_subject", "string", "text", ()),
            ("hs_task_body", "string", "html", ()),
            (
                "hs_task_status",
                "enumeration",
                "select",
                ("NOT_STARTED", "IN_PROGRESS", "WAITING", "COMPLETED", "DEFERRED"),
            ),
            ("hs_task_priority", "enumeration", "select", ("NONE", "LOW", "MEDIUM", "HIGH")),
            ("hs_task_type", "enumeration", "select", ("TODO", "CALL", "EMAIL")),
        ],
    }
    return common + specific[object_type]


@dataclass
class CrmObject:
    id: str
    properties: dict[str, str | None]
    created_at: str
    updated_at: str
    searchable_from: float  # monotonic time from which search sees the object
    archived: bool = False
    archived_at: str | None = None
    associations: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, str | None]] = field(default_factory=list)  # every state it held


class FakeHubSpot(FakeServer):
    default_fault_path = r"^/crm/v3/objects/companies/batch/update$"

    def __init__(
        self,
        *,
        token: str = "pat-na1-test-token",
        rate_limit: int | None = 100,
        window_seconds: float = 10.0,
        daily_limit: int = 250_000,
        search_per_second: int | None = 5,
        search_index_delay: float = 0.0,
        portal_id: int = 12345678,
        search_result_cap: int = SEARCH_RESULT_CAP,
    ) -> None:
        super().__init__()
        self.token = token
        self.search_result_cap = search_result_cap
        self.portal_id = portal_id
        self.rate_limit = rate_limit
        self.window_seconds = window_seconds
        self.daily_limit = daily_limit
        self.search_index_delay = search_index_delay
        self._window = RollingWindow(rate_limit, window_seconds) if rate_limit else None
        self._search_window = RollingWindow(search_per_second, 1.0) if search_per_second else None
        self._daily_used = 0
        self._ids = itertools.count(10_000_001)
        self.objects: dict[str, dict[str, CrmObject]] = {t: {} for t in OBJECT_TYPES}
        self.groups: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in OBJECT_TYPES}
        self.properties: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in OBJECT_TYPES}
        self.owners: dict[str, dict[str, Any]] = {}
        self.received: list[Request] = []  # admitted requests, bodies included, oldest first
        self._owner_ids = itertools.count(880_001)
        for object_type in OBJECT_TYPES:
            self._put_group(object_type, DEFAULT_GROUP[object_type], "Information")
            for name, type_, field_type, options in _default_properties(object_type):
                self.define_property(
                    object_type, name, type_, field_type, options=options, hubspot_defined=True
                )
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", _path(r"/crm/v3/properties/{t}/groups"), self._list_groups),
            ("POST", _path(r"/crm/v3/properties/{t}/groups"), self._create_group),
            ("GET", _path(r"/crm/v3/properties/{t}/groups/{n}"), self._get_group),
            ("GET", _path(r"/crm/v3/properties/{t}"), self._list_properties),
            ("POST", _path(r"/crm/v3/properties/{t}"), self._create_property),
            ("GET", _path(r"/crm/v3/properties/{t}/{n}"), self._get_property),
            ("PATCH", _path(r"/crm/v3/properties/{t}/{n}"), self._update_property),
            ("DELETE", _path(r"/crm/v3/properties/{t}/{n}"), self._archive_property),
            ("POST", _path(r"/crm/v3/objects/{t}/batch/update"), self._batch_update),
            ("POST", _path(r"/crm/v3/objects/{t}/batch/read"), self._batch_read),
            ("POST", _path(r"/crm/v3/objects/{t}/batch/create"), self._batch_create),
            ("POST", _path(r"/crm/v3/objects/{t}/batch/archive"), self._batch_archive),
            ("POST", _path(r"/crm/v3/objects/{t}/search"), self._search),
            ("GET", _path(r"/crm/v3/objects/{t}"), self._list_objects),
            ("POST", _path(r"/crm/v3/objects/{t}"), self._create_object),
            ("GET", _path(r"/crm/v3/objects/{t}/{n}"), self._get_object),
            ("PATCH", _path(r"/crm/v3/objects/{t}/{n}"), self._update_object),
            ("DELETE", _path(r"/crm/v3/objects/{t}/{n}"), self._archive_object),
            ("GET", _path(r"/crm/v3/owners"), self._list_owners),
            ("GET", _path(r"/crm/v3/owners/{n}"), self._get_owner),
            ("POST", _path(r"/crm/v4/associations/{t}/{u}/batch/read"), self._read_associations),
        ]

    # -- direct access for tests (no HTTP, no rate limit) -------------------------------------

    def add(
        self,
        object_type: str,
        properties: dict[str, Any] | None = None,
        *,
        object_id: str | None = None,
        created_at: str | None = None,
        **props: Any,
    ) -> str:
        """Seed an object; returns its id. `object_id` and `created_at` seed what HubSpot would
        assign (a numeric id; the creation time, any ISO-8601 moment), e.g. to deliver a dataset
        whose ids and history already exist."""
        with self.lock:
            values = {
                k: None if v is None else str(v) for k, v in {**(properties or {}), **props}.items()
            }
            if object_id is not None and (
                not str(object_id).isdigit() or str(object_id) in self.objects[object_type]
            ):
                raise ValueError(f"{object_type} id {object_id!r} is not numeric or is taken")
            return self._insert(object_type, values, object_id, created_at).id

    def get(self, object_type: str, object_id: str) -> dict[str, str | None]:
        """An object's current property values (archived objects included)."""
        with self.lock:
            return dict(self.objects[object_type][object_id].properties)

    def all(self, object_type: str) -> dict[str, dict[str, str | None]]:
        """Every live (not archived) object: id -> property values."""
        with self.lock:
            return {
                oid: dict(obj.properties)
                for oid, obj in self.objects[object_type].items()
                if not obj.archived
            }

    def history(self, object_type: str, object_id: str) -> list[dict[str, str | None]]:
        """Every set of property values the object has held, oldest first."""
        with self.lock:
            return [dict(values) for values in self.objects[object_type][object_id].history]

    def update(self, object_type: str, object_id: str, **props: Any) -> None:
        """Change an object as a user would (moves `hs_lastmodifieddate`)."""
        with self.lock:
            values = {k: None if v is None else str(v) for k, v in props.items()}
            self._apply(object_type, self.objects[object_type][object_id], values)

    def archive(self, object_type: str, object_id: str) -> None:
        with self.lock:
            obj = self.objects[object_type][object_id]
            obj.archived, obj.archived_at = True, now_iso()

    def associate(self, object_type: str, object_id: str, to_type: str, to_id: str) -> None:
        """Seed an association (the lowest HUBSPOT_DEFINED type id for the pair)."""
        type_id = min(
            i
            for (t, i), target in ASSOCIATION_TYPES.items()
            if (t, target) == (object_type, to_type)
        )
        with self.lock:
            self.objects[object_type][object_id].associations.append(
                {
                    "toObjectType": to_type,
                    "toObjectId": str(to_id),
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": type_id,
                }
            )

    def add_owner(
        self, email: str, first_name: str = "", last_name: str = "", *, owner_id: str | None = None
    ) -> str:
        """Seed a user of the portal who can own records; returns the owner id (`owner_id` seeds
        a given one)."""
        stamp = now_iso()
        with self.lock:
            owner_id = str(owner_id or next(self._owner_ids))
            self.owners[owner_id] = {
                "id": owner_id,
                "email": email,
                "firstName": first_name,
                "lastName": last_name,
                "userId": int(owner_id) + 1_000_000,
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
            }
            return owner_id

    def associations(self, object_type: str, object_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.objects[object_type][object_id].associations)

    def define_property(
        self,
        object_type: str,
        name: str,
        type_: str,
        field_type: str,
        *,
        options: Iterable[str] = (),
        group: str | None = None,
        hubspot_defined: bool = False,
        label: str | None = None,
    ) -> None:
        """Seed a property definition (e.g. one with the wrong type, to test the set-up)."""
        stamp = now_iso()
        with self.lock:
            self.properties[object_type][name] = {
                "name": name,
                "label": label or name,
                "type": type_,
                "fieldType": field_type,
                "description": "",
                "groupName": group or DEFAULT_GROUP[object_type],
                "options": [
                    {"label": value, "value": value, "displayOrder": i, "hidden": False}
                    for i, value in enumerate(options)
                ],
                "displayOrder": -1,
                "calculated": False,
                "externalOptions": name in ("hubspot_owner_id", "hs_attendee_owner_ids"),
                "hasUniqueValue": False,
                "hidden": False,
                "hubspotDefined": hubspot_defined,
                "formField": not hubspot_defined,
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
                "modificationMetadata": {
                    "archivable": not hubspot_defined,
                    "readOnlyDefinition": hubspot_defined,
                    "readOnlyValue": name in self._read_only(object_type),
                },
            }

    # -- service --------------------------------------------------------------------------

    def error_body(self, status: int, message: str) -> tuple[Any, dict[str, str]]:
        if status == 429:
            return self._rate_limit_body("TEN_SECONDLY_ROLLING"), {}
        if status in (502, 504):  # HubSpot's edge answers gateway errors with HTML
            page = f"<html><body><h1>{status} Bad gateway</h1></body></html>".encode()
            return page, {"Content-Type": "text/html"}
        category = "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR"
        return _error(message, category), {}

    def handle(self, request: Request, fault: Fault | None) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return Response(
                401,
                _error(
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication.",
                    "INVALID_AUTHENTICATION",
                ),
            )
        limits = self._admit(request)
        if isinstance(limits, Response):
            return limits
        self.received.append(request)
        for method, pattern, endpoint in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                groups = match.groupdict()
                object_type = groups.get("t")
                for named in (object_type, groups.get("u")):
                    if named is not None and named not in OBJECT_TYPES:
                        raise Reply(
                            Response(
                                400,
                                _error(
                                    f"Unable to infer object type from: {named}",
                                    "VALIDATION_ERROR",
                                ),
                            )
                        )
                response = endpoint(request, object_type, groups.get("n") or groups.get("u"), fault)
                response.headers.update(limits)
                return response
        return Response(404, _error("Resource not found", "OBJECT_NOT_FOUND"), limits)

    def _admit(self, request: Request) -> dict[str, str] | Response:
        """Count the request against the portal's limits; the rate-limit headers, or a 429."""
        if self._search_window and request.path.endswith("/search"):
            admitted, _ = self._search_window.admit()
            if not admitted:
                return Response(429, self._rate_limit_body("SECONDLY"))
        remaining = self.rate_limit or 0
        if self._window:
            admitted, remaining = self._window.admit()
            if not admitted:
                return Response(429, self._rate_limit_body("TEN_SECONDLY_ROLLING"))
        with self.lock:
            if self._daily_used >= self.daily_limit:
                return Response(429, self._rate_limit_body("DAILY"))
            self._daily_used += 1
            daily_remaining = self.daily_limit - self._daily_used
        headers = {
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(daily_remaining),
            "X-HubSpot-Correlation-Id": correlation_id(),
        }
        if self.rate_limit:
            headers |= {
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(self.window_seconds * 1000)),
                "X-HubSpot-RateLimit-Max": str(self.rate_limit),
                "X-HubSpot-RateLimit-Remaining": str(remaining),
                "X-HubSpot-RateLimit-Secondly": str(max(1, self.rate_limit // 10)),
            }
        return headers

    def _rate_limit_body(self, policy: str) -> dict[str, Any]:
        return {
            "status": "error",
            "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": policy,
            "groupName": f"api-product:private-app:{self.portal_id}",
        }

    # -- properties and groups ------------------------------------------------------------

    def _put_group(self, object_type: str, name: str, label: str) -> dict[str, Any]:
        group = {"name": name, "label": label, "displayOrder": -1, "archived": False}
        self.groups[object_type][name] = group
        return group

    def _list_groups(self, request: Request, object_type: str, _: Any, __: Any) -> Response:
        with self.lock:
            return Response(200, {"results": list(self.groups[object_type].values())})

    def _get_group(self, request: Request, object_type: str, name: str, _: Any) -> Response:
        with self.lock:
            group = self.groups[object_type].get(name)
        if group is None:
            return Response(
                404, _error(f"Unable to find property group {name}", "OBJECT_NOT_FOUND")
            )
        return Response(200, group)

    def _create_group(self, request: Request, object_type: str, _: Any, __: Any) -> Response:
        body = request.json() or {}
        name, label = body.get("name"), body.get("label")
        if not name or not label:
            return Response(400, _error("name and label are required", "VALIDATION_ERROR"))
        with self.lock:
            if name in self.groups[object_type]:
                return Response(
                    409,
                    _error(
                        f"A property group named '{name}' already exists.", "OBJECT_ALREADY_EXISTS"
                    ),
                )
            group = self._put_group(object_type, name, label)
            group["displayOrder"] = body.get("displayOrder", -1)
        return Response(201, group)

    def _list_properties(self, request: Request, object_type: str, _: Any, __: Any) -> Response:
        with self.lock:
            live = [p for p in self.properties[object_type].values() if not p["archived"]]
        return Response(200, {"results": live})

    def _get_property(self, request: Request, object_type: str, name: str, _: Any) -> Response:
        with self.lock:
            definition = self.properties[object_type].get(name)
        if definition is None or definition["archived"]:
            return Response(404, _error(f"Unable to find property {name}", "OBJECT_NOT_FOUND"))
        return Response(200, definition)

    def _create_property(self, request: Request, object_type: str, _: Any, __: Any) -> Response:
        body = request.json() or {}
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            return Response(400, _error(f"Missing required fields: {missing}", "VALIDATION_ERROR"))
        name, type_, field_type = body["name"], body["type"], body["fieldType"]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            return Response(400, _error(f"Invalid property name '{name}'", "VALIDATION_ERROR"))
        if field_type not in FIELD_TYPES.get(type_, set()):
            return Response(
                400,
                _error(f"fieldType {field_type} is not valid for type {type_}", "VALIDATION_ERROR"),
            )
        with self.lock:
            if body["groupName"] not in self.groups[object_type]:
                return Response(
                    400,
                    _error(
                        f"Property group {body['groupName']} does not exist", "VALIDATION_ERROR"
                    ),
                )
            existing = self.properties[object_type].get(name)
            if existing and not existing["archived"]:
                return Response(
                    409, _error(f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
                )
            self.define_property(
                object_type,
                name,
                type_,
                field_type,
                options=[o["value"] for o in body.get("options") or []],
                group=body["groupName"],
                label=body["label"],
            )
            definition = self.properties[object_type][name]
            definition["description"] = body.get("description", "")
            definition["options"] = [
                {
                    "label": o.get("label"),
                    "value": o.get("value"),
                    "displayOrder": o.get("displayOrder", i),
                    "hidden": o.get("hidden", False),
                }
                for i, o in enumerate(body.get("options") or [])
            ]
        return Response(201, definition)

    def _update_property(self, request: Request, object_type: str, name: str, _: Any) -> Response:
        body = request.json() or {}
        with self.lock:
            definition = self.properties[object_type].get(name)
            if definition is None:
                return Response(404, _error(f"Unable to find property {name}", "OBJECT_NOT_FOUND"))
            for key in ("label", "description", "groupName", "options", "displayOrder", "hidden"):
                if key in body:
                    definition[key] = body[key]
            definition["updatedAt"] = now_iso()
        return Response(200, definition)

    def _archive_property(self, request: Request, object_type: str, name: str, _: Any) -> Response:
        with self.lock:
            definition = self.properties[object_type].get(name)
            if definition is None:
                return Response(404, _error(f"Unable to find property {name}", "OBJECT_NOT_FOUND"))
            definition["archived"] = True
        return Response(204)

    # -- objects --------------------------------------------------------------------------

    def _read_only(self, object_type: str) -> set[str]:
        return {
            "hs_object_id",
            CREATED_PROPERTY.get(object_type, "createdate"),
            MODIFIED_PROPERTY.get(object_type, "hs_lastmodifieddate"),
        }

    def _insert(
        self,
        object_type: str,
        values: dict[str, str | None],
        object_id: str | None = None,
        created_at: str | None = None,
    ) -> CrmObject:
        oid, stamp = str(object_id or next(self._ids)), now_iso()
        while object_id is None and oid in self.objects[object_type]:  # after seeded ids
            oid = str(next(self._ids))
        created = stamp
        if created_at is not None:
            moment = datetime.fromtimestamp(_epoch_millis(created_at) / 1000, UTC)
            created = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        values = {
            **values,
            "hs_object_id": oid,
            CREATED_PROPERTY.get(object_type, "createdate"): created,
            MODIFIED_PROPERTY.get(object_type, "hs_lastmodifieddate"): stamp,
        }
        obj = CrmObject(oid, values, created, stamp, time.monotonic() + self.search_index_delay)
        obj.history.append(dict(values))
        self.objects[object_type][oid] = obj
        return obj

    def _apply(self, object_type: str, obj: CrmObject, values: dict[str, str | None]) -> None:
        stamp = now_iso()
        obj.properties.update(values)
        obj.properties[MODIFIED_PROPERTY.get(object_type, "hs_lastmodifieddate")] = stamp
        obj.updated_at = stamp
        obj.history.append(dict(obj.properties))

    def _validated(self, object_type: str, raw: dict[str, Any] | None) -> dict[str, str | None]:
        """Check property values against the definitions; 400 VALIDATION_ERROR if any fails."""
        problems, values = [], {}
        definitions = self.properties[object_type]
        for name, value in (raw or {}).items():
            text = None if value is None else str(value)
            definition = definitions.get(name)
            if definition is None or definition["archived"]:
                problems.append(
                    (name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
                )
                continue
            if name in self._read_only(object_type):
                problems.append((name, "READ_ONLY_VALUE", f'"{name}" is a read only property'))
                continue
            error, normalised = _check_value(definition, text)
            if error:
                problems.append((name, error[0], error[1]))
            values[name] = normalised
        if problems:
            raise Reply(Response(400, _validation_error(problems)))
        return values

    def _public(self, object_type: str, obj: CrmObject, names: list[str] | None) -> dict[str, Any]:
        default = [
            "hs_object_id",
            CREATED_PROPERTY.get(object_type, "createdate"),
            MODIFIED_PROPERTY.get(object_type, "hs_lastmodifieddate"),
        ]
        wanted = [*default, *(names or [])]
        result: dict[str, Any] = {
            "id": obj.id,
            "properties": {
                n: obj.properties.get(n) for n in wanted if n in self.properties[object_type]
            },
            "createdAt": obj.created_at,
            "updatedAt": obj.updated_at,
            "archived": obj.archived,
        }
        if obj.archived_at:
            result["archivedAt"] = obj.archived_at
        return result

    def _live(self, object_type: str, oid: str) -> CrmObject | None:
        obj = self.objects[object_type].get(str(oid))
        return obj if obj and not obj.archived else None

    def _not_found(self, object_type: str, ids: list[str]) -> dict[str, Any]:
        return {
            "status": "error",
            "category": "OBJECT_NOT_FOUND",
            "message": (
                f"Could not get some {OBJECT_LABEL[object_type]} objects, they may be deleted "
                "or not exist. Check that ids are valid."
            ),
            "context": {"ids": ids},
            "errors": [],
            "links": {},
        }

    def _inputs(self, request: Request, limit: int = BATCH_LIMIT) -> list[dict[str, Any]]:
        inputs = (request.json() or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise Reply(
                Response(400, _error("inputs must be a non-empty list", "VALIDATION_ERROR"))
            )
        if len(inputs) > limit:
            raise Reply(
                Response(
                    400,
                    _error(
                        f"Batch input size {len(inputs)} exceeds the limit of {limit}.",
                        "VALIDATION_ERROR",
                    ),
                )
            )
        return inputs

    def _batch_answer(
        self, started: str, results: list[Any], errors: list[Any], created: bool = False
    ) -> Response:
        body: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": now_iso(),
        }
        if errors:
            body |= {"numErrors": len(errors), "errors": errors}
            return Response(207, body)
        return Response(201 if created else 200, body)

    def _batch_update(
        self, request: Request, object_type: str, _: Any, fault: Fault | None
    ) -> Response:
        started = now_iso()
        inputs = self._inputs(request)
        ids = [str(item.get("id")) for item in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            return Response(
                400, _error(f"Duplicate IDs found in batch input: {duplicates}", "VALIDATION_ERROR")
            )
        with self.lock:
            validated = [self._validated(object_type, item.get("properties")) for item in inputs]
            failing = set(ids[: fault.count]) if fault else set()
            results, missing, conflicted = [], [], []
            for oid, values in zip(ids, validated, strict=True):
                obj = self._live(object_type, oid)
                if obj is None:
                    missing.append(oid)
                elif oid in failing:
                    conflicted.append(oid)
                else:
                    self._apply(object_type, obj, values)
                    results.append(self._public(object_type, obj, list(values)))
        errors = [self._not_found(object_type, missing)] if missing else []
        if conflicted:
            errors.append(
                {
                    "status": "error",
                    "category": (fault.code if fault and fault.code else "CONFLICT"),
                    "message": "The object was modified concurrently; retry the update.",
                    "context": {"ids": conflicted},
                    "errors": [],
                    "links": {},
                }
            )
        return self._batch_answer(started, results, errors)

    def _batch_read(self, request: Request, object_type: str, _: Any, __: Any) -> Response:
        started = now_iso()
        body = request.json() or {}
        inputs = self._inputs(request)
        names = body.get("properties") or []
        with self.lock:
            results, missing = [], []
            for item in inputs:
                obj = self._live(object_type, str(item.get("id")))
                if obj is None:
                    missing.append(str(item.get("id")))
                else:
                    results.append(self._public(object_type, obj, names))
        return self._batch_answer(
            started, results, [self._not_found(object_type, missing)] if missing else []
        )

    def _batch_create(self, request: Request, object_type: str, _: Any, __: Any) -> Response:
        started = now_iso()
        inputs = self._inputs(request)
        with self.lock:
            prepared = [
                (self._validated(object_type, item.get("properties")), item) for item in inputs
            ]
            results = []
            for values, item in prepared:
                obj = self._create(object_type, values, item.get("associations"))
                results.append(self._public(object_type, obj, list(values)))
        return self._batch_answer(started, results, [], created=True)

    def _batch_archive(self, request: Request, object_type: str, _: Any, __: Any) -> Response:
        for item in self._inputs(request):
            with self.lock:
                if self._live(object_type, str(item.get("id"))):
                    self.archive(object_type, str(item.get("id")))
        return Response(204)

    def _create(
        self, object_type: str, values: dict[str, str | None], associations: Any
    ) -> CrmObject:
        if object_type == "tasks" and not values.get("hs_timestamp"):
            raise Reply(
                Response(
                    400,
                    _validation_error(
                        [("hs_timestamp", "REQUIRED_PROPERTY", "hs_timestamp is required")]
                    ),
                )
            )
        links = []
        for association in associations or []:
            target_id = str((association.get("to") or {}).get("id"))
            for spec in association.get("types") or []:
                key = (object_type, spec.get("associationTypeId"))
                target_type = ASSOCIATION_TYPES.get(key)
                if spec.get("associationCategory") != "HUBSPOT_DEFINED" or target_type is None:
                    raise Reply(
                        Response(
                            400, _error(f"Invalid association type {spec}", "VALIDATION_ERROR")
                        )
                    )
                if self._live(target_type, target_id) is None:
                    raise Reply(
                        Response(
                            400,
                            _error(
                                f"Association target {target_type} {target_id} does not exist",
                                "VALIDATION_ERROR",
                            ),
                        )
                    )
                links.append({"toObjectType": target_type, "toObjectId": target_id, **spec})
        obj = self._insert(object_type, values)
        obj.associations = links
        return obj

    def _create_object(self, request: Request, object_type: str, _: Any, __: Any) -> Response:
        body = request.json() or {}
        with self.lock:
            values = self._validated(object_type, body.get("properties"))
            obj = self._create(object_type, values, body.get("associations"))
            return Response(201, self._public(object_type, obj, list(values)))

    def _get_object(self, request: Request, object_type: str, oid: str, _: Any) -> Response:
        archived = request.param("archived") == "true"
        with self.lock:
            obj = self.objects[object_type].get(oid)
            if obj is None or obj.archived != archived:
                return Response(
                    404,
                    _error(
                        "Object not found.  objectId are usually numeric.",
                        "OBJECT_NOT_FOUND",
                        {"id": [oid]},
                    ),
                )
            return Response(200, self._public(object_type, obj, request.params("properties")))

    def _update_object(self, request: Request, object_type: str, oid: str, _: Any) -> Response:
        body = request.json() or {}
        with self.lock:
            obj = self._live(object_type, oid)
            if obj is None:
                return Response(404, _error("Object not found.", "OBJECT_NOT_FOUND", {"id": [oid]}))
            values = self._validated(object_type, body.get("properties"))
            self._apply(object_type, obj, values)
            return Response(200, self._public(object_type, obj, list(values)))

    def _archive_object(self, request: Request, object_type: str, oid: str, _: Any) -> Response:
        with self.lock:
            if self._live(object_type, oid):
                self.archive(object_type, oid)
        return Response(204)

    def _list_objects(self, request: Request, object_type: str, _: Any, __: Any) -> Response:
        limit = int(request.param("limit", "10") or 10)
        if not 1 <= limit <= LIST_PAGE_LIMIT:
            return Response(
                400, _error(f"limit must be between 1 and {LIST_PAGE_LIMIT}", "VALIDATION_ERROR")
            )
        archived = request.param("archived") == "true"
        offset = int(request.param("after", "0") or 0)
        with self.lock:
            chosen = sorted(
                (o for o in self.objects[object_type].values() if o.archived == archived),
                key=lambda o: int(o.id),
            )
            page = [
                self._public(object_type, o, request.params("properties"))
                for o in chosen[offset : offset + limit]
            ]
        body: dict[str, Any] = {"results": page}
        if offset + limit < len(chosen):
            after = str(offset + limit)
            body["paging"] = {"next": {"after": after, "link": f"{request.path}?after={after}"}}
        return Response(200, body)

    def _search(self, request: Request, object_type: str, _: Any, __: Any) -> Response:
        body = request.json() or {}
        limit = int(body.get("limit") or 10)
        offset = int(body.get("after") or 0)
        if limit > SEARCH_PAGE_LIMIT:
            return Response(
                400, _error(f"limit must be at most {SEARCH_PAGE_LIMIT}", "VALIDATION_ERROR")
            )
        if offset + limit > self.search_result_cap:
            return Response(
                400,
                _error(
                    f"Paging beyond {self.search_result_cap} results is not supported",
                    "VALIDATION_ERROR",
                ),
            )
        groups = body.get("filterGroups") or []
        if len(groups) > 5 or any(len(g.get("filters") or []) > 6 for g in groups):
            return Response(400, _error("Too many filter groups or filters", "VALIDATION_ERROR"))
        now = time.monotonic()
        with self.lock:
            definitions = self.properties[object_type]
            candidates = [
                o
                for o in self.objects[object_type].values()
                if not o.archived and o.searchable_from <= now
            ]
            matched = [
                o
                for o in candidates
                if (not groups or any(_matches_group(o, g, definitions) for g in groups))
                and _matches_query(o, body.get("query"))
            ]
            matched.sort(key=lambda o: int(o.id))
            sort = _sort_spec((body.get("sorts") or [None])[0])
            if sort:
                name, descending = sort
                definition = definitions.get(name, {"type": "string"})
                present = [o for o in matched if o.properties.get(name) not in (None, "")]
                absent = [o for o in matched if o.properties.get(name) in (None, "")]
                present.sort(
                    key=lambda o: _comparable(definition, o.properties[name]), reverse=descending
                )
                matched = present + absent
            page = [
                self._public(object_type, o, body.get("properties"))
                for o in matched[offset : offset + limit]
            ]
        answer: dict[str, Any] = {"total": len(matched), "results": page}
        if offset + limit < len(matched):
            answer["paging"] = {"next": {"after": str(offset + limit)}}
        return Response(200, answer)

    # -- owners and associations ------------------------------------------------------------

    def _list_owners(self, request: Request, _: Any, __: Any, ___: Any) -> Response:
        limit = int(request.param("limit", "100") or 100)
        if not 1 <= limit <= OWNER_PAGE_LIMIT:
            return Response(
                400, _error(f"limit must be between 1 and {OWNER_PAGE_LIMIT}", "VALIDATION_ERROR")
            )
        archived = request.param("archived") == "true"
        offset = int(request.param("after", "0") or 0)
        with self.lock:
            chosen = [o for o in self.owners.values() if o["archived"] == archived]
        body: dict[str, Any] = {"results": chosen[offset : offset + limit]}
        if offset + limit < len(chosen):
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return Response(200, body)

    def _get_owner(self, request: Request, _: Any, owner_id: str, __: Any) -> Response:
        with self.lock:
            owner = self.owners.get(owner_id)
        if owner is None:
            return Response(404, _error("Owner not found", "OBJECT_NOT_FOUND"))
        return Response(200, owner)

    def _read_associations(
        self, request: Request, object_type: str, to_type: str, _: Any
    ) -> Response:
        started = now_iso()
        ids = [str(item.get("id")) for item in self._inputs(request, limit=1_000)]
        results, lonely = [], []
        with self.lock:
            for oid in ids:
                obj = self.objects[object_type].get(oid)
                links = [
                    a for a in (obj.associations if obj else []) if a["toObjectType"] == to_type
                ]
                if not links:
                    lonely.append(oid)
                    continue
                targets: dict[str, list[dict[str, Any]]] = {}
                for link in links:
                    targets.setdefault(link["toObjectId"], []).append(
                        {
                            "category": link["associationCategory"],
                            "typeId": link["associationTypeId"],
                            "label": None,
                        }
                    )
                results.append(
                    {
                        "from": {"id": oid},
                        "to": [
                            {"toObjectId": int(target), "associationTypes": types}
                            for target, types in targets.items()
                        ],
                    }
                )
        errors = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "message": f"No {to_type} is associated with {object_type} {oid}.",
                "context": {"fromObjectId": [oid]},
            }
            for oid in lonely
        ]
        return self._batch_answer(started, results, errors)


def _path(template: str) -> re.Pattern[str]:
    for name in "tun":
        template = template.replace(f"{{{name}}}", rf"(?P<{name}>[^/]+)")
    return re.compile(f"^{template}$")


def _error(message: str, category: str, context: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
    }
    if context:
        body["context"] = context
    return body


def _validation_error(problems: list[tuple[str, str, str]]) -> dict[str, Any]:
    details = [
        {
            "isValid": False,
            "message": message,
            "error": code,
            "name": name,
            "localizedErrorMessage": message,
        }
        for name, code, message in problems
    ]
    return _error(f"Property values were not valid: {json.dumps(details)}", "VALIDATION_ERROR")


def _epoch_millis(text: str) -> int:
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _check_value(
    definition: dict[str, Any], text: str | None
) -> tuple[tuple[str, str] | None, str | None]:
    """(error code and message, or None; the value as HubSpot stores it)."""
    if text is None or text == "":
        return None, text
    type_ = definition["type"]
    if type_ == "number":
        try:
            float(text)
        except ValueError:
            return ("INVALID_DECIMAL", f"{text} was not a valid number."), None
        return None, text
    if type_ in ("datetime", "date"):
        try:
            millis = _epoch_millis(text)
        except ValueError:
            return ("INVALID_DATE", f"{text} was not a valid date or timestamp."), None
        moment = datetime.fromtimestamp(millis / 1000, UTC)
        return None, moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if type_ == "enumeration" and not definition.get("externalOptions"):
        allowed = [o["value"] for o in definition.get("options") or []]
        if text not in allowed:
            return ("INVALID_OPTION", f"{text} was not one of the allowed options: {allowed}"), None
    if type_ == "bool" and text.lower() not in ("true", "false"):
        return ("INVALID_BOOLEAN", f"{text} was not a valid boolean."), None
    if len(text) > STRING_LIMIT:
        return ("INVALID_STRING_LENGTH", f"value exceeds {STRING_LIMIT} characters"), None
    return None, text


def _comparable(definition: dict[str, Any], text: str) -> Any:
    if definition.get("type") == "number":
        return float(text)
    if definition.get("type") in ("datetime", "date"):
        return _epoch_millis(text)
    return text.lower()


def _matches_group(obj: CrmObject, group: dict[str, Any], definitions: dict[str, Any]) -> bool:
    return all(_matches_filter(obj, f, definitions) for f in group.get("filters") or [])


def _matches_filter(obj: CrmObject, spec: dict[str, Any], definitions: dict[str, Any]) -> bool:
    name, operator = spec.get("propertyName"), spec.get("operator", "EQ")
    if name not in definitions:
        raise Reply(
            Response(
                400,
                _error(
                    f"There was a problem with the request: property {name} does not exist",
                    "VALIDATION_ERROR",
                ),
            )
        )
    definition = definitions[name]
    value = obj.properties.get(name)
    if operator == "HAS_PROPERTY":
        return value not in (None, "")
    if operator == "NOT_HAS_PROPERTY":
        return value in (None, "")
    if value in (None, ""):
        return operator in ("NEQ", "NOT_IN")
    actual = _comparable(definition, value)
    if operator in ("IN", "NOT_IN"):
        wanted = {_comparable(definition, str(v)) for v in spec.get("values") or []}
        return (actual in wanted) == (operator == "IN")
    if operator == "CONTAINS_TOKEN":
        return str(spec.get("value", "")).lower().strip("*") in value.lower()
    if operator == "NOT_CONTAINS_TOKEN":
        return str(spec.get("value", "")).lower().strip("*") not in value.lower()
    target = _comparable(definition, str(spec.get("value")))
    if operator == "BETWEEN":
        return target <= actual <= _comparable(definition, str(spec.get("highValue")))
    comparisons = {
        "EQ": actual == target,
        "NEQ": actual != target,
        "LT": actual < target,
        "LTE": actual <= target,
        "GT": actual > target,
        "GTE": actual >= target,
    }
    if operator not in comparisons:
        raise Reply(Response(400, _error(f"Unknown operator {operator}", "VALIDATION_ERROR")))
    return comparisons[operator]


def _matches_query(obj: CrmObject, query: str | None) -> bool:
    if not query:
        return True
    needle = query.lower()
    return any(needle in (v or "").lower() for v in obj.properties.values())


def _sort_spec(sort: Any) -> tuple[str, bool] | None:
    """A sort as (property, descending): `{"propertyName", "direction"}` or `"[-]name"`."""
    if not sort:
        return None
    if isinstance(sort, str):
        return sort.lstrip("-"), sort.startswith("-")
    return sort["propertyName"], sort.get("direction", "ASCENDING") == "DESCENDING"
