"""The knobs of the demo world: segments, health archetypes and the product's event catalogue.

Kept apart from the simulation so the numbers that shape the data read as one table each, and
so a test or a notebook can refer to an archetype or event by name instead of by magic number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    name: str
    share: float
    seats: tuple[int, int]
    users: tuple[int, int]  # size of the user pool; seats may exceed it
    price_per_seat: tuple[float, float]
    activity: float  # chance a typical user is active on a weekday at full health
    tickets_per_day: float  # at middling health
    checkin_every: int  # days between CSM check-ins
    qbr_every: int  # days between business reviews
    emails_per_day: float  # CSM emails sent to the account
    two_year_share: float  # share of accounts on two-year contracts


SEGMENTS: tuple[Segment, ...] = (
    Segment("smb", 0.55, (5, 30), (3, 12), (400, 900), 0.65, 0.02, 45, 182, 1 / 21, 0.0),
    Segment("mid_market", 0.30, (30, 200), (10, 30), (300, 600), 0.55, 0.05, 30, 91, 1 / 10, 0.35),
    Segment("enterprise", 0.15, (200, 2000), (20, 40), (400, 800), 0.50, 0.12, 21, 91, 1 / 6, 0.6),
)


@dataclass(frozen=True)
class Archetype:
    """A family of health trajectories: a level that moves from `start` to `end`.

    `shape` says when the move happens: `drift` spreads it over the whole history, `decline`
    places a fall after the account's last renewal (so it is still a customer at the end), and
    `recovery` puts a climb somewhere in the window.
    """

    name: str
    share: float
    start: tuple[float, float]  # health level (0..1) at the beginning
    end: tuple[float, float]  # level it moves to
    shape: str
    volatility: float  # daily noise of the mean-reverting walk, in logit units
    shocks_per_year: float  # sudden drops that recover over weeks
    may_be_new: bool = True  # can be a customer signed during the window


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("healthy", 0.15, (0.84, 0.95), (0.84, 0.95), "drift", 0.07, 0.8),
    Archetype("steady_mid", 0.20, (0.50, 0.68), (0.50, 0.68), "drift", 0.07, 0.6),
    Archetype("declining", 0.10, (0.55, 0.85), (0.05, 0.12), "decline", 0.08, 0.8, False),
    Archetype("recovering", 0.10, (0.22, 0.42), (0.70, 0.88), "recovery", 0.08, 0.8),
    Archetype("volatile", 0.13, (0.40, 0.75), (0.40, 0.75), "drift", 0.16, 8.0),
    Archetype("at_risk", 0.12, (0.12, 0.35), (0.12, 0.35), "drift", 0.10, 1.2),
    Archetype("typical", 0.20, (0.30, 0.90), (0.30, 0.90), "drift", 0.10, 1.8),
)
ARCHETYPE_INDEX = {a.name: i for i, a in enumerate(ARCHETYPES)}


@dataclass(frozen=True)
class EventSpec:
    """One product event name and how an active user of an adopting account fires it."""

    name: str
    feature: str
    is_core: bool
    daily_use: float  # chance per active user-day once the account uses the feature
    per_use: float  # mean extra quantity in a day's aggregated row, at full health
    adoption: tuple[float, float] | None  # health thresholds of use; None = always used


EVENTS: tuple[EventSpec, ...] = (
    EventSpec("login", "authentication", False, 0.60, 0.5, None),
    EventSpec("dashboard_viewed", "dashboards", False, 0.50, 3.0, (-0.2, 0.3)),
    EventSpec("search_performed", "search", False, 0.30, 2.0, (-0.2, 0.4)),
    EventSpec("comment_added", "collaboration", False, 0.15, 1.5, (0.0, 0.5)),
    EventSpec("file_uploaded", "collaboration", False, 0.10, 1.0, (0.0, 0.5)),
    EventSpec("user_invited", "administration", False, 0.02, 0.2, (0.1, 0.6)),
    EventSpec("settings_changed", "administration", False, 0.03, 0.5, (0.0, 0.5)),
    EventSpec("notification_clicked", "notifications", False, 0.25, 1.0, (-0.2, 0.4)),
    EventSpec("report_created", "reporting", True, 0.15, 1.0, (0.25, 0.60)),
    EventSpec("workflow_run", "automation", True, 0.12, 6.0, (0.30, 0.65)),
    EventSpec("integration_synced", "integrations", True, 0.08, 3.0, (0.30, 0.70)),
    EventSpec("api_call", "api", True, 0.06, 25.0, (0.35, 0.70)),
)
