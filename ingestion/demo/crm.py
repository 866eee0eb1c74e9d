"""What a CRM holds: accounts, contracts, CSM overrides, meetings and CSM email events.

Two raw behaviours here are deliberately blind to health (see UNINFORMATIVE_SIGNALS): whether
a contact opens or answers CSM email, and whether a quarterly business review (QBR) is
attended. Calibration should learn to give the signals built on them (almost) no weight.
Check-ins, by contrast, are attended — and attended by executives — more when health is good.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ingestion.contract import ENTITY_BY_NAME
from ingestion.demo import text
from ingestion.demo.formats import blank_where, date_strings, timestamp_strings
from ingestion.demo.product import Users
from ingestion.demo.profiles import ARCHETYPE_INDEX
from ingestion.demo.world import SECONDS_PER_DAY, World

UNINFORMATIVE_SIGNALS = ("email_engagement", "qbr_attendance")
MEETING_LAG = 20  # days by which check-in attendance trails health
CONTACTS = 6  # CSM email goes to the first few users of a pool: admin, executives, champions

# (archetype, status, days from the window's end to expiry): negative ones have lapsed.
OVERRIDE_PLAN = (
    ("declining", "red", 45),
    ("at_risk", "red", -10),
    ("healthy", "green", 60),
    ("volatile", "yellow", -30),
    ("typical", "green", 20),
)
OVERRIDES_SCHEMA = pa.schema([(c.name, pa.string()) for c in ENTITY_BY_NAME["overrides"].columns])


def owner_emails(world: World) -> np.ndarray:
    return np.char.add(np.array(text.CSM_NAMES)[world.owner], "@" + text.VENDOR_DOMAIN)


def accounts_table(rng: np.random.Generator, world: World) -> pa.Table:
    has_parent = world.parent >= 0
    return pa.table(
        {
            "account_id": world.account_ids,
            "name": world.names,
            "domain": world.domains,
            "segment": world.per_account("name"),
            "owner_email": owner_emails(world),
            "owner_id": np.array([f"{880001 + o}" for o in world.owner]),
            "arr": world.arr.astype(np.int64),
            "seats": world.seats,
            "created_at": timestamp_strings(world.moments(rng, world.created_day)),
            "parent_account_id": pa.array(
                np.where(has_parent, world.account_ids[world.parent], ""), mask=~has_parent
            ),
            "archived_at": pa.nulls(len(world.account_ids), pa.string()),
        }
    )


def contracts_table(world: World) -> pa.Table:
    c = world.contracts
    epoch = world.window.epoch_day
    open_ = c["outcome"] == "open"
    return pa.table(
        {
            "contract_id": [f"C{i + 1:06d}" for i in range(len(c["account"]))],
            "account_id": world.account_ids[c["account"]],
            "start_date": date_strings(epoch + c["start_day"]),
            "end_date": date_strings(epoch + c["end_day"]),
            "arr": c["arr"].astype(np.int64),
            "outcome": c["outcome"],
            "outcome_date": blank_where(date_strings(epoch + c["outcome_day"]), open_),
        }
    )


def overrides_table(rng: np.random.Generator, world: World) -> pa.Table:
    """A handful of CSM overrides on current customers, some already expired."""
    emails = owner_emails(world)
    rows: list[dict[str, str]] = []
    for archetype, status, expires_in in OVERRIDE_PLAN:
        taken = [r["account_id"] for r in rows]
        candidates = np.flatnonzero(
            (world.archetype == ARCHETYPE_INDEX[archetype])
            & ~world.churned
            & ~np.isin(world.account_ids, taken)
        )
        if not len(candidates):
            continue
        account = rng.choice(candidates)
        reasons = text.OVERRIDE_REASONS[status]
        expires = (world.window.epoch_day + world.window.last + expires_in) * SECONDS_PER_DAY
        rows.append(
            {
                "account_id": str(world.account_ids[account]),
                "status": status,
                "reason": reasons[rng.integers(len(reasons))],
                "expires_at": timestamp_strings(np.array([expires]))[0].as_py(),
                "set_by": str(emails[account]),
            }
        )
    return pa.Table.from_pylist(rows, schema=OVERRIDES_SCHEMA)


def meetings_table(rng: np.random.Generator, world: World) -> pa.Table:
    """Check-ins (attendance follows health) and QBRs (attendance is each account's habit)."""
    check_account, check_day = world.recurring(rng, world.per_account("checkin_every"))
    health = world.lagged(MEETING_LAG)[check_account, check_day]
    check_attended = rng.random(len(check_day)) < 0.55 + 0.4 * health
    check_exec = check_attended & (rng.random(len(check_day)) < 0.03 + 0.6 * health**2)

    qbr_account, qbr_day = world.recurring(rng, world.per_account("qbr_every"), jitter=7)
    habit, exec_habit = rng.beta(5, 2, world.size), rng.beta(2, 2, world.size)
    qbr_attended = rng.random(len(qbr_day)) < habit[qbr_account]
    qbr_exec = qbr_attended & (rng.random(len(qbr_day)) < exec_habit[qbr_account])

    account = np.r_[check_account, qbr_account]
    day = np.r_[check_day, qbr_day]
    kind = np.r_[np.full(len(check_day), "check_in"), np.full(len(qbr_day), "qbr")]
    # Meetings start on the hour or half hour.
    started = world.moments(rng, day, hour=15) // 1800 * 1800
    order = np.lexsort((account, started))
    return pa.table(
        {
            "account_id": world.account_ids[account[order]],
            "started_at": timestamp_strings(started[order]),
            "meeting_type": kind[order],
            "attended": np.r_[check_attended, qbr_attended][order],
            "executive_attended": np.r_[check_exec, qbr_exec][order],
        }
    )


def email_events_table(rng: np.random.Generator, world: World, users: Users) -> pa.Table:
    """CSM emails and what contacts did with them: cadence by segment, responses by each
    contact's own habit — neither depends on health. Timestamps are native Parquet UTC."""
    sent = rng.poisson(world.per_account("emails_per_day")[:, None] * world.live)
    account, day = np.nonzero(sent)
    account, day = np.repeat(account, sent[account, day]), np.repeat(day, sent[account, day])
    contact = users.first[account] + rng.integers(0, np.minimum(users.pool, CONTACTS)[account])
    opens, replies = rng.beta(3, 2, len(users.ids)), rng.beta(1.2, 6, len(users.ids))

    at = world.moments(rng, day)
    opened = rng.random(len(at)) < opens[contact]
    open_at = at + rng.exponential(6 * 3600, len(at)).astype(np.int64) + 60
    clicked = opened & (rng.random(len(at)) < 0.3)
    click_at = open_at + rng.integers(30, 1800, len(at))
    replied = opened & (rng.random(len(at)) < replies[contact])
    reply_at = open_at + rng.integers(600, 30 * 3600, len(at))

    happened = np.r_[np.ones(len(at), bool), opened, clicked, replied]
    moment = np.r_[at, open_at, click_at, reply_at]
    kind = np.repeat(np.array(["sent", "open", "click", "reply"]), len(at))
    who = np.tile(contact, 4)
    ended = (world.window.epoch_day + world.last_day[users.account[who]] + 1) * SECONDS_PER_DAY
    keep = np.flatnonzero(happened & (moment < ended))
    keep = keep[np.lexsort((who[keep], moment[keep]))]
    return pa.table(
        {
            "account_id": world.account_ids[users.account[who[keep]]],
            "event_type": kind[keep],
            "occurred_at": pa.array(moment[keep], pa.timestamp("s", tz="UTC")),
            "contact_email": users.emails[who[keep]],
        }
    )
