"""A local Zendesk Support account, for tests of anything that reads tickets.

Endpoints:
- `GET /api/v2/incremental/tickets/cursor.json`: the cursor-based incremental ticket export.
  The first request gives `start_time` (epoch seconds), later ones only `cursor`; `per_page`
  ≤ 1000. Answers `tickets` changed at or after the start in order of `updated_at` (then id),
  `after_cursor`/`after_url`, `before_cursor`/`before_url` and `end_of_stream`; the cursor of
  the last page resumes the stream later.
- `GET /api/v2/organizations.json` and `GET /api/v2/satisfaction_ratings.json` (`start_time`
  keeps ratings updated at or after it): cursor pagination with `page[size]` ≤ 100 and
  `page[after]`, answering `meta.has_more`, `meta.after_cursor` and `links.next`.
- `GET /api/v2/users/me.json`, `GET /api/v2/ticket_fields/{id}.json` (404 when missing).

Behaviour as Zendesk's: an API token (Basic `{email}/token:{token}`) or an OAuth token (Bearer),
else 401 `Couldn't authenticate you`; timestamps ISO-8601 to the second with `Z`; a ticket
carries its `satisfaction_rating` and `custom_fields`. Every write moves the account's clock on
by at least a second, so `updated_at` strictly increases and a test never depends on two writes
sharing Zendesk's one-second resolution. Rate limits are scripted (`fail_next(429,
retry_after=...)`), answered like Zendesk's with a `Retry-After` header.

Usage::

    with FakeZendesk() as zd:
        org = zd.add_organization("Acme", external_id="10000001")
        zd.add_ticket(org, subject="Login broken", description="...")
"""

from __future__ import annotations

import base64
import itertools
import time
from datetime import UTC, datetime
from typing import Any

from tests.fakes.server import FakeServer, Fault, Request, Response

EXPORT_PAGE_LIMIT = 1000
PAGE_LIMIT = 100


