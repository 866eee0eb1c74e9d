"""A local Salesforce org speaking the REST API, for tests of anything that talks to Salesforce.

Endpoints under `/services/data/v{version}/` (other versions answer 404):
- `PATCH composite/sobjects`: sObject collections update, ≤ 200 records; 200 with one
  SaveResult per record in request order (`{"id", "success": true, "errors": []}` or
  `{"success": false, "errors": [{"statusCode", "message", "fields"}]}`); `allOrNone` rolls
  back every record when one fails (`ALL_OR_NONE_OPERATION_ROLLED_BACK`).
- `POST sobjects/{type}/` (201 `{"id", "success", "errors"}`), `GET|PATCH|DELETE
  sobjects/{type}/{id}` (deleted records: 404 `ENTITY_IS_DELETED`), `GET
  sobjects/{type}/describe`.
- `GET query/?q=`: a SOQL subset — `SELECT f, ... FROM T [WHERE f = v [AND f != v ...]]
  [ORDER BY f [ASC|DESC]] [LIMIT n]` with string, number, true/false and null literals.

Behaviour as Salesforce's: Bearer session id (else 401 `INVALID_SESSION_ID`); errors are a JSON
list of `{"message", "errorCode"}`; 18-character ids with the object's key prefix (15-character
ids accepted); values checked against field types (restricted picklists, lengths, numbers,
datetimes, non-updateable fields); an unknown field rejects the whole request (400
`INVALID_FIELD`). Every request counts against the org's daily API limit, reported in
`Sforce-Limit-Info`; beyond it the answer is 403 `REQUEST_LIMIT_EXCEEDED` (Salesforce has no
per-second limit). Scripted faults (see `tests.fakes.server`) come on top, including 429s;
`partial_next` makes records of the next collection fail with `UNABLE_TO_LOCK_ROW` unless
another code is given.

The org starts with Account and Task, including the custom fields healthscore writes
(`health_fields=False` leaves them out, as in an org where the admin has not deployed them).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tests.fakes.server import FakeServer, Fault, Reply, Request, Response

COLLECTION_LIMIT = 200
KEY_PREFIX = {"Account": "001", "Contact": "003", "Task": "00T"}
ID_SUFFIX = "AAA"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # id, string, textarea, double, picklist, datetime, date, reference, boolean
    length: int = 0
    picklist: tuple[str, ...] = ()
    updateable: bool = True
    custom: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.name.removesuffix("__c").replace("_", " "),
            "type": self.type,
            "length": self.length,
            "custom": self.custom,
            "updateable": self.updateable,
            "createable": self.updateable,
            "nillable": self.type not in ("id", "boolean"),
            "restrictedPicklist": bool(self.picklist),
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": value, "value": value}
                for value in self.picklist
            ],
        }


SYSTEM_FIELDS = (
    FieldSpec("Id", "id", 18, updateable=False),
    FieldSpec("OwnerId", "reference", 18),
    FieldSpec("CreatedDate", "datetime", updateable=False),
    FieldSpec("LastModifiedDate", "datetime", updateable=False),
)
STANDARD_FIELDS = {
    "Account": (FieldSpec("Name", "string", 255),),
    "Contact": (FieldSpec("LastName", "string", 80), FieldSpec("AccountId", "reference", 18)),
    "Task": (
        FieldSpec("Subject", "string", 255),
        FieldSpec("Description", "textarea", 32_000),
        FieldSpec("ActivityDate", "date"),
        FieldSpec("Priority", "picklist", 40, ("High", "Normal", "Low")),
        FieldSpec(
            "Status",
            "picklist",
            40,
            ("Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"),
        ),
        FieldSpec("WhatId", "reference", 18),
    ),
}
HEALTH_FIELDS = {
    "Account": (
        FieldSpec("Health_Score__c", "double", custom=True),
        FieldSpec(
            "Health_Status__c",
            "picklist",
            255,
            ("green", "yellow", "red", "insufficient_data"),
            custom=True,
        ),
        FieldSpec(
            "Health_Trend__c", "picklist", 255, ("improving", "stable", "declining"), custom=True
        ),
        FieldSpec("Health_Score_Change_30d__c", "double", custom=True),
        FieldSpec("Health_Drivers__c", "textarea", 32_768, custom=True),
        FieldSpec("Churn_Probability__c", "double", custom=True),
        FieldSpec("Health_Override__c", "string", 255, custom=True),
        FieldSpec("Health_Updated_At__c", "datetime", custom=True),
    ),
    "Task": (FieldSpec("Healthscore_Alert_Id__c", "string", 255, custom=True),),
}


def sf_timestamp(moment: datetime | None = None) -> str:
    """Salesforce's datetime format: `2024-05-01T06:00:00.000+0000`."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def errors(message: str, code: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        entry["fields"] = fields
    return [entry]


