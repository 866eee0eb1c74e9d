"""The hidden world: accounts, their true daily health, and the renewals that health decides.

Everything observable (`product`, `crm`, `support`) is derived from this world with noise and
lags, and the truth itself is published beside the source files so calibration can be checked
against it. Days are integers relative to the window: 0 is its first day, `days - 1` its last,
negative days lie before it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import numpy as np
import pyarrow as pa

from ingestion.demo import text
from ingestion.demo.profiles import ARCHETYPE_INDEX, ARCHETYPES, SEGMENTS

PRE_DAYS = 120  # health is simulated this long before the window so early renewals have a past
REVERSION = 1 / 25  # daily pull of the health walk back to its archetype's level
DECISION_WINDOW = (120, 60)  # a renewal weighs mean health over [end - 120 d, end - 60 d)
CHURN_ALPHA, CHURN_BETA = 2.6, 8.5  # P(churn) = sigmoid(alpha - beta * that mean)
RANDOM_CHURN_RATE = 0.18  # the coin when churn is not driven by health
NEW_CUSTOMER_SHARE = 0.2
HEALTHY_FLOOR = (120, 0.76)  # healthy accounts stay above this over the last 120 days
DECLINED_CEILING = (45, 0.2)  # declining accounts stay below this over the last 45 days
EPOCH = date(1970, 1, 1)
SECONDS_PER_DAY = 86_400


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream per concern, so that changing how tickets are drawn (or
    whether dirt is planted) leaves every other entity byte-identical."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x)))


def ar1(inputs: np.ndarray, keep: float | np.ndarray) -> np.ndarray:
    """y[:, t] = keep * y[:, t-1] + inputs[:, t]: the one recursion behind the health walk, its
    shocks and every lagged view of health. Loops over days, vectorised over accounts."""
    steps = np.ascontiguousarray(inputs.T, dtype=float)
    for t in range(1, len(steps)):
        steps[t] += keep * steps[t - 1]
    return steps.T


@dataclass(frozen=True)
class Window:
    end: date
    days: int

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)

    @property
    def last(self) -> int:
        return self.days - 1

    @property
    def epoch_day(self) -> int:
        """Days from 1970-01-01 to the window's first day, to turn day numbers into dates."""
        return (self.start - EPOCH).days


@dataclass
class World:
    window: Window
    account_ids: np.ndarray
    names: np.ndarray
    domains: np.ndarray
    segment: np.ndarray  # index into SEGMENTS
    archetype: np.ndarray  # index into ARCHETYPES
    owner: np.ndarray  # index into text.CSM_NAMES
    seats: np.ndarray
    arr: np.ndarray  # ARR of the latest contract
    parent: np.ndarray  # parent account index, -1 for none
    created_day: np.ndarray
    last_day: np.ndarray  # last day with activity: the churn day, else the window's last day
    churned: np.ndarray
    never_core: np.ndarray  # never adopts a core feature (DESIGN §6 gate)
    health: np.ndarray  # (accounts, PRE_DAYS + days), true health in 0..1
    contracts: dict[str, np.ndarray]  # one array per field, one element per contract
    _lagged: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return len(self.account_ids)

    def per_account(self, attribute: str) -> np.ndarray:
        """A segment profile attribute, looked up for every account."""
        return np.array([getattr(s, attribute) for s in SEGMENTS])[self.segment]

    @cached_property
    def live(self) -> np.ndarray:
        """(accounts, days): a customer that day, from creation to churn."""
        day = np.arange(self.window.days)
        return (day >= self.created_day[:, None]) & (day <= self.last_day[:, None])

    def lagged(self, days: int) -> np.ndarray:
        """(accounts, days) health as an observable perceives it: exponentially smoothed over
        about `days` days, so behaviour trails health by that much."""
        if days not in self._lagged:
            weight = 1.0 / days
            inputs = weight * self.health
            inputs[:, 0] = self.health[:, 0]
            self._lagged[days] = ar1(inputs, 1.0 - weight)[:, PRE_DAYS:]
        return self._lagged[days]

    def moments(self, rng: np.random.Generator, day: np.ndarray, hour: float = 14.5) -> np.ndarray:
        """Epoch seconds at a working-hours moment (UTC) of each given day."""
        second = np.clip(rng.normal(hour * 3600, 2.5 * 3600, len(day)), 0, SECONDS_PER_DAY - 1)
        return (self.window.epoch_day + day) * SECONDS_PER_DAY + second.astype(np.int64)

    def recurring(
        self, rng: np.random.Generator, every: np.ndarray, jitter: float = 3.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """(account, day) of something that recurs every `every[account]` days (± jitter)
        while the account is a customer: check-ins, business reviews, survey waves."""
        times = self.window.days // int(every.min()) + 2
        first = np.maximum(self.created_day, 0) + rng.integers(0, every)
        day = first[:, None] + every[:, None] * np.arange(times)
        day = day + np.round(rng.normal(0, jitter, day.shape)).astype(int)
        account = np.broadcast_to(np.arange(self.size)[:, None], day.shape)
        keep = (day >= np.maximum(self.created_day, 0)[:, None]) & (day <= self.last_day[:, None])
        return account[keep], day[keep]


def quota(rng: np.random.Generator, shares: list[float], n: int) -> np.ndarray:
    """Category per item with counts matching the shares as closely as integers allow, so
    small worlds still get every archetype and segment."""
    exact = np.asarray(shares) / np.sum(shares) * n
    counts = np.floor(exact).astype(int)
    counts[np.argsort(counts - exact)[: n - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares)), counts))


