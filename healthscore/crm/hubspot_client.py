"""HubSpot through hubspot-api-client 12, pointed at `HUBSPOT_BASE_URL`, paced and retried.

The library's traps (DESIGN §10) and how this module meets them:
- Host: each generated `Configuration` takes its host from `server_index` unless `host` is
  set; `hubspot.Client.create(host=...)` sets it for every API package.
- Retries: the urllib3 `Retry` handed to the library is `TRANSPORT_RETRY` (connection
  failures only). Status and read retries happen in `call_with_retries`, for idempotent calls.
- Errors: each API package has its own `ApiException`, so all the ones we use are listed in
  `_API_EXCEPTIONS`. A 207 does not raise: the batch API deserialises it into
  `BatchResponseSimplePublicObjectWithErrors`, whose `errors` name the failed ids.
- Timeouts: the library sets none; every call passes `_request_timeout`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import hubspot
import urllib3
from hubspot.crm import companies, properties
from hubspot.crm.objects import tasks

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

DEFAULT_BASE_URL = "https://api.hubapi.com"
BATCH_LIMIT = 100
TASK_ALERT_ID_PROPERTY = "healthscore_alert_id"
TASK_TO_COMPANY = 192  # HUBSPOT_DEFINED association type id, task → company
MISSING_CATEGORIES = frozenset({"OBJECT_NOT_FOUND"})
# Validation errors that no record could avoid: the request names properties wrongly.
SYSTEMIC_VALIDATION_ERRORS = ("PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE")

_API_EXCEPTIONS = (companies.ApiException, properties.ApiException, tasks.ApiException)


@dataclass(frozen=True)
class HubSpotSettings:
    base_url: str = DEFAULT_BASE_URL
    access_token: str | None = field(default=None, repr=False)
    rate_limit: int = 100  # the portal's requests per ten seconds

    @classmethod
    def from_env(cls) -> HubSpotSettings:
        return cls(
            base_url=os.environ.get("HUBSPOT_BASE_URL") or DEFAULT_BASE_URL,
            access_token=os.environ.get("HUBSPOT_ACCESS_TOKEN") or None,
            rate_limit=portal_limit_from_env(),
        )


def iso_millis(moment: datetime) -> str:
    """HubSpot's timestamp format: UTC, milliseconds, `Z` (naive datetimes are UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def classify_hubspot_error(exc: Exception) -> Failure | None:
    """Map a hubspot-api-client or urllib3 exception to a retry decision."""
    if isinstance(exc, urllib3.exceptions.HTTPError):  # timeout, dropped or refused connection
        return Failure("transient", 0, f"{type(exc).__name__}: {exc}")
    if not isinstance(exc, _API_EXCEPTIONS):
        return None
    if not exc.status:  # the generated REST client wraps TLS failures as status 0
        return Failure("transient", 0, str(exc.reason))
    body = _error_body(exc.body)
    message = str(body.get("message") or exc.reason)
    category = str(body.get("category") or body.get("errorType") or "")
    retry_after = parse_retry_after((exc.headers or {}).get("Retry-After"))
    if exc.status == 429:
        policy = str(body.get("policyName") or "")
        if policy == "DAILY":
            return Failure("limit", 429, message, policy)
        return Failure("rate_limited", 429, message, policy, retry_after)
    if exc.status >= 500:
        return Failure("transient", exc.status, message, category, retry_after)
    if exc.status in (401, 403):
        return Failure("auth", exc.status, message, category)
    per_record = category == "VALIDATION_ERROR" and not any(
        code in message for code in SYSTEMIC_VALIDATION_ERRORS
    )
    return Failure("rejected", exc.status, message, category, per_record=per_record)


def _error_body(raw: Any) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