class FieldError(Exception):
    def __init__(self, code: str, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields

    def save_result(self) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"statusCode": self.code, "message": self.message, "fields": self.fields}],
        }


class FakeSalesforce(FakeServer):
    default_fault_path = r"/composite/sobjects$"

    def __init__(
        self,
        *,
        token: str = "00Dxx0000001gPL!AQ4AQFakeSessionId",
        api_version: str = "59.0",
        daily_limit: int = 15_000,
        health_fields: bool = True,
    ) -> None:
        super().__init__()
        self.token = token
        self.api_version = api_version
        self.daily_limit = daily_limit
        self._used = 0
        self._ids = itertools.count(1)
        self.fields: dict[str, dict[str, FieldSpec]] = {}
        for sobject, standard in STANDARD_FIELDS.items():
            extra = HEALTH_FIELDS.get(sobject, ()) if health_fields else ()
            self.fields[sobject] = {f.name: f for f in (*SYSTEM_FIELDS, *standard, *extra)}
        self.records: dict[str, dict[str, dict[str, Any]]] = {s: {} for s in self.fields}
        self.deleted: dict[str, set[str]] = {s: set() for s in self.fields}
        prefix = rf"^/services/data/v{re.escape(api_version)}/"
        self._routes = [
            ("PATCH", re.compile(prefix + r"composite/sobjects/?$"), self._update_collection),
            ("GET", re.compile(prefix + r"query/?$"), self._query),
            ("GET", re.compile(prefix + r"sobjects/(?P<t>\w+)/describe/?$"), self._describe),
            ("POST", re.compile(prefix + r"sobjects/(?P<t>\w+)/?$"), self._create),
            ("GET", re.compile(prefix + r"sobjects/(?P<t>\w+)/(?P<id>\w+)/?$"), self._get),
            ("PATCH", re.compile(prefix + r"sobjects/(?P<t>\w+)/(?P<id>\w+)/?$"), self._update),
            ("DELETE", re.compile(prefix + r"sobjects/(?P<t>\w+)/(?P<id>\w+)/?$"), self._delete),
        ]

    # -- direct access for tests ----------------------------------------------------------

    def add(self, sobject: str, **values: Any) -> str:
        """Seed a record (unchecked); returns its 18-character id."""
        with self.lock:
            return self._insert(sobject, values)

    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        with self.lock:
            return dict(self.records[sobject][record_id])

    def all(self, sobject: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {rid: dict(values) for rid, values in self.records[sobject].items()}

    def delete(self, sobject: str, record_id: str) -> None:
        """Move a record to the recycle bin, as a user deleting it would."""
        with self.lock:
            self.records[sobject].pop(record_id)
            self.deleted[sobject].add(record_id)

    # -- service --------------------------------------------------------------------------

    def error_body(self, status: int, message: str) -> tuple[Any, dict[str, str]]:
        codes = {429: "TOO_MANY_REQUESTS", 503: "SERVER_UNAVAILABLE"}
        code = codes.get(status, "UNKNOWN_EXCEPTION")
        return errors(f"{message} ({status})", code), {}

    def handle(self, request: Request, fault: Fault | None) -> Response:
        if request.path.rstrip("/") == "/services/data":
            version = {
                "label": "Winter '24",
                "url": f"/services/data/v{self.api_version}",
                "version": self.api_version,
            }
            return Response(200, [version])
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return Response(401, errors("Session expired or invalid", "INVALID_SESSION_ID"))
        with self.lock:
            if self._used >= self.daily_limit:
                return Response(
                    403, errors("TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED")
                )
            self._used += 1
            usage = {"Sforce-Limit-Info": f"api-usage={self._used}/{self.daily_limit}"}
        for method, pattern, endpoint in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                sobject = match.groupdict().get("t")
                if sobject is not None and sobject not in self.fields:
                    raise Reply(
                        Response(
                            404,
                            errors(
                                f"The requested resource does not exist: {sobject}", "NOT_FOUND"
                            ),
                        )
                    )
                response = endpoint(request, match, fault)
                response.headers.update(usage)
                return response
        return Response(404, errors("The requested resource does not exist", "NOT_FOUND"), usage)

    # -- records --------------------------------------------------------------------------

    def _insert(self, sobject: str, values: dict[str, Any]) -> str:
        record_id = f"{KEY_PREFIX[sobject]}Hs{next(self._ids):010d}{ID_SUFFIX}"
        stamp = sf_timestamp()
        self.records[sobject][record_id] = {
            **values,
            "Id": record_id,
            "CreatedDate": stamp,
            "LastModifiedDate": stamp,
        }
        return record_id

    def _resolve(self, sobject: str, raw_id: Any) -> str:
        """The stored id for a 15- or 18-character id; FieldError when malformed or missing."""
        text = str(raw_id or "")
        if not re.fullmatch(r"[a-zA-Z0-9]{15}|[a-zA-Z0-9]{18}", text) or not text.startswith(
            KEY_PREFIX[sobject]
        ):
            raise FieldError(
                "MALFORMED_ID", f"{sobject} ID: id value of incorrect type: {text}", ["Id"]
            )
        record_id = text[:15] + ID_SUFFIX  # this org's ids all end in the same checksum
        if record_id in self.deleted[sobject]:
            raise FieldError("ENTITY_IS_DELETED", "entity is deleted", [])
        if record_id in self.records[sobject]:
            return record_id
        raise FieldError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])

    def _spec(self, sobject: str, name: str) -> FieldSpec | None:
        """Field names are case-insensitive in Salesforce's REST API."""
        return next(
            (f for f in self.fields[sobject].values() if f.name.lower() == name.lower()), None
        )

    def _unknown_fields(self, sobject: str, values: dict[str, Any]) -> None:
        for name in values:
            if name != "attributes" and self._spec(sobject, name) is None:
                raise Reply(
                    Response(
                        400,
                        errors(
                            f"No such column '{name}' on sobject of type {sobject}", "INVALID_FIELD"
                        ),
                    )
                )

    def _coerce(self, sobject: str, values: dict[str, Any]) -> dict[str, Any]:
        """Field values as stored, or FieldError for the first invalid one."""
        stored = {}
        for name, value in values.items():
            if name in ("attributes", "Id", "id"):
                continue
            spec = self.fields[sobject][name]
            if not spec.updateable:
                raise FieldError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}.",
                    [name],
                )
            stored[name] = None if value is None else _coerce_value(spec, value)
        return stored

    def _update_collection(
        self, request: Request, _: re.Match[str], fault: Fault | None
    ) -> Response:
        body = request.json() or {}
        records = body.get("records") or []
        if len(records) > COLLECTION_LIMIT:
            return Response(
                400,
                errors(
                    "record limit reached. cannot submit more than "
                    f"{COLLECTION_LIMIT} records into this call",
                    "EXCEEDED_ID_LIMIT",
                ),
            )
        with self.lock:
            for record in records:
                sobject = (record.get("attributes") or {}).get("type")
                if sobject not in self.fields:
                    return Response(
                        400, errors(f"sObject type '{sobject}' is not supported.", "INVALID_TYPE")
                    )
                self._unknown_fields(sobject, record)
            planned: list[tuple[str, str, dict[str, Any]] | FieldError] = []
            for position, record in enumerate(records):
                sobject = record["attributes"]["type"]
                try:
                    if fault and position < fault.count:
                        raise FieldError(
                            fault.code or "UNABLE_TO_LOCK_ROW",
                            "unable to obtain exclusive access to this record",
                            [],
                        )
                    if not record.get("id"):
                        raise FieldError(
                            "MISSING_ARGUMENT", "Id not specified in an update call", []
                        )
                    planned.append(
                        (
                            sobject,
                            self._resolve(sobject, record["id"]),
                            self._coerce(sobject, record),
                        )
                    )
                except FieldError as problem:
                    planned.append(problem)
            failed = any(isinstance(p, FieldError) for p in planned)
            if failed and body.get("allOrNone"):
                rolled_back = FieldError(
                    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "Record rolled back because not all records were valid and the request "
                    "was using AllOrNone header",
                    [],
                )
                return Response(
                    200,
                    [
                        (p if isinstance(p, FieldError) else rolled_back).save_result()
                        for p in planned
                    ],
                )
            results = []
            for step in planned:
                if isinstance(step, FieldError):
                    results.append(step.save_result())
                    continue
                sobject, record_id, values = step
                self.records[sobject][record_id].update(values, LastModifiedDate=sf_timestamp())
                results.append({"id": record_id, "success": True, "errors": []})
        return Response(200, results)

    def _create(self, request: Request, match: re.Match[str], _: Any) -> Response:
        sobject, values = match["t"], request.json() or {}
        with self.lock:
            self._unknown_fields(sobject, values)
            try:
                stored = self._coerce(sobject, values)
                self._check_references(stored)
            except FieldError as problem:
                return Response(400, errors(problem.message, problem.code, problem.fields))
            record_id = self._insert(sobject, stored)
        return Response(201, {"id": record_id, "success": True, "errors": []})

    def _check_references(self, values: dict[str, Any]) -> None:
        for name in ("WhatId", "AccountId"):
            target = values.get(name)
            if target is None:
                continue
            sobject = next((s for s, p in KEY_PREFIX.items() if str(target).startswith(p)), None)
            if sobject is None:
                raise FieldError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{name}: id value of incorrect type: {target}",
                    [name],
                )
            try:
                values[name] = self._resolve(sobject, target)
            except FieldError as problem:
                raise FieldError(problem.code, problem.message, [name]) from problem

    def _get(self, request: Request, match: re.Match[str], _: Any) -> Response:
        sobject = match["t"]
        with self.lock:
            try:
                record_id = self._resolve(sobject, match["id"])
            except FieldError as problem:
                status = 404 if problem.code != "MALFORMED_ID" else 400
                return Response(status, errors(problem.message, problem.code))
            record = dict(self.records[sobject][record_id])
        wanted = request.params("fields") or list(self.fields[sobject])
        body = {"attributes": self._attributes(sobject, record_id)}
        body |= {name: record.get(name) for name in wanted}
        return Response(200, body)

    def _update(self, request: Request, match: re.Match[str], _: Any) -> Response:
        sobject, values = match["t"], request.json() or {}
        with self.lock:
            self._unknown_fields(sobject, values)
            try:
                record_id = self._resolve(sobject, match["id"])
                stored = self._coerce(sobject, values)
            except FieldError as problem:
                status = (
                    404
                    if problem.code in ("ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY")
                    else 400
                )
                return Response(status, errors(problem.message, problem.code, problem.fields))
            self.records[sobject][record_id].update(stored, LastModifiedDate=sf_timestamp())
        return Response(204)

    def _delete(self, request: Request, match: re.Match[str], _: Any) -> Response:
        sobject = match["t"]
        with self.lock:
            try:
                record_id = self._resolve(sobject, match["id"])
            except FieldError as problem:
                return Response(404, errors(problem.message, problem.code))
            self.delete(sobject, record_id)
        return Response(204)

    def _describe(self, request: Request, match: re.Match[str], _: Any) -> Response:
        sobject = match["t"]
        fields = [spec.describe() for spec in self.fields[sobject].values()]
        return Response(200, {"name": sobject, "label": sobject, "custom": False, "fields": fields})

    def _attributes(self, sobject: str, record_id: str) -> dict[str, str]:
        url = f"/services/data/v{self.api_version}/sobjects/{sobject}/{record_id}"
        return {"type": sobject, "url": url}

    def _query(self, request: Request, _: re.Match[str], __: Any) -> Response:
        soql = request.param("q") or ""
        parsed = _parse_soql(soql)
        if parsed is None or parsed.sobject not in self.fields:
            return Response(400, errors(f"unexpected token in query: {soql}", "MALFORMED_QUERY"))
        unknown = [
            f
            for f in (*parsed.select, *(c[0] for c in parsed.where))
            if f not in self.fields[parsed.sobject]
        ]
        if unknown:
            return Response(
                400,
                errors(
                    f"No such column '{unknown[0]}' on entity '{parsed.sobject}'", "INVALID_FIELD"
                ),
            )
        with self.lock:
            rows = [
                record
                for record in self.records[parsed.sobject].values()
                if all(_condition_holds(record.get(f), op, v) for f, op, v in parsed.where)
            ]
            if parsed.order_by:
                rows.sort(
                    key=lambda r: (r.get(parsed.order_by) is None, r.get(parsed.order_by) or ""),
                    reverse=parsed.descending,
                )
            if parsed.limit is not None:
                rows = rows[: parsed.limit]
            records = [
                {
                    "attributes": self._attributes(parsed.sobject, r["Id"]),
                    **{f: r.get(f) for f in parsed.select},
                }
                for r in rows
            ]
        return Response(200, {"totalSize": len(records), "done": True, "records": records})


