"""Zendesk Support tickets as the contract's `tickets`, through dlt's `rest_api` source.

Tickets come from the cursor-based incremental export: the first run starts at
`zendesk.start_date`, every later one at the last `updated_at` loaded (dlt keeps that cursor
with the load, and drops the boundary tickets it already has), and pages follow `after_cursor`
until `end_of_stream`. A ticket belongs to the account of its organization: the organization's
`external_id` when set (the CRM company id), else the first of its domains that an account has.

Satisfaction is the latest rating of the ticket (satisfaction ratings changed since the export's
start, which covers every ticket of the run because a rating changes its ticket), mapped to 1..5
by `satisfaction_scores`. Sentiment is the configured ticket field's value when the ticket has
one; else the value loaded for the ticket before; else computed from subject and body
(`ingestion.sentiment`), so each ticket is scored once however often it changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import requests
from dlt.extract.resource import DltResource
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client.auth import AuthConfigBase, BearerTokenAuth, HttpBasicAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from dlt.sources.rest_api import rest_api_resources

from ingestion.api_landing import (
    SOURCE_ID,
    Landing,
    Record,
    Target,
    contract_resource,
    load_in_stages,
)
from ingestion.api_settings import PROBE_TIMEOUT_SECONDS, SectionReader, named_failure, probe
from ingestion.contract import ENTITY_BY_NAME
from ingestion.file_source import LoadReport, warehouse_pipeline
from ingestion.sentiment import ticket_sentiment
from ingestion.sources_config import SourceConfigError
from ingestion.validation import ACCOUNTS

SECTION = "zendesk"
SERVICE = "Zendesk"
PIPELINE_NAME = "healthscore_zendesk"
BASE_URL_ENV, TOKEN_ENV = "ZENDESK_BASE_URL", "ZENDESK_API_TOKEN"
ENTITIES = ("tickets",)
EXPORT_PAGE_SIZE = 1000
PAGE_SIZE = 100
CURSOR = "updated_at"
DEFAULT_SENTIMENT_VALUES = {
    "very_negative": "-1",
    "negative": "-0.5",
    "neutral": "0",
    "positive": "0.5",
    "very_positive": "1",
}


@dataclass(frozen=True)
class ZendeskSettings:
    """The `zendesk:` section, read and checked (see sources.example.yml for every key)."""

    base_url: str
    email: str | None  # with an API token; None for an OAuth token
    token: str
    entities: tuple[str, ...]
    start_date: str
    satisfaction_scores: dict[str, str]
    sentiment_field_id: int | None
    sentiment_values: dict[str, str]

    def auth(self) -> AuthConfigBase:
        if self.email:
            return HttpBasicAuth(f"{self.email}/token", self.token)
        return BearerTokenAuth(self.token)


def read_settings(section: dict[str, Any]) -> ZendeskSettings:
    """The section as settings; SourceConfigError lists every problem, each naming its key."""
    reader = SectionReader(SECTION, section)
    start = reader.text("start_date", "2000-01-01") or "2000-01-01"
    try:
        start = _iso(start)
    except ValueError:
        reader.problem("start_date", f"{start!r} is not an ISO date")
    field = reader.text("sentiment_field_id")
    if field is not None and not field.isdigit():
        reader.problem("sentiment_field_id", f"{field!r} is not a ticket field id")
    settings = ZendeskSettings(
        base_url=reader.base_url(BASE_URL_ENV, None),
        email=reader.secret("email", "") if reader.text("email_env") else None,
        token=reader.secret("token", TOKEN_ENV),
        entities=reader.choices("entities", ENTITIES, ENTITIES),
        start_date=start,
        satisfaction_scores=reader.text_map("satisfaction_scores", {"good": "5", "bad": "1"}),
        sentiment_field_id=int(field) if field and field.isdigit() else None,
        sentiment_values=reader.text_map("sentiment_values", DEFAULT_SENTIMENT_VALUES),
    )
    reader.finish()
    return settings


def owned_entities(section: dict[str, Any]) -> tuple[str, ...]:
    """The contract entities this section loads; no other source may load them too."""
    return SectionReader(SECTION, section).choices("entities", ENTITIES, ENTITIES)


def check(section: dict[str, Any]) -> list[str]:
    """Problems with the section, the credentials, the URL and the sentiment field."""
    try:
        settings = read_settings(section)
    except SourceConfigError as error:
        return str(error).splitlines()
    session = requests.Session()
    session.auth = settings.auth()
    problem, _ = probe(
        session, f"{settings.base_url}api/v2/users/me.json", SECTION, "token", SERVICE
    )
    if problem or settings.sentiment_field_id is None:
        return [problem] if problem else []
    url = f"{settings.base_url}api/v2/ticket_fields/{settings.sentiment_field_id}.json"
    if session.get(url, timeout=PROBE_TIMEOUT_SECONDS).status_code == 404:
        return [f"{SECTION}.sentiment_field_id: no ticket field {settings.sentiment_field_id}"]
    return []


def load_zendesk(
    section: dict[str, Any], warehouse: Path, *, pipelines_dir: Path | None = None
) -> LoadReport:
    """Load tickets into the `raw` dataset of `warehouse` (after its accounts are loaded).

    Configuration and connectivity are checked first, so a wrong URL, token or field fails in
    seconds with SourceConfigError naming the setting; so does an HTTP error mid-load that a
    setting explains.
    """
    problems = check(section)
    if problems:
        raise SourceConfigError("\n".join(problems))
    settings = read_settings(section)
    pipeline = warehouse_pipeline(PIPELINE_NAME, warehouse, pipelines_dir)
    try:
        return load_in_stages(
            pipeline,
            lambda report: zendesk_source(settings, report),
            [["tickets"] if "tickets" in settings.entities else []],
            LoadReport(),
        )
    except PipelineStepFailed as failed:
        named_failure(failed, SECTION, "token", SERVICE)
        raise


@dlt.source(name="zendesk")
def zendesk_source(settings: ZendeskSettings, report: LoadReport | None = None) -> DltResource:
    return _Run(settings, Landing(SECTION, report or LoadReport())).tickets()


class ExportCursorPaginator(JSONResponseCursorPaginator):
    """The incremental export's cursor: follow `after_cursor` until `end_of_stream`; a cursor
    replaces the `start_time` of the first request."""

    def __init__(self) -> None:
        super().__init__(cursor_path="after_cursor", cursor_param="cursor")

    def update_state(self, response: Any, data: list[Any] | None = None) -> None:
        super().update_state(response, data)
        if response.json().get("end_of_stream"):
            self._has_next_page = False

    def update_request(self, request: Any) -> None:
        super().update_request(request)
        request.params.pop("start_time", None)


class _Run:
    """The tickets resource of one load and the lookups its pages share."""

    def __init__(self, settings: ZendeskSettings, landing: Landing) -> None:
        self.settings = settings
        self.landing = landing
        incremental = dlt.current.source_state().get("resources", {}).get("zendesk_tickets", {})
        last = incremental.get("incremental", {}).get(CURSOR, {}).get("last_value")
        self.since = last or settings.start_date

    def _rest(self, name: str, endpoint: dict[str, Any]) -> DltResource:
        (built,) = rest_api_resources(
            {
                "client": {
                    "base_url": self.settings.base_url,
                    "auth": self.settings.auth(),
                    "session": Client(raise_for_status=False).session,
                },
                "resources": [{"name": name, "primary_key": "id", "endpoint": endpoint}],
            }
        )
        return built

    def _listed(self, key: str, params: dict[str, Any]) -> DltResource:
        """A cursor-paginated list endpoint (`page[size]`, `meta.after_cursor`)."""
        return self._rest(
            f"zendesk_{key}",
            {
                "path": f"api/v2/{key}.json",
                "params": {"page[size]": PAGE_SIZE, **params},
                "paginator": JSONResponseCursorPaginator(
                    cursor_path="meta.after_cursor",
                    cursor_param="page[after]",
                    has_more_path="meta.has_more",
                ),
                "data_selector": key,
            },
        )

    @cached_property
    def organization_accounts(self) -> dict[int, str | None]:
        """Organization id → account id: its external id, else an account's domain."""
        domains = self.landing.history.account_domains(ENTITY_BY_NAME[ACCOUNTS])
        accounts: dict[int, str | None] = {}
        for org in self._listed("organizations", {}):
            by_domain = (domains.get(d.lower()) for d in org.get("domain_names") or [])
            accounts[org["id"]] = org.get("external_id") or next(filter(None, by_domain), None)
        return accounts

    @cached_property
    def ratings(self) -> dict[int, str]:
        """Ticket id → its latest satisfaction score, from ratings changed since the export's
        start (a rating changes its ticket, so every rated ticket of this run is covered)."""
        start = int(datetime.fromisoformat(self.since.replace("Z", "+00:00")).timestamp())
        latest: dict[int, tuple[str, str]] = {}
        for rating in self._listed("satisfaction_ratings", {"start_time": start}):
            seen = latest.get(rating["ticket_id"])
            if seen is None or rating["updated_at"] >= seen[0]:
                latest[rating["ticket_id"]] = (rating["updated_at"], rating["score"])
        return {ticket: score for ticket, (_, score) in latest.items()}

    def tickets(self) -> DltResource:
        entity = ENTITY_BY_NAME["tickets"]
        export = self._rest(
            "zendesk_tickets",
            {
                "path": "api/v2/incremental/tickets/cursor.json",
                "params": {"per_page": EXPORT_PAGE_SIZE},
                "incremental": {
                    "start_param": "start_time",
                    "cursor_path": CURSOR,
                    "initial_value": self.settings.start_date,
                    "convert": _epoch_seconds,
                },
                "paginator": ExportCursorPaginator(),
                "data_selector": "tickets",
            },
        )

        def land(page: list[dict[str, Any]]) -> Iterator[Any]:
            earlier = self._loaded_sentiments([str(t["id"]) for t in page])
            rows = [self._ticket(t, earlier.get(str(t["id"]))) for t in page]
            yield from self.landing.land(entity, rows, "tickets")

        feed = dlt.transformer(land, data_from=export, name="tickets")
        return contract_resource(feed, Target(entity, "ticket_id"))

    def _loaded_sentiments(self, ticket_ids: list[str]) -> dict[str, float]:
        keys = pa.table({"ticket_id": pa.array(ticket_ids, pa.string())})
        loaded = self.landing.history.loaded_values(ENTITY_BY_NAME["tickets"], keys, ["sentiment"])
        return {
            r["ticket_id"]: r["sentiment"] for r in loaded.to_pylist() if r["sentiment"] is not None
        }

    def _ticket(self, ticket: dict[str, Any], earlier_sentiment: float | None) -> Record:
        rating = self.ratings.get(ticket["id"]) or (ticket.get("satisfaction_rating") or {}).get(
            "score"
        )
        given = self._given_sentiment(ticket)
        if given is None:
            given = earlier_sentiment
        if given is None:
            given = ticket_sentiment(ticket.get("subject"), ticket.get("description"))
        return {
            SOURCE_ID: str(ticket["id"]),
            "ticket_id": str(ticket["id"]),
            "account_id": self.organization_accounts.get(ticket.get("organization_id")),
            "created_at": ticket.get("created_at"),
            "priority": ticket.get("priority"),
            "status": ticket.get("status"),
            "subject": ticket.get("subject"),
            "body": ticket.get("description"),
            "satisfaction": self.settings.satisfaction_scores.get(rating or ""),
            "sentiment": given,
        }

    def _given_sentiment(self, ticket: dict[str, Any]) -> str | None:
        """The sentiment field's value: a number as it is, a label through `sentiment_values`."""
        field = self.settings.sentiment_field_id
        value = next(
            (f["value"] for f in ticket.get("custom_fields") or [] if f["id"] == field), None
        )
        if value in (None, ""):
            return None
        return self.settings.sentiment_values.get(str(value), str(value))


def _iso(day_or_moment: str) -> str:
    """An ISO date or timestamp as Zendesk's `updated_at` spells it (UTC, seconds, `Z`)."""
    moment = datetime.fromisoformat(day_or_moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch_seconds(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
