"""A generated dataset delivered through the local HubSpot portal and the local Zendesk.

`fit_for_crm` first rewrites a generated dataset (a copy of its contract files) into one that
HubSpot and Zendesk can hold exactly, so that every delivery of it must score alike; the
deliveries then differ only in the way the data travels. What HubSpot and Zendesk cannot hold,
and how the copy spells it instead:

- account ids: HubSpot company ids are numbers it assigns; the copy's account ids are numeric
  (`COMPANY_ID_BASE` + the generator's number), and the companies are seeded with them.
- email opens and clicks: an email engagement holds only open and click *counts*, so the
  connector dates an open or click at its email; the copy moves each open and click to the
  time of the email it belongs to (the latest email to that contact before it).
- satisfaction: a Zendesk rating is good or bad (5 or 1 by `satisfaction_scores`); the copy
  keeps 1 and 5, turns 2 into 1 and 4 into 5, and drops 3 (Zendesk: not rated).
- sentiment: a Zendesk ticket without a sentiment is scored from its text by the connector;
  the copy gives such tickets that text score, and every ticket carries its sentiment in a
  numeric ticket field (`zendesk.sentiment_field_id`).

Everything else maps one to one through the documented settings of `sources.example.yml`,
with the property names a portal would choose: segments through `segment_values`, contract
start and end dates in date properties (`start_date_property`, `end_date_property`; the close
date is the outcome date), the executive flag through `executive_title_pattern` on job titles
(the generator's role `executive`), meeting types through `type_values`, attendance through
the outcome (COMPLETED or NO_SHOW), and executive attendance through an associated executive
contact (which only HubSpot's own contacts can be: the connector looks contacts up among the
users it loaded). Ids HubSpot and Zendesk assign to contacts, deals and tickets stand in for
the contract's user, contract and ticket ids, which no score reads.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import yaml

from ingestion.sentiment import ticket_sentiment
from tests.fakes.hubspot_server import FakeHubSpot
from tests.fakes.zendesk_server import FakeZendesk

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "sources.example.yml"
COMPANY_ID_BASE = 30_000_000
ACCOUNT_COLUMNS = ("account_id", "parent_account_id")
SEGMENT_LABELS = {"enterprise": "Enterprise", "mid_market": "Mid-Market", "smb": "SMB"}
MEETING_TYPES = {"qbr": "QBR", "check_in": "Check-in"}
DEAL_STAGES = {"renewed": "closedwon", "churned": "closedlost", "open": "contractsent"}
START_PROPERTY, END_PROPERTY = "contract_start_date", "contract_end_date"
SATISFACTION = {"1": "1", "2": "1", "3": "", "4": "5", "5": "5"}
RATING = {"1": "bad", "5": "good"}


# -- the dataset as HubSpot and Zendesk can hold it -------------------------------------------


def company_id(account_id: str) -> str:
    """`A00042` → `30000042`."""
    return str(COMPANY_ID_BASE + int(account_id.lstrip("A")))


def fit_for_crm(source_dir: Path, out_dir: Path) -> Path:
    """A copy of the contract files in `source_dir`, rewritten as the module says; its path."""
    shutil.copytree(source_dir, out_dir)
    for name in ("accounts", "users", "contracts", "overrides", "meetings", "nps_responses"):
        path = out_dir / f"{name}.csv"
        write_csv(path, [_renumbered(r) for r in read_csv(path)])
    tickets = [_fitted_ticket(_renumbered(t)) for t in read_jsonl(out_dir / "tickets.jsonl")]
    (out_dir / "tickets.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tickets))
    _rewrite_parts(out_dir / "events", lambda table: table)
    _rewrite_parts(out_dir / "email_events", _emails_dated_at_sending)
    return out_dir


def _renumbered(row: dict[str, Any]) -> dict[str, Any]:
    return {k: company_id(v) if k in ACCOUNT_COLUMNS and v else v for k, v in row.items()}


def _fitted_ticket(ticket: dict[str, Any]) -> dict[str, Any]:
    satisfaction = SATISFACTION[str(ticket["satisfaction"] or 3)]
    sentiment = ticket["sentiment"]
    if sentiment is None:
        sentiment = ticket_sentiment(ticket["subject"], ticket["body"])
    return {**ticket, "satisfaction": int(satisfaction) if satisfaction else None} | {
        "sentiment": sentiment
    }


def _rewrite_parts(folder: Path, fit: Any) -> None:
    """Renumber the account ids of every part (and `fit` the whole table), one file again per
    original part."""
    parts = sorted(folder.glob("*.parquet"))
    table = ds.dataset(parts).to_table()
    names = pa.array([p.name for p, n in _part_rows(parts) for _ in range(n)])
    table = table.append_column("__part", names)
    ids = [company_id(a) for a in table["account_id"].to_pylist()]
    table = table.set_column(
        table.schema.get_field_index("account_id"), "account_id", pa.array(ids, pa.string())
    )
    table = fit(table)
    for part in parts:
        part.unlink()
        rows = table.filter(pc.equal(table["__part"], part.name)).drop_columns("__part")
        if rows.num_rows:
            pq.write_table(rows, part)


def _part_rows(parts: list[Path]) -> list[tuple[Path, int]]:
    return [(p, pq.ParquetFile(p).metadata.num_rows) for p in parts]


def _emails_dated_at_sending(table: pa.Table) -> pa.Table:
    """Each open and click at the time of its email: the latest one sent to the same contact
    before it that has none yet. One without such an email is dropped."""
    rows = sorted(table.to_pylist(), key=lambda r: r["occurred_at"])
    sent: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    kept = []
    for row in rows:
        key = (row["account_id"], row["contact_email"])
        kind = row["event_type"]
        if kind == "sent":
            row["_took"] = set()
            sent[key].append(row)
        elif kind in ("open", "click"):
            needs = {"click": "open"}.get(kind)
            email = next(
                (
                    s
                    for s in reversed(sent[key])
                    if kind not in s["_took"] and (needs is None or needs in s["_took"])
                ),
                None,
            )
            if email is None:
                continue
            email["_took"].add(kind)
            row = {**row, "occurred_at": email["occurred_at"]}
        kept.append(row)
    kept.sort(key=lambda r: r["occurred_at"])
    columns = [c for c in table.column_names]
    return pa.Table.from_pylist([{c: r[c] for c in columns} for r in kept], schema=table.schema)


# -- files ------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- configuration ----------------------------------------------------------------------------


def hubspot_section(base_url: str, entities: list[str]) -> dict[str, Any]:
    """The documented `hubspot` section, pointed at the local portal, naming this portal's
    properties."""
    section = yaml.safe_load(EXAMPLE_CONFIG.read_text())["hubspot"]
    section = {**section, "base_url": base_url, "entities": entities}
    section["users"] = {"executive_title_pattern": "(?i)^executive$"}
    section["contracts"] = {
        **section["contracts"],
        "start_date_property": START_PROPERTY,
        "end_date_property": END_PROPERTY,
    }
    return section


def zendesk_section(base_url: str, sentiment_field_id: int) -> dict[str, Any]:
    section = yaml.safe_load(EXAMPLE_CONFIG.read_text())["zendesk"]
    return {**section, "base_url": base_url, "sentiment_field_id": sentiment_field_id}


# -- HubSpot ----------------------------------------------------------------------------------


def seed_hubspot(hs: FakeHubSpot, source_dir: Path, entities: list[str]) -> None:
    """The entities of the fitted dataset in `source_dir` as the objects the connector reads."""
    for name in ("customer_tier", *(f"health_override_{c}" for c in _OVERRIDE_COLUMNS)):
        hs.define_property("companies", name, "string", "text")
    for name in ("arr", "licensed_seats"):
        hs.define_property("companies", name, "number", "number")
    for name in (START_PROPERTY, END_PROPERTY):
        hs.define_property("deals", name, "date", "date")

    accounts = read_csv(source_dir / "accounts.csv")
    overrides = {o["account_id"]: o for o in read_csv(source_dir / "overrides.csv")}
    for owner_id, email in sorted({(a["owner_id"], a["owner_email"]) for a in accounts}):
        hs.add_owner(email, owner_id=owner_id)
    for account in accounts:
        override = overrides.get(account["account_id"]) if "overrides" in entities else None
        hs.add(
            "companies",
            {
                "name": account["name"],
                "domain": account["domain"] or None,
                "customer_tier": SEGMENT_LABELS.get(account["segment"], account["segment"]),
                "hubspot_owner_id": account["owner_id"] or None,
                "arr": account["arr"] or None,
                "licensed_seats": account["seats"] or None,
                "hs_parent_company_id": account["parent_account_id"] or None,
                **{f"health_override_{c}": (override or {}).get(c) for c in _OVERRIDE_COLUMNS},
            },
            object_id=account["account_id"],
            created_at=account["created_at"] or None,
        )
    contacts: dict[str, list[str]] = defaultdict(list)  # account → executive contact ids
    if "users" in entities:
        for user in read_csv(source_dir / "users.csv"):
            contact = _linked(
                hs,
                "contacts",
                user["account_id"],
                {"email": user["email"] or None, "jobtitle": user["role"] or None},
                created_at=user["created_at"] or None,
            )
            if user["is_executive"] == "true":
                contacts[user["account_id"]].append(contact)
    if "contracts" in entities:
        for contract in read_csv(source_dir / "contracts.csv"):
            _linked(
                hs,
                "deals",
                contract["account_id"],
                {
                    "dealname": contract["contract_id"],
                    "dealtype": "existingbusiness",
                    "amount": contract["arr"] or None,
                    "dealstage": DEAL_STAGES[contract["outcome"]],
                    START_PROPERTY: contract["start_date"],
                    END_PROPERTY: contract["end_date"],
                    "closedate": contract["outcome_date"] or contract["end_date"],
                },
            )
    if "meetings" in entities:
        for meeting in read_csv(source_dir / "meetings.csv"):
            attended = {"true": "COMPLETED", "false": "NO_SHOW"}.get(meeting["attended"])
            object_id = _linked(
                hs,
                "meetings",
                meeting["account_id"],
                {
                    "hs_meeting_title": "Customer call",
                    "hs_timestamp": meeting["started_at"],
                    "hs_meeting_start_time": meeting["started_at"],
                    "hs_meeting_outcome": attended,
                    "hs_activity_type": MEETING_TYPES.get(meeting["meeting_type"]),
                },
            )
            if meeting["executive_attended"] == "true":
                hs.associate("meetings", object_id, "contacts", contacts[meeting["account_id"]][0])
    if "email_events" in entities:
        _seed_emails(hs, source_dir)


_OVERRIDE_COLUMNS = ("status", "reason", "expires_at", "set_by")


def _seed_emails(hs: FakeHubSpot, source_dir: Path) -> None:
    """One engagement per email sent (its open and click counts from the fitted opens and
    clicks at its time) and one per reply."""
    rows = ds.dataset(source_dir / "email_events").to_table().to_pylist()
    kinds: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        key = (row["account_id"], row["contact_email"], row["occurred_at"])
        kinds[key][row["event_type"]] += 1
    for (account, contact, moment), counts in kinds.items():
        stamp = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
        for i in range(counts["sent"]):
            _linked(
                hs,
                "emails",
                account,
                {
                    "hs_timestamp": stamp,
                    "hs_email_direction": "EMAIL",
                    "hs_email_to_email": contact,
                    "hs_email_open_count": 1 if i < counts["open"] else 0,
                    "hs_email_click_count": 1 if i < counts["click"] else 0,
                },
            )
        for _ in range(counts["reply"]):
            _linked(
                hs,
                "emails",
                account,
                {
                    "hs_timestamp": stamp,
                    "hs_email_direction": "INCOMING_EMAIL",
                    "hs_email_from_email": contact,
                },
            )


def _linked(
    hs: FakeHubSpot,
    object_type: str,
    company: str,
    properties: dict[str, Any],
    created_at: str | None = None,
) -> str:
    object_id = hs.add(object_type, properties, created_at=created_at)
    hs.associate(object_type, object_id, "companies", company)
    return object_id


# -- Zendesk ----------------------------------------------------------------------------------


def seed_zendesk(zd: FakeZendesk, source_dir: Path) -> int:
    """The fitted dataset's tickets, one organization per account (its external id the
    account id); the id of the numeric sentiment field they carry."""
    field = zd.add_ticket_field("Sentiment", "decimal")
    organizations = {
        a["account_id"]: zd.add_organization(
            a["name"], external_id=a["account_id"], domain_names=(a["domain"],)
        )
        for a in read_csv(source_dir / "accounts.csv")
    }
    for ticket in read_jsonl(source_dir / "tickets.jsonl"):
        ticket_id = zd.add_ticket(
            organizations[ticket["account_id"]],
            subject=ticket["subject"],
            description=ticket["body"],
            priority=ticket["priority"],
            status=ticket["status"],
            custom_fields={field: str(ticket["sentiment"])},
            created_at=_zendesk_time(ticket["created_at"]),
        )
        if ticket["satisfaction"] is not None:
            zd.rate(ticket_id, RATING[str(ticket["satisfaction"])])
    return field


def _zendesk_time(moment: str) -> str:
    parsed = datetime.fromisoformat(moment.replace("Z", "+00:00")).astimezone(UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")