def _coerce_value(spec: FieldSpec, value: Any) -> Any:
    name = spec.name
    if spec.type in ("double", "percent", "currency", "int"):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise FieldError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{name}: value not of required type: {value}",
                [name],
            ) from None
    if spec.type == "datetime":
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise FieldError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{name}: value not of required type: {value}",
                [name],
            ) from None
        return sf_timestamp(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
    if spec.type == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise FieldError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{name}: value not of required type: {value}",
                [name],
            ) from None
    if spec.type == "picklist" and spec.picklist and value not in spec.picklist:
        raise FieldError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{name}: bad value for restricted picklist field: {value}",
            [name],
        )
    text = str(value)
    if spec.length and spec.type in ("string", "textarea", "picklist") and len(text) > spec.length:
        raise FieldError(
            "STRING_TOO_LONG", f"{name}: data value too large (max length={spec.length})", [name]
        )
    return text


@dataclass(frozen=True)
class _Soql:
    select: tuple[str, ...]
    sobject: str
    where: tuple[tuple[str, str, Any], ...]
    order_by: str | None
    descending: bool
    limit: int | None


_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<select>.+?)\s+FROM\s+(?P<sobject>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<direction>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(
    r"\s*(?P<field>\w+)\s*(?P<op>!=|=)\s*"
    r"(?P<value>'(?:[^'\\]|\\.)*'|null|true|false|-?\d+(?:\.\d+)?)\s*(?P<rest>(?:AND\s+.*)?)$",
    re.IGNORECASE | re.DOTALL,
)
_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}


def _parse_soql(soql: str) -> _Soql | None:
    match = _SOQL.match(soql)
    if not match:
        return None
    where: list[tuple[str, str, Any]] = []
    rest = match["where"] or ""
    while rest:
        condition = _CONDITION.match(rest)
        if not condition:
            return None
        where.append((condition["field"], condition["op"], _literal(condition["value"])))
        rest = re.sub(r"^AND\s+", "", condition["rest"], flags=re.IGNORECASE)
    return _Soql(
        select=tuple(f.strip() for f in match["select"].split(",")),
        sobject=match["sobject"],
        where=tuple(where),
        order_by=match["order"],
        descending=(match["direction"] or "").upper() == "DESC",
        limit=int(match["limit"]) if match["limit"] else None,
    )


def _literal(token: str) -> Any:
    lowered = token.lower()
    if lowered == "null":
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if token.startswith("'"):
        return re.sub(r"\\(.)", lambda m: _UNESCAPE.get(m[1], m[1]), token[1:-1])
    return float(token)


def _condition_holds(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(expected, float) and actual is not None:
        actual = float(actual)
    return (actual == expected) == (op == "=")