class HubSpotClient:
    """The HubSpot calls healthscore makes, behind one portal-wide limiter and retry policy."""

    def __init__(
        self,
        settings: HubSpotSettings,
        *,
        policy: RetryPolicy | None = None,
        limiter: Limiter | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
    ) -> None:
        if not settings.access_token:
            raise ValueError("HUBSPOT_ACCESS_TOKEN is not set")
        api = hubspot.Client.create(
            access_token=settings.access_token,
            retry=TRANSPORT_RETRY,
            host=settings.base_url.rstrip("/"),
        )
        # Every attribute access on the discovery objects builds a new ApiClient and connection
        # pool; build each API once.
        self._company_batch = api.crm.companies.batch_api
        self._groups = api.crm.properties.groups_api
        self._properties = api.crm.properties.core_api
        self._tasks = api.crm.objects.tasks.basic_api
        self._task_search = api.crm.objects.tasks.search_api
        self._policy = policy or RetryPolicy()
        # The limit is per portal, and a token belongs to one portal; key by its fingerprint.
        portal = hashlib.sha256(settings.access_token.encode()).hexdigest()[:16]
        self._limiter = limiter or shared_limiter(
            f"{settings.base_url}#{portal}", settings.rate_limit
        )
        self._timeout = timeout
        self.stats = CallStats()

    def _call(self, send: Callable[[], T], *, idempotent: bool, what: str) -> T:
        return call_with_retries(
            send,
            classify=classify_hubspot_error,
            limiter=self._limiter,
            policy=self._policy,
            stats=self.stats,
            idempotent=idempotent,
            what=what,
        )

    def update_companies(self, inputs: Sequence[tuple[str, Mapping[str, str]]]) -> BatchResult:
        """Batch-update up to 100 companies; setting properties to values is idempotent.

        The answer is read raw (`_preload_content=False`): the generated models parse three
        timestamps per record with dateutil, about 1.3 ms per record — longer than the HTTP
        call — and the sync needs only ids and errors. Status handling is the library's: a
        200 or 207 is returned, anything else raises its `ApiException`.
        """
        if len(inputs) > BATCH_LIMIT:
            raise ValueError(f"HubSpot batch update takes at most {BATCH_LIMIT} inputs")
        body = companies.BatchInputSimplePublicObjectBatchInput(
            inputs=[
                companies.SimplePublicObjectBatchInput(id=rid, properties=dict(props))
                for rid, props in inputs
            ]
        )

        def send() -> dict[str, Any]:
            raw = self._company_batch.update(
                body, _request_timeout=self._timeout, _preload_content=False
            )
            try:
                return json.loads(raw.data)
            finally:
                raw.release_conn()

        answer = self._call(send, idempotent=True, what="update companies")
        errors: dict[str, RowError] = {}
        for error in answer.get("errors") or []:  # only on a 207
            category = str(error.get("category") or "ERROR")
            row_error = RowError(
                category, str(error.get("message") or ""), category in MISSING_CATEGORIES
            )
            for rid in (error.get("context") or {}).get("ids") or []:
                errors[str(rid)] = row_error
        confirmed = {str(result.get("id")) for result in answer.get("results") or []}
        return BatchResult.settle([rid for rid, _ in inputs], confirmed, errors)

    def create_property_group(self, object_type: str, name: str, label: str) -> None:
        """Create a property group; an existing one raises `RequestRejected` with status 409."""
        group = properties.PropertyGroupCreate(name=name, label=label, display_order=-1)
        self._call(
            lambda: self._groups.create(object_type, group, _request_timeout=self._timeout),
            idempotent=True,  # a repeat after a lost answer gets 409, which callers handle
            what=f"create property group {name}",
        )

    def create_property(self, object_type: str, spec: Mapping[str, Any]) -> None:
        """Create a property from `PropertyCreate` fields; options are (value, label) pairs."""
        fields = dict(spec)
        fields["options"] = [
            properties.OptionInput(label=label, value=value, display_order=i, hidden=False)
            for i, (value, label) in enumerate(fields.get("options") or ())
        ]
        body = properties.PropertyCreate(**fields)
        self._call(
            lambda: self._properties.create(object_type, body, _request_timeout=self._timeout),
            idempotent=True,
            what=f"create property {spec['name']}",
        )

    def get_property(self, object_type: str, name: str) -> dict[str, Any]:
        found = self._call(
            lambda: self._properties.get_by_name(object_type, name, _request_timeout=self._timeout),
            idempotent=True,
            what=f"read property {name}",
        )
        return {
            "type": found.type,
            "field_type": found.field_type,
            "group_name": found.group_name,
            "options": [option.value for option in found.options or []],
        }

    def create_task(
        self,
        *,
        company_id: str,
        alert_id: str,
        subject: str,
        body: str,
        due_at: datetime,
        priority: str = "HIGH",
        owner_id: str | None = None,
    ) -> str:
        """Create a to-do task on a company, stamped with the alert id; returns the task id.

        Never retried after an unknown outcome (raises `UnknownOutcome`): call
        `find_task_by_alert_id` before creating again. HubSpot's search index lags writes by a
        few seconds, so a miss right after a timeout is not proof the task does not exist.
        """
        props = {
            "hs_timestamp": iso_millis(due_at),
            "hs_task_subject": subject,
            "hs_task_body": body,
            "hs_task_priority": priority,
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "TODO",
            TASK_ALERT_ID_PROPERTY: alert_id,
        }
        if owner_id:
            props["hubspot_owner_id"] = owner_id
        association = tasks.PublicAssociationsForObject(
            to=tasks.PublicObjectId(id=company_id),
            types=[
                tasks.AssociationSpec(
                    association_category="HUBSPOT_DEFINED", association_type_id=TASK_TO_COMPANY
                )
            ],
        )
        request = tasks.SimplePublicObjectInputForCreate(
            properties=props, associations=[association]
        )
        created = self._call(
            lambda: self._tasks.create(request, _request_timeout=self._timeout),
            idempotent=False,
            what="create task",
        )
        return created.id

    def find_task_by_alert_id(self, alert_id: str) -> str | None:
        """The id of the task stamped with `alert_id`, via the tasks search API."""
        request = tasks.PublicObjectSearchRequest(
            filter_groups=[
                tasks.FilterGroup(
                    filters=[
                        tasks.Filter(
                            property_name=TASK_ALERT_ID_PROPERTY, operator="EQ", value=alert_id
                        )
                    ]
                )
            ],
            properties=[TASK_ALERT_ID_PROPERTY],
            limit=1,
        )
        found = self._call(
            lambda: self._task_search.do_search(request, _request_timeout=self._timeout),
            idempotent=True,
            what="search tasks",
        )
        return found.results[0].id if found.results else None