def _archetype_values(archetype: np.ndarray, attribute: str) -> np.ndarray:
    return np.array([getattr(a, attribute) for a in ARCHETYPES])[archetype]


def _uniform(rng: np.random.Generator, bounds: np.ndarray) -> np.ndarray:
    return rng.uniform(bounds[:, 0], bounds[:, 1])


@dataclass(frozen=True)
class _Timeline:
    """When each account became a customer and how its contracts are phased."""

    created_day: np.ndarray
    first_start: np.ndarray  # start day of its first contract listed (covering its first day)
    term: np.ndarray


def _timeline(
    rng: np.random.Generator, archetype: np.ndarray, segment: np.ndarray, window: Window
) -> _Timeline:
    """Stagger renewals across the window; sign some customers inside it; phase decliners so
    their last renewal comes before their fall (they are still customers at the end)."""
    n = len(archetype)
    two_year = np.array([s.two_year_share for s in SEGMENTS])[segment]
    term = np.where(rng.random(n) < two_year, 730, 365)
    may_be_new = np.flatnonzero(_archetype_values(archetype, "may_be_new"))
    new = rng.permutation(may_be_new)[: round(NEW_CUSTOMER_SHARE * n)]
    # Existing customers: the contract covering day 0 started up to one term earlier.
    first_start = rng.integers(1, term + 1) - term
    declining = archetype == ARCHETYPE_INDEX["declining"]
    open_start = rng.integers(window.last - term + 35, window.last - 150 + 1)
    first_start[declining] = ((open_start - 1) % term + 1 - term)[declining]
    created_day = first_start - 365 * rng.integers(0, 4, n) - rng.integers(0, 45, n)
    latest = max(1, int(0.6 * window.days))
    joined = rng.integers(max(1, window.days // 20), latest + 1, n)
    first_start[new] = created_day[new] = joined[new]
    return _Timeline(created_day, first_start, term)


def _last_renewal(timeline: _Timeline, window: Window) -> np.ndarray:
    """End day of the last contract that ends inside the window (may lie before it)."""
    terms_to_end = (window.last - timeline.first_start) // timeline.term
    return timeline.first_start + terms_to_end * timeline.term - 1


def _ramps(
    rng: np.random.Generator, archetype: np.ndarray, timeline: _Timeline, window: Window
) -> tuple[np.ndarray, np.ndarray]:
    """Start day and length of each account's move from its start level to its end level."""
    n = len(archetype)
    shape = _archetype_values(archetype, "shape")
    start = np.full(n, -PRE_DAYS)
    length = np.full(n, PRE_DAYS + window.days)
    climb = shape == "recovery"
    start[climb] = rng.integers(window.days // 20, window.days // 2 + 1, n)[climb]
    length[climb] = rng.integers(60, 151, n)[climb]
    fall = shape == "decline"
    fall_length = rng.integers(30, 91, n)
    latest = window.last - DECLINED_CEILING[0] - fall_length
    # After the decision window of the last renewal, so that renewal saw a healthy account.
    earliest = np.maximum(_last_renewal(timeline, window) - DECISION_WINDOW[1], window.last - 260)
    earliest = np.minimum(earliest, latest)
    start[fall] = rng.integers(earliest, latest + 1)[fall]
    length[fall] = fall_length[fall]
    return start, length


def _health(
    rng: np.random.Generator,
    archetype: np.ndarray,
    ramp: tuple[np.ndarray, np.ndarray],
    window: Window,
) -> np.ndarray:
    """Archetype level + mean-reverting walk minus shocks that recover, squashed to 0..1."""
    n, steps = len(archetype), PRE_DAYS + window.days
    day = np.arange(steps) - PRE_DAYS
    begin = _uniform(rng, _archetype_values(archetype, "start"))
    end = _uniform(rng, _archetype_values(archetype, "end"))
    progress = np.clip((day - ramp[0][:, None]) / ramp[1][:, None], 0.0, 1.0)
    level = begin[:, None] + (end - begin)[:, None] * progress

    keep = 1.0 - REVERSION
    noise = rng.standard_normal((n, steps)) * _archetype_values(archetype, "volatility")[:, None]
    noise[:, 0] /= np.sqrt(1.0 - keep**2)  # start the walk in its stationary spread
    walk = ar1(noise, keep)

    rate = _archetype_values(archetype, "shocks_per_year")[:, None] / 365
    drops = (rng.random((n, steps)) < rate) * rng.uniform(1.2, 2.8, (n, steps))
    healthy = archetype == ARCHETYPE_INDEX["healthy"]
    drops[healthy, -HEALTHY_FLOOR[0] :] = 0.0
    shock = ar1(drops, np.exp(-1.0 / rng.uniform(8, 35, n)))

    health = sigmoid(np.log(level / (1.0 - level)) + walk - shock)
    health[healthy, -HEALTHY_FLOOR[0] :] = np.maximum(
        health[healthy, -HEALTHY_FLOOR[0] :], HEALTHY_FLOOR[1]
    )
    declining = archetype == ARCHETYPE_INDEX["declining"]
    health[declining, -DECLINED_CEILING[0] :] = np.minimum(
        health[declining, -DECLINED_CEILING[0] :], DECLINED_CEILING[1]
    )
    return health


def _renewals(
    rng: np.random.Generator,
    health: np.ndarray,
    timeline: _Timeline,
    first_arr: np.ndarray,
    archetype: np.ndarray,
    window: Window,
    churn_driven_by_health: bool,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Walk each account's contracts; at every end inside the window decide renew or churn.

    When churn follows health, decliners always renew: their fall starts after their last
    renewal's decision window by construction, and sparing them the small remaining chance
    keeps them customers at the end. The coin spares nobody, so it stays independent of all.
    """
    n, slots = len(archetype), window.days // 365 + 3
    coin = rng.random((n, slots))
    growth = rng.uniform(0.97, 1.12, (n, slots))
    signed_early = rng.integers(0, 31, (n, slots))
    spared = (archetype == ARCHETYPE_INDEX["declining"]) & churn_driven_by_health
    last_day = np.full(n, window.last)
    rows: list[tuple[int, int, int, float, str, int]] = []
    for a in range(n):
        start, arr = int(timeline.first_start[a]), float(first_arr[a])
        for k in range(slots):
            end = start + int(timeline.term[a]) - 1
            if end > window.last:
                rows.append((a, start, end, arr, "open", -1))
                break
            past = health[
                a, PRE_DAYS + end - DECISION_WINDOW[0] : PRE_DAYS + end - DECISION_WINDOW[1]
            ]
            p = (
                sigmoid(CHURN_ALPHA - CHURN_BETA * past.mean())
                if churn_driven_by_health
                else RANDOM_CHURN_RATE
            )
            if coin[a, k] < p and not spared[a]:
                rows.append((a, start, end, arr, "churned", end))
                last_day[a] = end
                break
            rows.append((a, start, end, arr, "renewed", end - int(signed_early[a, k])))
            start, arr = end + 1, round(arr * growth[a, k], -2)
    columns = ("account", "start_day", "end_day", "arr", "outcome", "outcome_day")
    contracts = {c: np.array(v) for c, v in zip(columns, zip(*rows, strict=True), strict=True)}
    return contracts, last_day


@dataclass(frozen=True)
class _Identity:
    names: np.ndarray
    domains: np.ndarray
    owner: np.ndarray
    seats: np.ndarray
    first_arr: np.ndarray
    parent: np.ndarray


def _identity(rng: np.random.Generator, segment: np.ndarray) -> _Identity:
    """Names, domains, owners, seats and list price; a few subsidiaries of enterprises."""
    n = len(segment)
    words, nouns, kinds = text.COMPANY_WORDS, text.COMPANY_NOUNS, text.COMPANY_KINDS
    combos = len(words) * len(nouns) * len(kinds)
    pick = rng.permutation(combos)[np.arange(n) % combos]
    w, rest = np.divmod(pick, len(nouns) * len(kinds))
    o, k = np.divmod(rest, len(kinds))
    repeat = np.arange(n) // combos  # only when asked for more accounts than names exist
    parts = [
        [words[i], nouns[j], kinds[m], str(r + 1) if r else ""]
        for i, j, m, r in zip(w, o, k, repeat, strict=True)
    ]
    names = np.array([" ".join(p for p in ps if p).title() for ps in parts])
    domains = np.array(["-".join(p for p in ps if p) + ".example" for ps in parts])

    bounds = np.array([s.seats for s in SEGMENTS], dtype=float)[segment]
    seats = np.round(np.exp(rng.uniform(np.log(bounds[:, 0]), np.log(bounds[:, 1])))).astype(int)
    price = _uniform(rng, np.array([s.price_per_seat for s in SEGMENTS])[segment])
    first_arr = np.round(seats * price, -2)

    enterprises = np.flatnonzero(segment == [s.name for s in SEGMENTS].index("enterprise"))
    parent = np.full(n, -1)
    if len(enterprises):
        child = (rng.random(n) < 0.03) & ~np.isin(np.arange(n), enterprises)
        parent[child] = rng.choice(enterprises, child.sum())
    owner = rng.integers(0, len(text.CSM_NAMES), n)
    return _Identity(names, domains, owner, seats, first_arr, parent)


def build_world(seed: int, accounts: int, window: Window, churn_driven_by_health: bool) -> World:
    rng = stream(seed, "world")
    segment = quota(rng, [s.share for s in SEGMENTS], accounts)
    archetype = quota(rng, [a.share for a in ARCHETYPES], accounts)
    timeline = _timeline(rng, archetype, segment, window)
    health = _health(rng, archetype, _ramps(rng, archetype, timeline, window), window)
    identity = _identity(stream(seed, "identity"), segment)
    contracts, last_day = _renewals(
        stream(seed, "renewals"),
        health,
        timeline,
        identity.first_arr,
        archetype,
        window,
        churn_driven_by_health,
    )
    latest = np.flatnonzero(np.r_[contracts["account"][1:] != contracts["account"][:-1], True])
    unhealthy = (archetype == ARCHETYPE_INDEX["at_risk"]) | (health.mean(axis=1) < 0.4)
    return World(
        window=window,
        account_ids=np.array([f"A{i + 1:05d}" for i in range(accounts)]),
        names=identity.names,
        domains=identity.domains,
        segment=segment,
        archetype=archetype,
        owner=identity.owner,
        seats=identity.seats,
        arr=contracts["arr"][latest],
        parent=identity.parent,
        created_day=timeline.created_day,
        last_day=last_day,
        churned=np.isin(
            np.arange(accounts), contracts["account"][contracts["outcome"] == "churned"]
        ),
        never_core=unhealthy & (rng.random(accounts) < 0.4),
        health=health,
        contracts=contracts,
    )


def health_truth_table(world: World) -> pa.Table:
    """The hidden health, one row per account per day it was a customer, on a 0-100 scale."""
    account, day = np.nonzero(world.live)
    return pa.table(
        {
            "account_id": world.account_ids[account],
            "date": pa.array(world.window.epoch_day + day, pa.int32()).cast(pa.date32()),
            "true_health": np.round(100 * world.health[account, PRE_DAYS + day], 2),
            "segment": world.per_account("name")[account],
        }
    )


def accounts_truth_table(world: World) -> pa.Table:
    churn_day = world.window.epoch_day + world.last_day
    return pa.table(
        {
            "account_id": world.account_ids,
            "segment": world.per_account("name"),
            "archetype": np.array([a.name for a in ARCHETYPES])[world.archetype],
            "churned": world.churned,
            "churn_date": pa.array(churn_day, pa.int32(), mask=~world.churned).cast(pa.date32()),
            "never_adopts_core": world.never_core,
        }
    )
