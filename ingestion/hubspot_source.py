"""HubSpot (CRM v3) as a source of contract entities, through dlt's `rest_api` source.

What lands where (DESIGN §4; `hubspot.entities` says which of them HubSpot owns):

- accounts ← companies: id, name, domain, segment and ARR from configured properties, owner
  (email through the owners API), parent company; `archived_at` for companies deleted in HubSpot.
- overrides ← our override properties on companies (a cleared override deletes its row).
- users ← contacts, executive when the job title matches a configured pattern.
- contracts ← deals: the term ends at the renewal date, closed-won renews, closed-lost churns.
- email_events ← email engagements: sent or reply by direction, open and click from counts.
- meetings ← meeting engagements: type from a property or the title (QBR), attended from the
  outcome, executive attendance from the associated contacts.

Each object type is read incrementally on its last-modified time: the first run pages through
the list endpoint, later runs search for objects modified at or after the stored cursor, sorted
ascending. A search query reaches at most 10 000 results, so `SearchWindowPaginator` restarts the
query from the last modification time it saw. Search never returns deleted objects, so a
periodic sweep lists archived companies and marks their accounts archived.

An object's company (and a meeting's contacts) come from the associations API, one batch read
per page, since search results carry no associations. What the section says and what each
object becomes live in `hubspot_mapping`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import requests
from dlt.extract.resource import DltResource
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator
from dlt.sources.rest_api import rest_api_resources

from ingestion.api_landing import (
    SOURCE_ID,
    Landing,
    Record,
    Target,
    cleared_rows,
    contract_resource,
    load_in_stages,
)
from ingestion.api_settings import SectionReader, named_failure, probe
from ingestion.contract import ENTITY_BY_NAME
from ingestion.file_source import LoadReport, warehouse_pipeline
from ingestion.hubspot_mapping import (
    ENTITIES,
    OBJECT_OF,
    SECTION,
    HubSpotSettings,
    account_row,
    contract_rows,
    email_event_rows,
    meeting_rows,
    override_row,
    read_settings,
    user_rows,
)
from ingestion.sources_config import SourceConfigError
from ingestion.validation import ACCOUNT_ID

SERVICE = "HubSpot"
Mapper = Callable[[dict[str, Any], list[str], HubSpotSettings, dict[str, Any]], list[Record]]
PIPELINE_NAME = "healthscore_hubspot"

# resource -> the entities it lands. Each stage is committed before the next: everything after
# the first needs its accounts in the warehouse, and meetings read which contacts are executives.
RESOURCES = {
    "companies": ("accounts", "overrides"),
    "archived_companies": ("accounts",),
    "users": ("users",),
    "contracts": ("contracts",),
    "email_events": ("email_events",),
    "meetings": ("meetings",),
}
STAGES = (
    ("companies", "archived_companies"),
    ("users", "contracts", "email_events"),
    ("meetings",),
)
MODIFIED = {"contacts": "lastmodifieddate"}  # every other object: hs_lastmodifieddate
PRIMARY_COMPANY = {1, 5}  # contact → company and deal → company "primary" association types
CURSOR = "updatedAt"
LIST_LIMIT, SEARCH_LIMIT, OWNER_LIMIT = 100, 200, 500
SEARCH_RESULT_CAP = 10_000


# -- checks ---------------------------------------------------------------------------------


def owned_entities(section: dict[str, Any]) -> tuple[str, ...]:
    """The contract entities this section loads; no other source may load them too."""
    return SectionReader(SECTION, section).choices("entities", ENTITIES, ENTITIES)


def check(section: dict[str, Any]) -> list[str]:
    """Problems with the section, the token, the URL and every configured property."""
    try:
        settings = read_settings(section)
    except SourceConfigError as error:
        return str(error).splitlines()
    session = requests.Session()
    session.auth = BearerTokenAuth(settings.token)
    problem, _ = probe(
        session, f"{settings.base_url}crm/v3/owners?limit=1", SECTION, "token", SERVICE
    )
    if problem:
        return [problem]
    problems = []
    wanted: dict[str, list[tuple[str, str]]] = {}
    for key, object_type, prop in settings.configured_properties():
        wanted.setdefault(object_type, []).append((key, prop))
    for object_type, named in wanted.items():
        url = f"{settings.base_url}crm/v3/properties/{object_type}"
        problem, response = probe(session, url, SECTION, "token", SERVICE)
        if response is None:
            problems.append(problem or url)
            continue
        known = {p["name"] for p in response.json().get("results", [])}
        problems += [
            f"{SECTION}.{key}: no {object_type} property named '{prop}' in this portal"
            for key, prop in named
            if prop not in known
        ]
    return problems


# -- load -----------------------------------------------------------------------------------


def load_hubspot(
    section: dict[str, Any],
    warehouse: Path,
    *,
    pipelines_dir: Path | None = None,
) -> LoadReport:
    """Load the entities HubSpot owns into the `raw` dataset of `warehouse`.

    The section, token, URL and properties are checked first (one request each, no retries), so
    bad configuration fails in seconds with SourceConfigError naming the setting; an HTTP error
    mid-load that a setting explains is raised the same way.
    """
    problems = check(section)
    if problems:
        raise SourceConfigError("\n".join(problems))
    settings = read_settings(section)
    owned = set(settings.entities)
    stages = [[r for r in stage if owned & set(RESOURCES[r])] for stage in STAGES]
    pipeline = warehouse_pipeline(PIPELINE_NAME, warehouse, pipelines_dir)
    try:
        return load_in_stages(
            pipeline,
            lambda report: hubspot_source(settings, report),
            stages,
            LoadReport(),
        )
    except PipelineStepFailed as failed:
        named_failure(failed, SECTION, "token", SERVICE)
        raise


@dlt.source(name="hubspot")
def hubspot_source(
    settings: HubSpotSettings, report: LoadReport | None = None
) -> list[DltResource]:
    """The resources of `RESOURCES` (select a stage with `with_resources`)."""
    run = _Run(settings, Landing(SECTION, report or LoadReport()))
    return [
        run.companies_feed(),
        run.archived_companies(),
        run.entity_feed("users", user_rows, "user_id"),
        run.entity_feed("contracts", contract_rows, "contract_id"),
        run.entity_feed("email_events", email_event_rows, SOURCE_ID),
        run.entity_feed("meetings", meeting_rows, SOURCE_ID),
    ]


class SearchWindowPaginator(JSONResponseCursorPaginator):
    """Pages a search sorted by last modification. When the next page would pass HubSpot's
    result window, it asks again from the last modification time seen instead. Objects modified
    at exactly that time come twice (the caller drops repeats); a window filled by objects of one
    single millisecond could never move on, and raises."""

    def __init__(self, cap: int, limit: int) -> None:
        super().__init__(cursor_path="paging.next.after", cursor_body_path="after")
        self.cap, self.limit = cap, limit
        self._last_seen: str | None = None
        self._restart_from: str | None = None
        self._restart = False

    def update_state(self, response: Any, data: list[Any] | None = None) -> None:
        super().update_state(response, data)
        if data:
            self._last_seen = data[-1][CURSOR]
        self._restart = self.has_next_page and int(self._next_reference) + self.limit > self.cap
        if self._restart:
            if self._last_seen == self._restart_from:
                raise RuntimeError(
                    f"more than {self.cap} HubSpot objects were modified at {self._last_seen}"
                )
            self._restart_from = self._last_seen

    def update_request(self, request: Any) -> None:
        if not self._restart:
            super().update_request(request)
            return
        request.json.pop("after", None)
        since = request.json["filterGroups"][0]["filters"][0]
        since["value"] = _epoch_millis(self._restart_from or "")


class _Run:
    """The resources of one stage and what they share (landing, client, owners)."""

    def __init__(self, settings: HubSpotSettings, landing: Landing) -> None:
        self.settings = settings
        self.landing = landing
        self.state = dlt.current.source_state()

    @cached_property
    def client(self) -> RESTClient:
        return RESTClient(
            base_url=self.settings.base_url,
            auth=BearerTokenAuth(self.settings.token),
            session=Client(raise_for_status=False).session,
        )

    def _rest(self, name: str, endpoint: dict[str, Any], incremental: bool) -> DltResource:
        resource: dict[str, Any] = {"name": name, "primary_key": "id", "endpoint": endpoint}
        if incremental:
            endpoint["incremental"] = {"cursor_path": CURSOR, "convert": _epoch_millis}
        (built,) = rest_api_resources(
            {
                "client": {
                    "base_url": self.settings.base_url,
                    "auth": BearerTokenAuth(self.settings.token),
                    "session": Client(raise_for_status=False).session,
                },
                "resources": [resource],
            }
        )
        return built

    def objects(self, object_type: str, *, archived: bool = False) -> DltResource:
        """Raw objects: listed on the first run (and for the archived sweep), else searched
        from the stored cursor on."""
        name = f"hubspot_{'archived_' if archived else ''}{object_type}"
        properties = self.settings.properties(object_type)
        since = None if archived else _stored_cursor(self.state, name)
        if since is None:
            endpoint = {
                "path": f"crm/v3/objects/{object_type}",
                "params": {
                    "limit": LIST_LIMIT,
                    "properties": ",".join(properties),
                    "archived": str(archived).lower(),
                },
                "paginator": JSONResponseCursorPaginator(
                    cursor_path="paging.next.after", cursor_param="after"
                ),
                "data_selector": "results",
            }
        else:
            modified = MODIFIED.get(object_type, "hs_lastmodifieddate")
            endpoint = {
                "path": f"crm/v3/objects/{object_type}/search",
                "method": "POST",
                "json": {
                    "filterGroups": [
                        {
                            "filters": [
                                {
                                    "propertyName": modified,
                                    "operator": "GTE",
                                    "value": "{incremental.start_value}",
                                }
                            ]
                        }
                    ],
                    "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
                    "properties": properties,
                    "limit": SEARCH_LIMIT,
                },
                "paginator": SearchWindowPaginator(SEARCH_RESULT_CAP, SEARCH_LIMIT),
                "data_selector": "results",
            }
        return self._rest(name, endpoint, incremental=not archived)

    @cached_property
    def owners(self) -> dict[str, str]:
        """Owner id → email, read once per run (owners have no search and few records)."""
        endpoint = {
            "path": "crm/v3/owners",
            "params": {"limit": OWNER_LIMIT},
            "paginator": JSONResponseCursorPaginator(
                cursor_path="paging.next.after", cursor_param="after"
            ),
            "data_selector": "results",
        }
        owners = self._rest("hubspot_owners", endpoint, incremental=False)
        return {str(o["id"]): o.get("email") for o in owners}

    def companies_of(self, object_type: str, ids: Sequence[str], to: str = "companies") -> dict:
        """Object id → ids of its associated `to` objects, the primary company first."""
        if not ids:
            return {}
        response = self.client.post(
            f"crm/v4/associations/{object_type}/{to}/batch/read",
            json={"inputs": [{"id": i} for i in ids]},
        )
        response.raise_for_status()
        linked: dict[str, list[str]] = {}
        for result in response.json().get("results", []):
            targets = sorted(
                result.get("to", []),
                key=lambda t: (
                    not PRIMARY_COMPANY & {a.get("typeId") for a in t["associationTypes"]},
                    int(t["toObjectId"]),
                ),
            )
            linked[str(result["from"]["id"])] = [str(t["toObjectId"]) for t in targets]
        return linked

    def companies_feed(self) -> DltResource:
        """Accounts, and the overrides set on them, from one incremental read of companies."""
        accounts, overrides = ENTITY_BY_NAME["accounts"], ENTITY_BY_NAME["overrides"]
        seen: set[str] = set()

        def land(page: list[dict[str, Any]]) -> Iterator[Any]:
            fresh = _unseen(page, seen)
            if "accounts" in self.settings.entities:
                rows = [account_row(o, self.owners, self.settings) for o in fresh]
                yield from self.landing.land(accounts, rows, "companies")
            if "overrides" in self.settings.entities:
                props = self.settings.override_properties
                rows = [
                    override_row(o, props) for o in fresh if o["properties"].get(props["status"])
                ]
                yield from self.landing.land(overrides, rows, "companies")
                gone = [o["id"] for o in fresh if not o["properties"].get(props["status"])]
                yield cleared_rows(overrides, ACCOUNT_ID, gone)

        feed = dlt.transformer(land, data_from=self.objects("companies"), name="companies")
        return contract_resource(
            feed, Target(accounts, ACCOUNT_ID), Target(overrides, ACCOUNT_ID, cleared=True)
        )

    def archived_companies(self) -> DltResource:
        """Companies deleted in HubSpot, listed every `archived_sweep_hours` (search cannot
        see them): their accounts stay, marked `archived_at`."""
        accounts = ENTITY_BY_NAME["accounts"]

        def sweep() -> Iterator[Any]:
            state = dlt.current.resource_state()
            now = datetime.now(UTC)
            last = state.get("swept_at")
            due = timedelta(hours=self.settings.archived_sweep_hours)
            if last and now - datetime.fromisoformat(last) < due:
                return
            pages = self.objects("companies", archived=True)
            rows = [account_row(o, self.owners, self.settings) for o in pages]
            yield from self.landing.land(accounts, rows, "companies?archived=true")
            state["swept_at"] = now.isoformat()

        resource = dlt.resource(sweep, name="archived_companies")
        return contract_resource(resource, Target(accounts, ACCOUNT_ID))

    def entity_feed(self, entity_name: str, mapper: Mapper, key: str) -> DltResource:
        """An incremental read of the entity's object type, mapped with its companies."""
        entity, object_type = ENTITY_BY_NAME[entity_name], OBJECT_OF[entity_name]
        seen: set[str] = set()

        def land(page: list[dict[str, Any]]) -> Iterator[Any]:
            fresh = _unseen(page, seen)
            ids = [o["id"] for o in fresh]
            companies = self.companies_of(object_type, ids)
            context = self._context(entity_name, object_type, ids)
            rows = [
                row
                for o in fresh
                for row in mapper(o, companies.get(o["id"], []), self.settings, context)
            ]
            yield from self.landing.land(entity, rows, object_type)

        feed = dlt.transformer(land, data_from=self.objects(object_type), name=entity_name)
        return contract_resource(feed, Target(entity, key))

    def _context(self, entity_name: str, object_type: str, ids: list[str]) -> dict[str, Any]:
        """What a meeting's mapping needs beyond the object: its contacts' executive flags."""
        if entity_name != "meetings":
            return {}
        contacts = self.companies_of(object_type, ids, to="contacts")
        everyone = sorted({c for linked in contacts.values() for c in linked})
        keys = pa.table({"user_id": pa.array(everyone, pa.string())})
        flags = self.landing.history.loaded_values(
            ENTITY_BY_NAME["users"], keys, ["is_executive"]
        ).to_pylist()
        executives = {f["user_id"] for f in flags if f["is_executive"]}
        return {"contacts": contacts, "executives": executives}


# -- small helpers --------------------------------------------------------------------------


def _unseen(page: list[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
    """Objects not yet landed this run: a restarted search repeats the boundary ones."""
    fresh = [o for o in page if o["id"] not in seen]
    seen.update(o["id"] for o in fresh)
    return fresh


def _stored_cursor(state: dict[str, Any], resource: str) -> str | None:
    incremental = state.get("resources", {}).get(resource, {}).get("incremental", {})
    return incremental.get(CURSOR, {}).get("last_value")


def _epoch_millis(value: str) -> str:
    """HubSpot filters datetime properties by epoch milliseconds."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return str(int(moment.timestamp() * 1000))
