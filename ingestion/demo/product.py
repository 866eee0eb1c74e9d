"""The product database's view: users, the feature catalogue and daily usage events.

Usage is where health shows most (DESIGN §5: login_frequency, active_user_ratio,
feature_adoption, core_feature_adopted, usage_trend): who is active follows health a few days
late, and which features an account still uses follows it a couple of weeks late, features
with higher thresholds being dropped first. Events are one row per user, day and event name,
with the day's count in `quantity`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.demo import text
from ingestion.demo.formats import date_strings, mixed_zone_timestamps, timestamp_strings
from ingestion.demo.profiles import EVENTS, SEGMENTS
from ingestion.demo.world import World, sigmoid

ACTIVITY_LAG = 5  # days by which activity trails health
ADOPTION_LAG = 14  # days by which the set of features used trails health
ADOPTION_STEEPNESS = 12.0  # how sharply a feature is dropped once health passes its threshold
WEEKEND_ACTIVITY = 0.15
EXECUTIVES = {"smb": 1, "mid_market": 2, "enterprise": 3}


@dataclass(frozen=True)
class Users:
    account: np.ndarray  # account index, users of an account are contiguous
    pool: np.ndarray  # per account: number of users
    first: np.ndarray  # per account: index of its first user (the admin, then executives)
    ids: np.ndarray
    emails: np.ndarray
    role: np.ndarray
    is_executive: np.ndarray
    created_day: np.ndarray
    propensity: np.ndarray  # how much of a regular this user is


def build_users(rng: np.random.Generator, world: World) -> Users:
    """A bounded pool per account (seats may exceed it): one admin, a few executives, and
    members who mostly arrived with the account and partly joined later."""
    bounds = np.array([s.users for s in SEGMENTS])[world.segment]
    pool = np.minimum(rng.integers(bounds[:, 0], bounds[:, 1] + 1), world.seats)
    account = np.repeat(np.arange(world.size), pool)
    first_user = np.cumsum(pool) - pool
    rank = np.arange(len(account)) - first_user[account]
    executives = np.array([EXECUTIVES[s.name] for s in SEGMENTS])[world.segment]
    is_executive = (rank >= 1) & (rank <= np.minimum(executives, pool - 1)[account])
    member = np.where(rng.random(len(account)) < 0.25, "viewer", "member")
    role = np.where(rank == 0, "admin", np.where(is_executive, "executive", member))

    # Distinct first names within an account (pools are smaller than the name list).
    first_offset, last_offset = rng.integers(0, len(text.FIRST_NAMES), (2, world.size))
    first = np.array(text.FIRST_NAMES)[(first_offset[account] + rank) % len(text.FIRST_NAMES)]
    last = np.array(text.LAST_NAMES)[(last_offset[account] + 7 * rank) % len(text.LAST_NAMES)]
    emails = np.char.add(np.char.add(np.char.add(first, "."), last), "@")
    emails = np.char.add(emails, world.domains[account])

    founding = (rank <= executives[account]) | (rng.random(len(account)) < 0.7)
    created, last_day = world.created_day[account], world.last_day[account]
    joined = rng.integers(np.maximum(created, 0), last_day + 1)
    created_day = np.where(founding, created + rng.integers(0, 15, len(account)), joined)
    propensity = rng.beta(2, 2, len(account)) * np.where(is_executive, 0.3, 1.3)
    return Users(
        account=account,
        pool=pool,
        first=first_user,
        ids=np.array([f"U{i + 1:06d}" for i in range(len(account))]),
        emails=emails,
        role=role,
        is_executive=is_executive,
        created_day=np.minimum(created_day, last_day),
        propensity=propensity,
    )


def users_table(rng: np.random.Generator, world: World, users: Users) -> pa.Table:
    return pa.table(
        {
            "user_id": users.ids,
            "account_id": world.account_ids[users.account],
            "email": users.emails,
            "role": users.role,
            "is_executive": users.is_executive,
            "created_at": timestamp_strings(world.moments(rng, users.created_day)),
        }
    )


def features_table() -> pa.Table:
    return pa.table(
        {
            "event_name": [e.name for e in EVENTS],
            "feature": [e.feature for e in EVENTS],
            "is_core": [e.is_core for e in EVENTS],
        }
    )


@dataclass(frozen=True)
class EventRows:
    """One element per (user, day, event name) aggregate, in generation order."""

    user: np.ndarray
    day: np.ndarray
    event: np.ndarray
    seconds: np.ndarray  # epoch seconds of the row's timestamp (the day's first use)
    quantity: np.ndarray


def _thresholds(rng: np.random.Generator, world: World) -> np.ndarray:
    """(accounts, events): health above which an account uses each event's feature."""
    columns = []
    for spec in EVENTS:
        if spec.adoption is None:
            columns.append(np.full(world.size, -np.inf))
            continue
        threshold = rng.uniform(*spec.adoption, world.size)
        columns.append(np.where(world.never_core & spec.is_core, np.inf, threshold))
    return np.column_stack(columns)


