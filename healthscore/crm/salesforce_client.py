"""Salesforce through simple-salesforce, pointed at `SALESFORCE_INSTANCE_URL`, paced and retried.

The library's traps and how this module meets them:
- Base URL: simple-salesforce builds `https://{instance}/services/data/vXX.X/` whatever scheme
  the instance URL had, so `base_url` is rebuilt from `SALESFORCE_INSTANCE_URL` (a local test
  server speaks plain http).
- Timeouts: `SFType` calls accept none, so the `requests` session applies a default.
- Retries: `requests` retries nothing by default; the session mounts `TRANSPORT_RETRY`
  (connection failures only) and `call_with_retries` does the rest.
- Errors: `SalesforceError` keeps status and body but drops headers, so the session remembers
  the last Retry-After for the classifier.
- Partial failure: sObject collections answer 200 with one SaveResult per record, in request
  order; failed results carry no id, so results are matched to records by position.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.api import DEFAULT_API_VERSION
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceError
from simple_salesforce.format import format_soql

from healthscore.crm.batch import BatchResult, RowError
from healthscore.crm.rate_limit import Limiter, portal_limit_from_env, shared_limiter
from healthscore.crm.retry import (
    TRANSPORT_RETRY,
    CallStats,
    Failure,
    RetryPolicy,
    call_with_retries,
    parse_retry_after,
)

T = TypeVar("T")

BATCH_LIMIT = 200
TASK_ALERT_ID_FIELD = "Healthscore_Alert_Id__c"
MISSING_CODES = frozenset(
    {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID", "INVALID_ID_FIELD"}
)


@dataclass(frozen=True)
class SalesforceSettings:
    instance_url: str | None = None
    access_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    domain: str | None = None
    api_version: str = DEFAULT_API_VERSION
    rate_limit: int = 100

    @classmethod
    def from_env(cls) -> SalesforceSettings:
        env = os.environ
        return cls(
            instance_url=env.get("SALESFORCE_INSTANCE_URL") or None,
            access_token=env.get("SALESFORCE_ACCESS_TOKEN") or None,
            username=env.get("SALESFORCE_USERNAME") or None,
            password=env.get("SALESFORCE_PASSWORD") or None,
            security_token=env.get("SALESFORCE_SECURITY_TOKEN") or None,
            domain=env.get("SALESFORCE_DOMAIN") or None,
            api_version=env.get("SALESFORCE_API_VERSION") or DEFAULT_API_VERSION,
            rate_limit=portal_limit_from_env(),
        )

    @property
    def has_credentials(self) -> bool:
        return bool(self.instance_url and self.access_token) or bool(
            self.username and self.password
        )

    def login_arguments(self) -> dict[str, Any]:
        """simple-salesforce's arguments: a session id beats username/password."""
        if self.instance_url and self.access_token:
            return {"instance_url": self.instance_url, "session_id": self.access_token}
        if self.username and self.password:
            return {
                "username": self.username,
                "password": self.password,
                # An empty token works where the org trusts the caller's IP range.
                "security_token": self.security_token or "",
                "domain": self.domain,
            }
        raise ValueError(
            "Salesforce credentials are not set: SALESFORCE_INSTANCE_URL and "
            "SALESFORCE_ACCESS_TOKEN, or SALESFORCE_USERNAME and SALESFORCE_PASSWORD"
        )