class FakeZendesk(FakeServer):
    default_fault_path = r"^/api/v2/incremental/"

    def __init__(self, *, email: str = "agent@vendor.example", token: str = "zd-token") -> None:
        super().__init__()
        self.email = email
        self.token = token
        self.received: list[Request] = []  # authenticated requests, oldest first
        self.organizations: dict[int, dict[str, Any]] = {}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.ratings: dict[int, dict[str, Any]] = {}
        self.ticket_fields: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(1001)
        self._clock = int(time.time()) - 3600

    # -- direct access for tests (no HTTP) ----------------------------------------------------

    def add_organization(
        self, name: str, *, external_id: str | None = None, domain_names: tuple[str, ...] = ()
    ) -> int:
        with self.lock:
            stamp, oid = self._tick(), next(self._ids)
            self.organizations[oid] = {
                "id": oid,
                "name": name,
                "external_id": external_id,
                "domain_names": list(domain_names),
                "created_at": stamp,
                "updated_at": stamp,
            }
            return oid

    def add_ticket_field(self, title: str, field_type: str = "text") -> int:
        with self.lock:
            fid = next(self._ids)
            self.ticket_fields[fid] = {"id": fid, "type": field_type, "title": title}
            return fid

    def add_ticket(
        self,
        organization_id: int | None,
        *,
        subject: str,
        description: str,
        priority: str | None = "normal",
        status: str = "open",
        custom_fields: dict[int, Any] | None = None,
        created_at: str | None = None,
    ) -> int:
        """A ticket changed now; `created_at` (ISO-8601, to the second with `Z`) seeds an
        earlier creation, as for a ticket that already has a history."""
        with self.lock:
            stamp, tid = self._tick(), next(self._ids)
            self.tickets[tid] = {
                "id": tid,
                "subject": subject,
                "description": description,
                "priority": priority,
                "status": status,
                "type": None,
                "organization_id": organization_id,
                "requester_id": 900_001,
                "custom_fields": [{"id": f, "value": v} for f, v in (custom_fields or {}).items()],
                "satisfaction_rating": {"score": "unoffered"},
                "tags": [],
                "created_at": created_at or stamp,
                "updated_at": stamp,
            }
            return tid

    def update_ticket(self, ticket_id: int, **fields: Any) -> None:
        with self.lock:
            self.tickets[ticket_id].update(fields, updated_at=self._tick())

    def rate(self, ticket_id: int, score: str, comment: str | None = None) -> int:
        """A customer's satisfaction rating; like Zendesk, rating a ticket changes the ticket."""
        with self.lock:
            stamp, rid = self._tick(), next(self._ids)
            self.ratings[rid] = {
                "id": rid,
                "ticket_id": ticket_id,
                "score": score,
                "comment": comment,
                "created_at": stamp,
                "updated_at": stamp,
            }
            ticket = self.tickets[ticket_id]
            ticket["satisfaction_rating"] = {"id": rid, "score": score, "comment": comment}
            ticket["updated_at"] = stamp
            return rid

    def _tick(self) -> str:
        self._clock = max(int(time.time()), self._clock + 1)
        return _iso(self._clock)

    # -- service --------------------------------------------------------------------------

    def error_body(self, status: int, message: str) -> tuple[Any, dict[str, str]]:
        if status == 429:
            return {"error": "APIRateLimitExceeded", "description": "Rate limit exceeded"}, {}
        return {"error": "InternalError" if status >= 500 else "InvalidEndpoint"}, {}

    def handle(self, request: Request, fault: Fault | None) -> Response:
        if request.headers.get("Authorization") not in self._credentials():
            return Response(401, {"error": "Couldn't authenticate you"})
        self.received.append(request)
        path = request.path
        if path == "/api/v2/incremental/tickets/cursor.json":
            return self._export(request)
        if path == "/api/v2/organizations.json":
            return self._page(request, "organizations", list(self.organizations.values()))
        if path == "/api/v2/satisfaction_ratings.json":
            since = _iso(int(request.param("start_time", "0") or 0))
            ratings = [r for r in self.ratings.values() if r["updated_at"] >= since]
            return self._page(request, "satisfaction_ratings", ratings)
        if path == "/api/v2/users/me.json":
            return Response(200, {"user": {"id": 900_000, "email": self.email, "role": "agent"}})
        if path.startswith("/api/v2/ticket_fields/") and path.endswith(".json"):
            field = self.ticket_fields.get(int(path.rsplit("/", 1)[1].removesuffix(".json")))
            if field is None:
                return Response(404, {"error": "RecordNotFound", "description": "Not found"})
            return Response(200, {"ticket_field": field})
        return Response(404, {"error": "InvalidEndpoint", "description": "Not found"})

    def _credentials(self) -> set[str]:
        basic = base64.b64encode(f"{self.email}/token:{self.token}".encode()).decode()
        return {f"Basic {basic}", f"Bearer {self.token}"}

    def _export(self, request: Request) -> Response:
        per_page = int(request.param("per_page", str(EXPORT_PAGE_LIMIT)) or EXPORT_PAGE_LIMIT)
        cursor, start = request.param("cursor"), request.param("start_time")
        if cursor:
            position = _decode(cursor)
        elif start is not None:
            position = (_iso(int(start)), -1)  # at or after start_time
        else:
            return Response(400, {"error": "InvalidValue", "description": "start_time missing"})
        with self.lock:
            ordered = sorted(self.tickets.values(), key=lambda t: (t["updated_at"], t["id"]))
            after = [dict(t) for t in ordered if (t["updated_at"], t["id"]) > position]
        page, rest = after[: min(per_page, EXPORT_PAGE_LIMIT)], after[per_page:]
        if page:
            position = (page[-1]["updated_at"], page[-1]["id"])
        after_cursor = _encode(position)
        return Response(
            200,
            {
                "tickets": page,
                "after_cursor": after_cursor,
                "after_url": f"{self.url}{request.path}?cursor={after_cursor}",
                "before_cursor": None,
                "before_url": None,
                "end_of_stream": not rest,
            },
        )

    def _page(self, request: Request, key: str, rows: list[dict[str, Any]]) -> Response:
        size = min(int(request.param("page[size]", str(PAGE_LIMIT)) or PAGE_LIMIT), PAGE_LIMIT)
        after = request.param("page[after]")
        offset = int(base64.b64decode(after).decode()) if after else 0
        chunk = rows[offset : offset + size]
        more = offset + size < len(rows)
        cursor = base64.b64encode(str(offset + size).encode()).decode() if more else None
        return Response(
            200,
            {
                key: chunk,
                "meta": {"has_more": more, "after_cursor": cursor, "before_cursor": None},
                "links": {
                    "next": f"{self.url}{request.path}?page[after]={cursor}" if more else None
                },
            },
        )


def _iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _encode(position: tuple[str, int]) -> str:
    return base64.urlsafe_b64encode(f"{position[0]}|{position[1]}".encode()).decode()


def _decode(cursor: str) -> tuple[str, int]:
    stamp, ticket_id = base64.urlsafe_b64decode(cursor).decode().split("|")
    return stamp, int(ticket_id)