def _active_user_days(
    rng: np.random.Generator, world: World, users: Users
) -> tuple[np.ndarray, np.ndarray]:
    """(user, day) pairs on which a user did anything: more often when the account is healthy,
    rarely at weekends, never before the user existed or after the account churned."""
    day = np.arange(world.window.days)
    weekday = (world.window.epoch_day + day + 3) % 7  # 1970-01-01 was a Thursday
    week_rhythm = np.where(weekday >= 5, WEEKEND_ACTIVITY, 1.0)
    keen = world.per_account("activity")[users.account] * users.propensity
    health = world.lagged(ACTIVITY_LAG)[users.account]
    chance = keen[:, None] * (0.08 + 0.92 * health**1.3) * week_rhythm
    exists = world.live[users.account] & (day >= users.created_day[:, None])
    return np.nonzero((rng.random(chance.shape, dtype=np.float32) < chance) & exists)


def build_events(rng: np.random.Generator, world: World, users: Users) -> EventRows:
    user, day = _active_user_days(rng, world, users)
    account = users.account[user]
    adoption_health = world.lagged(ADOPTION_LAG)[account, day]
    margin = adoption_health[:, None] - _thresholds(rng, world)[account]
    daily_use = np.array([e.daily_use for e in EVENTS])
    fired = rng.random(margin.shape, dtype=np.float32) < daily_use * sigmoid(
        ADOPTION_STEEPNESS * margin
    )
    fired[~fired.any(axis=1), 0] = True  # an active day always leaves a trace: a login
    row, event = np.nonzero(fired)
    intensity = 0.3 + 0.7 * world.lagged(ACTIVITY_LAG)[account[row], day[row]]
    per_use = np.array([e.per_use for e in EVENTS])[event]
    return EventRows(
        user=user[row],
        day=day[row],
        event=event,
        seconds=world.moments(rng, day[row]),
        quantity=1 + rng.poisson(per_use * intensity),
    )


def events_table(
    rng: np.random.Generator, world: World, users: Users, rows: EventRows
) -> tuple[pa.Table, np.ndarray]:
    """The contract's events, every column text (timestamps in mixed zones), ordered by time;
    with each row's epoch second for partitioning. The event id names the aggregate it is
    (user, UTC day, event name), so it is unique and stable."""
    epoch_day = world.window.epoch_day + rows.day
    seconds = rows.seconds
    order = np.lexsort((rows.event, rows.user, seconds))
    user = pa.array(users.ids).take(pa.array(rows.user[order]))
    name = pa.array([e.name for e in EVENTS]).take(pa.array(rows.event[order]))
    table = pa.table(
        {
            "account_id": pa.array(world.account_ids).take(
                pa.array(users.account[rows.user[order]])
            ),
            "event_name": name,
            "occurred_at": mixed_zone_timestamps(seconds[order], rng),
            "user_id": user,
            "event_id": pc.binary_join_element_wise(
                user, date_strings(epoch_day[order]), name, ":"
            ),
            "quantity": pc.cast(pa.array(rows.quantity[order]), pa.string()),
        }
    )
    return table, seconds[order]
