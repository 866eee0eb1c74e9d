"""The customer's voice: support tickets and NPS survey responses.

Both follow health with a lag: unhealthy accounts open more tickets, more of them urgent, and
write them in a sour tone; NPS answers trail health by about a month. Three in ten tickets
carry no sentiment value, so it must be computed from the text (DESIGN §5 ticket_sentiment).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ingestion.demo import text
from ingestion.demo.formats import blank_where, timestamp_strings
from ingestion.demo.product import Users
from ingestion.demo.world import SECONDS_PER_DAY, World

TICKET_LAG = 10  # days by which ticket volume and priority trail health
MOOD_LAG = 14  # days by which tone, satisfaction and sentiment trail health
NPS_LAG = 30
NPS_EVERY = 90  # days between survey waves
NPS_RESPONSE_RATE = 0.15
SENTIMENT_GIVEN = 0.7
SATISFACTION_GIVEN = 0.55  # of solved tickets
TONE_CUTS = (0.4, 0.7)  # mood below the first reads negative, above the second positive


def _tickets_per_day(rng: np.random.Generator, world: World) -> tuple[np.ndarray, np.ndarray]:
    health = world.lagged(TICKET_LAG)
    rate = world.per_account("tickets_per_day")[:, None] * np.exp(1.3 * (0.5 - health))
    count = rng.poisson(rate * world.live)
    account, day = np.nonzero(count)
    return np.repeat(account, count[account, day]), np.repeat(day, count[account, day])


def _pick(
    rng: np.random.Generator, bank: tuple[tuple[str, ...], ...], tone: np.ndarray
) -> list[str]:
    """One phrase per ticket from the bank of its tone."""
    return [bank[t][rng.integers(len(bank[t]))] for t in tone]


def _capitalised(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _texts(rng: np.random.Generator, tone: np.ndarray) -> tuple[list[str], list[str]]:
    topic = rng.integers(0, len(text.TICKET_TOPICS), len(tone))
    subject, detail = zip(*(text.TICKET_TOPICS[t] for t in topic), strict=True)
    template = _pick(rng, text.TICKET_SUBJECTS, tone)
    opener, middle = _pick(rng, text.TICKET_OPENERS, tone), _pick(rng, text.TICKET_MIDDLES, tone)
    closer = _pick(rng, text.TICKET_CLOSERS, tone)
    subjects = [_capitalised(t.format(subject=s)) for t, s in zip(template, subject, strict=True)]
    asks = [m.format(detail=d) for m, d in zip(middle, detail, strict=True)]
    bodies = [f"{o} {_capitalised(a)} {c}" for o, a, c in zip(opener, asks, closer, strict=True)]
    return subjects, bodies


def tickets_table(rng: np.random.Generator, world: World) -> pa.Table:
    account, day = _tickets_per_day(rng, world)
    n = len(account)
    health = world.lagged(TICKET_LAG)[account, day]
    mood = np.clip(world.lagged(MOOD_LAG)[account, day] + rng.normal(0, 0.12, n), 0, 1)
    tone = np.digitize(mood, TONE_CUTS)

    serious = 0.08 + 0.5 * (1 - health)  # chance of high or urgent
    draw = rng.random(n)
    priority = np.select(
        [draw < 0.3 * serious, draw < serious, draw < serious + 0.6 * (1 - serious)],
        ["urgent", "high", "normal"],
        "low",
    )
    created = world.moments(rng, day)
    hours = rng.exponential(np.where(draw < serious, 12.0, 40.0)) + 0.5
    solved = created + (hours * 3600).astype(np.int64)
    window_end = (world.window.epoch_day + world.window.days) * SECONDS_PER_DAY
    is_solved = solved < window_end
    status = np.where(
        is_solved,
        np.where(solved < window_end - 4 * SECONDS_PER_DAY, "closed", "solved"),
        np.where(rng.random(n) < 0.6, "open", "pending"),
    )
    rated = is_solved & (rng.random(n) < SATISFACTION_GIVEN)
    satisfaction = np.clip(np.round(1 + 4 * (mood + rng.normal(0, 0.1, n))), 1, 5)
    sentiment = np.round(np.clip(2 * mood - 1 + rng.normal(0, 0.1, n), -1, 1), 3)
    subjects, bodies = _texts(rng, tone)

    order = np.lexsort((account, created))
    return pa.table(
        {
            "ticket_id": [f"T{i + 1:06d}" for i in range(n)],
            "account_id": world.account_ids[account[order]],
            "created_at": timestamp_strings(created[order]),
            "priority": priority[order],
            "status": status[order],
            "solved_at": blank_where(timestamp_strings(solved[order]), ~is_solved[order]),
            "subject": np.array(subjects, dtype=object)[order],
            "body": np.array(bodies, dtype=object)[order],
            "satisfaction": pa.array(satisfaction[order].astype(np.int64), mask=~rated[order]),
            "sentiment": pa.array(sentiment[order], mask=rng.random(n) >= SENTIMENT_GIVEN),
        }
    )


def nps_table(rng: np.random.Generator, world: World, users: Users) -> pa.Table:
    """Quarterly survey waves; a few users of each account answer, scoring lagged health."""
    wave_account, wave_day = world.recurring(rng, np.full(world.size, NPS_EVERY), jitter=0)
    # Every user of the account is asked in each wave.
    asked = users.pool[wave_account]
    user = np.repeat(users.first[wave_account], asked) + (
        np.arange(asked.sum()) - np.repeat(np.cumsum(asked) - asked, asked)
    )
    account = users.account[user]
    day = np.repeat(wave_day, asked) + rng.integers(0, 14, len(user))
    answered = (
        (rng.random(len(user)) < NPS_RESPONSE_RATE)
        & (day >= users.created_day[user])
        & (day <= world.last_day[account])
    )
    user, account, day = user[answered], account[answered], day[answered]
    n = len(user)
    health = world.lagged(NPS_LAG)[account, day]
    score = np.clip(np.round(1 + 9 * health + rng.normal(0, 1.3, n)), 0, 10).astype(np.int64)
    band = np.digitize(score, (7, 9))  # detractor, passive, promoter
    comment = np.array(_pick(rng, text.NPS_COMMENTS, band), dtype=object)
    responded = world.moments(rng, day, hour=16)
    order = np.lexsort((user, responded))
    return pa.table(
        {
            "account_id": world.account_ids[account[order]],
            "score": score[order],
            "responded_at": timestamp_strings(responded[order]),
            "user_id": users.ids[user[order]],
            "comment": pa.array(comment[order], mask=rng.random(n)[order] >= 0.5),
        }
    )