class _Session(requests.Session):
    """A requests session with a default timeout that remembers the last Retry-After."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.timeout = timeout
        self.last_retry_after: float | None = None
        for prefix in ("http://", "https://"):
            self.mount(prefix, HTTPAdapter(max_retries=TRANSPORT_RETRY))

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        self.last_retry_after = None
        response = super().request(method, url, *args, **kwargs)
        self.last_retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return response


def classify_salesforce_error(exc: Exception, retry_after: float | None) -> Failure | None:
    """Map a simple-salesforce or requests exception to a retry decision."""
    if isinstance(exc, requests.RequestException):  # timeout, dropped or refused connection
        return Failure("transient", 0, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, SalesforceAuthenticationFailed):
        return Failure("auth", 401, str(exc))
    if not isinstance(exc, SalesforceError):
        return None
    content = exc.content[0] if isinstance(exc.content, list) and exc.content else exc.content
    detail = content if isinstance(content, dict) else {}
    code = str(detail.get("errorCode") or "")
    message = str(detail.get("message") or f"HTTP {exc.status}")
    if exc.status == 429:
        return Failure("rate_limited", 429, message, code, retry_after)
    if exc.status >= 500:
        return Failure("transient", exc.status, message, code, retry_after)
    if exc.status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return Failure("limit", 403, message, code)
    if exc.status in (401, 403):
        return Failure("auth", exc.status, message, code)
    return Failure("rejected", exc.status, message, code)


class SalesforceClient:
    """The Salesforce calls healthscore makes, behind one org-wide limiter and retry policy."""

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        policy: RetryPolicy | None = None,
        limiter: Limiter | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
    ) -> None:
        self._session = _Session(timeout)
        self._sf = Salesforce(
            **settings.login_arguments(), version=settings.api_version, session=self._session
        )
        if settings.instance_url:
            root = settings.instance_url.rstrip("/")
            self._sf.base_url = f"{root}/services/data/v{settings.api_version}/"
        self._policy = policy or RetryPolicy()
        account_key = settings.instance_url or settings.username or ""
        self._limiter = limiter or shared_limiter(account_key, settings.rate_limit)
        self.stats = CallStats()

    def _call(self, send: Callable[[], T], *, idempotent: bool, what: str) -> T:
        return call_with_retries(
            send,
            classify=lambda exc: classify_salesforce_error(exc, self._session.last_retry_after),
            limiter=self._limiter,
            policy=self._policy,
            stats=self.stats,
            idempotent=idempotent,
            what=what,
        )

    def update_records(
        self, sobject: str, records: Sequence[tuple[str, Mapping[str, Any]]]
    ) -> BatchResult:
        """Update up to 200 records with one sObject collections call (allOrNone false)."""
        if len(records) > BATCH_LIMIT:
            raise ValueError(f"sObject collections take at most {BATCH_LIMIT} records")
        body = {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": sobject}, "id": rid, **fields} for rid, fields in records
            ],
        }
        results = self._call(
            lambda: self._sf.restful("composite/sobjects", method="PATCH", json=body),
            idempotent=True,
            what=f"update {sobject} records",
        )
        confirmed: set[str] = set()
        errors: dict[str, RowError] = {}
        for (rid, _), result in zip(records, results or [], strict=False):
            if result.get("success"):
                confirmed.add(rid)
                continue
            first = (result.get("errors") or [{}])[0]
            code = str(first.get("statusCode") or "ERROR")
            errors[rid] = RowError(code, str(first.get("message") or ""), code in MISSING_CODES)
        return BatchResult.settle([rid for rid, _ in records], confirmed, errors)

    def describe_fields(self, sobject: str) -> dict[str, dict[str, Any]]:
        """Field name → describe entry (type, picklistValues, ...)."""
        described = self._call(
            lambda: self._sf.restful(f"sobjects/{sobject}/describe"),
            idempotent=True,
            what=f"describe {sobject}",
        )
        return {entry["name"]: entry for entry in (described or {}).get("fields", [])}

    def create_task(
        self,
        *,
        account_id: str,
        alert_id: str,
        subject: str,
        description: str,
        due_date: date,
        priority: str = "High",
        owner_id: str | None = None,
    ) -> str:
        """Create a Task on an Account (WhatId), stamped with the alert id; returns its id.

        Never retried after an unknown outcome (raises `UnknownOutcome`): call
        `find_task_by_alert_id` before creating again.
        """
        record = {
            "WhatId": account_id,
            "Subject": subject,
            "Description": description,
            "ActivityDate": due_date.isoformat(),
            "Priority": priority,
            "Status": "Not Started",
            TASK_ALERT_ID_FIELD: alert_id,
        }
        if owner_id:
            record["OwnerId"] = owner_id
        created = self._call(
            lambda: self._sf.restful("sobjects/Task/", method="POST", json=record),
            idempotent=False,
            what="create task",
        )
        return created["id"]

    def find_task_by_alert_id(self, alert_id: str) -> str | None:
        """The id of the Task stamped with `alert_id`, by SOQL."""
        soql = format_soql(
            f"SELECT Id FROM Task WHERE {TASK_ALERT_ID_FIELD} = {{}} LIMIT 1", alert_id
        )
        found = self._call(lambda: self._sf.query(soql), idempotent=True, what="query tasks")
        records = (found or {}).get("records") or []
        return records[0]["Id"] if records else None
